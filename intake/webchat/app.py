"""The web chat: a page any resident can use, with or without JavaScript, and an embeddable widget.

Every action is a plain form post that works without JavaScript; a small same-origin script only
saves the page reload and fetches replies as they arrive. A visitor is known by a token the
server issued and signed, in an HttpOnly cookie, so the conversation survives a reload and a
token planted by anyone else is replaced (tokens.py); only a hash of the token is stored, so a
copy of the database cannot be used to read someone's chat. Each post carries the form token
signed for that visitor, and a nonce that becomes the message's id, so a double click or a
retried post is stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.channel import Channel, OutboundMessage, Store
from intake.message import InboundMessage
from intake.webchat.limits import RateLimit
from intake.webchat.tokens import ChatTokens

CHANNEL = "webchat"
HERE = Path(__file__).parent
VISITOR_COOKIE = "triage_chat"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class ChatLine:
    id: int
    from_resident: bool
    text: str
    at: dt.datetime
    options: list[tuple[str, str]] = field(default_factory=list)


History = Callable[[str, int], list[ChatLine]]  # (visitor address, after this line id) -> lines


def address_of(token: str) -> str:
    """The stored address of a visitor: a hash of their cookie, never the cookie itself."""
    return "v-" + hashlib.sha256(token.encode()).hexdigest()[:40]


@dataclass
class ChatSettings:
    landlord_name: str
    landlord_phone: str
    secret: bytes  # signs visitor and form tokens; the same in every process serving the chat
    max_chars: int = 5000
    reply_wait_seconds: float = 3.0
    per_visitor: RateLimit = field(default_factory=lambda: RateLimit(10, 60))
    per_client: RateLimit = field(default_factory=lambda: RateLimit(60, 60))
    secure_cookies: bool = False


def webchat_router(store: Store, history: History, settings: ChatSettings) -> APIRouter:
    router = APIRouter()
    templates = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape())
    tokens = ChatTokens(settings.secret)

    def visitor(request: Request) -> tuple[str, bool]:
        """(token, whether it is new): the cookie's token if this server signed it, else a fresh one."""
        token = tokens.issued(request.cookies.get(VISITOR_COOKIE))
        return (token, False) if token is not None else (tokens.new_visitor(), True)

    def with_cookie(response: Response, token: str) -> Response:
        # Behind HTTPS the cookie is SameSite=None so the widget works framed in the landlord's site.
        response.set_cookie(VISITOR_COOKIE, token, max_age=60 * 60 * 24 * 90, httponly=True,
                            samesite="none" if settings.secure_cookies else "lax",
                            secure=settings.secure_cookies, path="/chat")
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    def page(request: Request, token: str, error: str | None = None, status: int = 200) -> Response:
        lines = history(address_of(token), 0)
        html = templates.get_template("chat.html").render(
            lines=lines, landlord_name=settings.landlord_name, landlord_phone=settings.landlord_phone,
            csrf=tokens.form_token(token), nonce=secrets.token_urlsafe(12), error=error, max_chars=settings.max_chars,
            embedded=request.query_params.get("embed") == "1",
            last_id=lines[-1].id if lines else 0,
        )
        return with_cookie(HTMLResponse(html, status_code=status), token)

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request) -> Response:
        return page(request, visitor(request)[0])

    @router.post("/chat")
    def chat_post(request: Request, text: Annotated[str, Form()] = "", nonce: Annotated[str, Form()] = "",
                  csrf: Annotated[str, Form()] = "") -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        token, new_visitor = visitor(request)

        def refuse(message: str, status: int) -> Response:
            if wants_json:
                return JSONResponse({"error": message}, status_code=status)
            return page(request, token, message, status)

        if new_visitor or not tokens.form_ok(token, csrf):
            # The page this came from was made for another token: only a fresh page carries the new one.
            again = "reload the page and send" if wants_json else "type"
            return refuse(f"Your session has expired. Please {again} your message again.", 403)
        text = text.strip()
        if not text:
            return refuse("Please type a message first.", 400)
        if len(text) > settings.max_chars:
            return refuse(f"Your message is too long. Please keep it under {settings.max_chars} characters, "
                          "or send it in parts.", 413)
        client = request.client.host if request.client else "unknown"
        if not settings.per_visitor.allow(token) or not settings.per_client.allow(client):
            return refuse("You have sent a lot of messages in a short time. Please wait a minute and try again. "
                          f"In an emergency phone {settings.landlord_phone}.", 429)
        address = address_of(token)
        nonce = "".join(ch for ch in nonce if ch.isalnum() or ch in "-_")[:40] or secrets.token_urlsafe(12)
        message_id = store.submit(InboundMessage(channel=CHANNEL, external_id=f"{address}-{nonce}", sender=address,
                                                 body_text=text, new_text=text,
                                                 sent_at=dt.datetime.now(dt.UTC))).result().message_id
        if wants_json:
            return JSONResponse({"stored": message_id})
        deadline = time.monotonic() + settings.reply_wait_seconds
        while time.monotonic() < deadline:  # without JavaScript, show the reply on the next page if it is quick
            if any(not line.from_resident for line in history(address, message_id)):
                break
            time.sleep(0.2)
        return with_cookie(RedirectResponse("/chat#latest", status_code=303), token)

    @router.get("/chat/messages")
    def chat_messages(request: Request, after: Annotated[int, Query(ge=0)] = 0) -> Response:
        token = tokens.issued(request.cookies.get(VISITOR_COOKIE))
        if token is None:
            return JSONResponse({"lines": []}, headers=SECURITY_HEADERS)
        lines = history(address_of(token), after)
        return JSONResponse({"lines": [
            {"id": line.id, "from_resident": line.from_resident, "text": line.text,
             "at": line.at.isoformat(), "options": [{"value": v, "label": lb} for v, lb in line.options]}
            for line in lines
        ]}, headers=SECURITY_HEADERS)

    @router.get("/chat/static/{name}")
    def chat_static(name: str) -> Response:
        if name not in ("chat.js", "chat.css", "widget.js"):
            return Response(status_code=404)
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(HERE / "static" / name, media_type=media, headers={"Cache-Control": "max-age=300"})

    return router


class WebchatChannel(Channel):
    """The chat page served by the web role. Its replies are not pushed anywhere: the visitor's page
    reads them from the record (`history`), so a reply is delivered once it is queued."""

    name: ClassVar[str] = CHANNEL
    chat: ClassVar[bool] = True
    buttons: ClassVar[bool] = True

    def __init__(self, history: History, settings: ChatSettings) -> None:
        self.history, self.settings = history, settings

    def router(self, store: Store) -> APIRouter:
        return webchat_router(store, self.history, self.settings)

    def send_text(self, message: OutboundMessage) -> None:
        """Nothing to push: the page polls /chat/messages, which reads the record this message is in."""

    def send_text_with_choices(self, message: OutboundMessage) -> None:
        """As send_text: the page draws the choices as buttons from the record's options."""
