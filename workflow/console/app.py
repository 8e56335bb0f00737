"""The advisor and supervisor console: server-rendered pages whose every action is a plain form.

The pages live in modules by who uses them (access, queue, case, oversight, learning, admin),
each a module-level function that takes its role check as a parameter (workflow/console/page.py);
this module puts them on the app. Every value shown goes through Jinja2's autoescaping, so a
resident's `<script>` is shown as text. Anonymous visitors are sent to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from workflow.console import access_pages, admin_pages, case_pages, learning_pages, oversight_pages, queue_pages
from workflow.console.page import Console, Denied

PAGES = (access_pages, queue_pages, case_pages, oversight_pages, learning_pages, admin_pages)


def router(pages: Sequence[ModuleType] = PAGES) -> APIRouter:
    """The pages under /console."""
    console = APIRouter(prefix="/console")
    for module in pages:
        console.include_router(module.router)
    return console


async def _denied(request: Request, denied: Exception) -> Response:
    assert isinstance(denied, Denied)
    return denied.response


def install(app: FastAPI, console: Console, pages: Sequence[ModuleType] = PAGES) -> None:
    """Serve the console (or some of its modules of pages, as a test does) from `app`; the pages
    find `console` on the app's state."""
    app.state.console = console
    app.add_exception_handler(Denied, _denied)
    app.include_router(router(pages))
