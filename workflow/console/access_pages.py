"""Signing in and out, and the console's own files: the only routes a visitor reaches unsigned.

The sign-in form has its own CSRF token in a cookie, since there is no session yet; the throttle
and the argon2 queue are in workflow/console/signin.py.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from workflow.console import signin
from workflow.console.auth import csrf_ok, end_session, start_session
from workflow.console.page import COOKIE, HEADERS, HERE, AdvisorForm, Console, ConsoleOf
from workflow.users import authenticate

SCRIPTS = ("progress", "live", "keys")  # workflow/console/static/*.js
LOGIN_CSRF = "triage_console_login"

router = APIRouter()


@router.get("/static/console.css")
def stylesheet() -> Response:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


@router.get("/static/{name}.js")
def script(name: str) -> Response:
    """The console's own scripts, each an enhancement: every page works without them."""
    if name not in SCRIPTS:
        return Response("not found", 404, headers=HEADERS)
    return FileResponse(HERE / "static" / f"{name}.js", media_type="text/javascript")


@router.get("/login")
def login_page(console: ConsoleOf) -> Response:
    """No message from the URL: `/console/login?error=Call 0800 …` put anyone's words on our page."""
    token = secrets.token_urlsafe(16)
    response = console.render("login.html", csrf=token, error=None)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", secure=console.secure_cookies,
                        path="/console")
    return response


def _refused(console: Console, csrf: str, status: int, error: str, retry_after: int) -> Response:
    """The same words for a real name as for a made-up one; Retry-After for scripts and proxies."""
    response = console.render("login.html", status, csrf=csrf, error=error)
    response.headers["Retry-After"] = str(retry_after)
    return response


@router.post("/login")
def login(console: ConsoleOf, request: Request, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    if not csrf_ok(request.cookies.get(LOGIN_CSRF, ""), csrf):
        return console.render("login.html", 403, csrf=request.cookies.get(LOGIN_CSRF, ""),
                              error="The sign-in form had expired. Please try again.")
    address = request.client.host if request.client else "unknown"  # uvicorn takes it from a trusted proxy
    with console.sessions() as session:
        wait = signin.wait_before_trying(session, username, address, console.now())
    if wait:  # refused before argon2: a locked-out guesser costs one indexed query
        return _refused(console, csrf, 429, f"Too many sign-ins have failed. Try again in {signin.in_words(wait)}.",
                        signin.whole_seconds(wait))
    with console.password_checks.slot() as turn:
        if not turn:
            return _refused(console, csrf, 503, "The console is busy. Try again in a few seconds.",
                            signin.BUSY_RETRY_SECONDS)
        with console.sessions() as session:  # a database connection only with a turn: those waiting hold none
            user = authenticate(session, username, password)
            if user is None:
                signin.record_failure(session, username, address, console.now())
                session.commit()
                return console.render("login.html", 401, csrf=csrf, error="That name and password do not match.")
            signin.forget_account(session, username)
            token, _ = start_session(session, user, console.now(), console.idle, address)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=console.secure_cookies,
                        path="/console")
    return response


@router.post("/logout")
def logout(page: AdvisorForm, request: Request) -> Response:
    end_session(page.db, request.cookies.get(COOKIE, ""), page.now(), page.user.username)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
