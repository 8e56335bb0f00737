"""Text messages through GOV.UK Notify, with its official client (notifications-python-client).

Out: every text is sent through one Notify template whose whole content is `((body))`, because
Notify sends only templates; the text is its personalisation and our key its reference, so
Notify's delivery receipt names the message it is about. In: Notify POSTs each text a resident
sends to the service's number to the received-text callback, and each delivery receipt to the
delivery-status callback, both with the bearer token the service set in Notify's settings. A
callback without it is refused and nothing is stored; a received text is answered 200 only once
it is stored, so Notify retries it after a failure, and a redelivered one is a duplicate by its id.

Length: a text up to Notify's limit of 918 characters goes as one message (phones join its
segments); a longer letter is split at paragraph, then sentence, then word boundaries into
numbered parts "(1/2)" under the limit, each its own notification. Typographic quotes, dashes
and ellipses become their plain forms first, so a text stays in the GSM alphabet (153 characters
a segment) rather than Unicode (67).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from notifications_python_client.notifications import NotificationsAPIClient

from intake.channel import Channel, OutboundMessage, Receipt, Store
from intake.message import InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "sms"
DEFAULT_BASE_URL = "https://api.notifications.service.gov.uk"
RECEIVED_PATH = "/notify/received-text"
RECEIPT_PATH = "/notify/delivery-status"
LIMIT = 918  # Notify's longest text message
DELIVERED = "delivered"
RESUME_WITHIN = 3 * 60 * 60.0  # seconds: the outbox's automatic retries of one message are over by then
FINAL_FAILURES = frozenset({"permanent-failure", "temporary-failure", "technical-failure",
                            "validation-failed", "virus-scan-failed"})
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                        "\u2026": "...", "\u00a0": " ", "\u2022": "-"})
_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def e164(number: str, country_code: str = "44") -> str:
    """A phone number in E.164 ("+447700900123"): UK national numbers ("07700 900123") and Notify's
    international form without the plus ("447700900123") included. Raises ValueError otherwise."""
    digits = _SEPARATORS.sub("", number.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = f"+{country_code}{digits[1:]}"
    elif not digits.startswith("+"):
        digits = "+" + digits
    if not _E164.match(digits):
        raise ValueError("not a phone number")
    return digits


def number(written: str, country_code: str = "44") -> str:
    """E.164 where the number is one; else as given, so a text from an odd number is still stored and shown."""
    try:
        return e164(written, country_code)
    except ValueError:
        return written.strip()


def plain(text: str) -> str:
    return text.translate(_PLAIN)


def parts(text: str, limit: int = LIMIT) -> list[str]:
    """The text as one message, or split at the largest boundary that fits into numbered parts."""
    text = plain(text).strip()
    if len(text) <= limit:
        return [text]
    room = limit - len("(99/99) ")
    pieces: list[str] = []
    for pattern in (r"\n\s*\n", r"(?<=[.!?])\s+", r"\s+"):
        pieces = _pack(re.split(pattern, text), room, "\n\n" if pattern.startswith(r"\n") else " ")
        if all(len(piece) <= room for piece in pieces):
            break
    pieces = [chunk for piece in pieces for chunk in (piece[i:i + room] for i in range(0, len(piece), room))]
    return [f"({number}/{len(pieces)}) {piece}" for number, piece in enumerate(pieces, 1)]


def _pack(units: list[str], room: int, joiner: str) -> list[str]:
    packed: list[str] = []
    for unit in (u.strip() for u in units if u.strip()):
        if packed and len(packed[-1]) + len(joiner) + len(unit) <= room:
            packed[-1] = packed[-1] + joiner + unit
        else:
            packed.append(unit)
    return packed


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _when(text: object) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def inbound_from_callback(data: dict[str, Any], country_code: str = "44") -> InboundMessage:
    """A received-text callback's body as an InboundMessage; KeyError or ValueError when it is not one."""
    sender = number(str(data["source_number"]), country_code)
    text = str(data.get("message") or "") or "[an empty text message]"
    return InboundMessage(channel=CHANNEL, external_id=f"notify-{data['id']}", sender=sender, body_text=text,
                          new_text=text, recipients=[str(data.get("destination_number") or "")],
                          sent_at=_when(data.get("date_received")))


@dataclass(frozen=True)
class NotifySettings:
    api_key: str  # "name-<service id>-<secret>", as Notify's API integration page gives it
    template_id: str  # a text message template whose content is exactly ((body))
    callback_token: str  # the bearer token set for the received-text and delivery-status callbacks
    base_url: str = DEFAULT_BASE_URL
    sender_id: str | None = None  # one of the service's text message senders, when not the default
    country_code: str = "44"


class SmsChannel(Channel):
    name: ClassVar[str] = CHANNEL
    chat: ClassVar[bool] = True
    buttons: ClassVar[bool] = False
    # A message's key -> how many of its parts Notify took, and when. One for the process: the
    # outbox sends through one instance, and Notify's receipts arrive through another's router.
    _accepted: ClassVar[dict[str, tuple[int, float]]] = {}
    _accepted_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.client = NotificationsAPIClient(settings.api_key, base_url=settings.base_url, timeout=30)

    def normalise(self, address: str) -> str:
        return number(address, self.settings.country_code)

    def send_text(self, message: OutboundMessage) -> None:
        """One notification a part; an API error raises, so the outbox retries the message.

        A retry starts at the first part Notify did not take: a resident whose third part failed
        is not sent the first two again. What was taken is kept in this process only, and for
        RESUME_WITHIN of the last part taken; after a restart, or later (a person's "Send
        again" the next day), or once Notify reports a part undelivered (`forget`), every part
        goes again, as a resident is better told twice than not at all."""
        texts = parts(message.text)
        now = time.monotonic()
        with self._accepted_lock:
            for key, (_, at) in list(self._accepted.items()):
                if now - at > RESUME_WITHIN:
                    del self._accepted[key]
            start = self._accepted.get(message.key, (0, now))[0]
        for number in range(start, len(texts)):
            self.client.send_sms_notification(self.normalise(message.address), self.settings.template_id,
                                              personalisation={"body": texts[number]}, reference=message.key,
                                              sms_sender_id=self.settings.sender_id)
            with self._accepted_lock:
                self._accepted[message.key] = (number + 1, time.monotonic())
        self.forget(message.key)

    def forget(self, key: str) -> None:
        """The next send of this message starts at its first part."""
        with self._accepted_lock:
            self._accepted.pop(key, None)

    def router(self, store: Store) -> APIRouter:
        return callback_router(store, self.settings.callback_token, self.settings.country_code, self.forget)


def callback_router(store: Store, token: str, country_code: str = "44",
                    undelivered: Callable[[str], None] | None = None) -> APIRouter:
    """Notify's two callbacks. Each checks the bearer token before it reads the body. A receipt
    saying a text failed is also told to `undelivered` (the message's key), so a part Notify took
    but could not deliver is sent again with the rest."""
    router = APIRouter()

    def refused(request: Request) -> JSONResponse | None:
        """401 unless the request carries the token (compared in constant time); None when it does."""
        if token and hmac.compare_digest(_bearer(request).encode(), token.encode()):
            return None
        return JSONResponse({"error": "the bearer token is missing or wrong"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @router.post(RECEIVED_PATH)
    async def received(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            data = await request.json()
            message = inbound_from_callback(data, country_code)
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"error": "not a received text message"}, status_code=400)
        try:
            stored = await asyncio.wrap_future(store.submit(message))
        except Exception as error:  # noqa: BLE001 - Notify retries on a 5xx; the log has the type, never the text
            log.error("storing received text %s failed (%s)", message.external_id, type(error).__name__)
            return JSONResponse({"error": "not stored; try again"}, status_code=503)
        return JSONResponse({"stored": stored.message_id, "duplicate": not stored.created})

    @router.post(RECEIPT_PATH)
    async def receipt(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            data = await request.json()
            status, key = str(data["status"]), str(data["reference"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "not a delivery receipt"}, status_code=400)
        if not key or key == "None":
            return JSONResponse({"ignored": "no reference: not a message this service sent"})
        at = _when(data.get("completed_at") or data.get("sent_at")) or dt.datetime.now(dt.UTC)
        await asyncio.get_running_loop().run_in_executor(
            None, store.record_receipt, Receipt(channel=CHANNEL, key=key, status=status, delivered=status == DELIVERED,
                                            failed=status in FINAL_FAILURES, at=at))
        if status in FINAL_FAILURES and undelivered is not None:
            undelivered(key)
        return JSONResponse({"recorded": True})

    return router
