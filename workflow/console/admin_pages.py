"""The admin's pages: the letters the bot sends (edited in a sandbox, workflow/letters.py) and the
saved replies handlers start from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflow import audit, saved_replies
from workflow.console.auth import say
from workflow.console.page import Admin, AdminForm, Page
from workflow.errors import DomainError
from workflow.vocabulary import row_id

router = APIRouter()


@router.get("/letters")
def letter_list(page: Admin) -> Response:
    letters = page.console.letters
    return page.render("letters.html", names=[(n, letters.source(n)[1]) for n in letters.names()])


def _editor(page: Page, name: str, text: str, *, own: bool, status: int = 200, preview: str | None = None,
            saved: bool = False, error: str | None = None) -> HTMLResponse:
    """The editor: the names the letter may use, the version against the shipped one, a preview."""
    letters = page.console.letters
    uses, letterhead = letters.names_used(name)
    return page.render("letter.html", status, name=name, text=text, own=own, preview=preview, saved=saved,
                       error=error, uses=uses, letterhead=letterhead, changes=letters.changes(name, text))


@router.get("/letters/{name}")
def letter_page(page: Admin, name: str) -> Response:
    if name not in page.console.letters.names():
        return page.error(404, "No such letter.")
    text, own = page.console.letters.source(name)
    return _editor(page, name, text, own=own)


@router.post("/letters/{name}")
def letter_save(page: AdminForm, name: str, text: Annotated[str, Form()] = "", restore: Annotated[str, Form()] = "",
                check: Annotated[str, Form()] = "") -> Response:
    letters = page.console.letters
    if name not in letters.names():
        return page.error(404, "No such letter.")
    own = letters.source(name)[1]
    if restore:
        letters.restore(name)
        audit.record(page.db, "letter_restored", page.user.username, page.now(), letter=name)
        page.db.commit()
        return RedirectResponse(f"/console/letters/{name}", status_code=303)
    try:
        preview = letters.preview(text) if check else letters.save(name, text)
    except ValueError as error:
        return _editor(page, name, text, own=own, status=400, error=str(error))
    if check:  # looked at, not saved
        return _editor(page, name, text, own=own, preview=preview)
    audit.record(page.db, "letter_edited", page.user.username, page.now(), letter=name)
    page.db.commit()
    return _editor(page, name, text, own=True, preview=preview, saved=True)


def _replies(page: Page, status: int = 200, error: str | None = None) -> HTMLResponse:
    return page.render("replies.html", status, replies=saved_replies.listed(page.db),
                       placeholder=saved_replies.PLACEHOLDER, error=error)


@router.get("/replies")
def saved_reply_list(page: Admin) -> Response:
    return _replies(page)


@router.post("/replies")
def saved_reply_save(page: AdminForm, title: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                     reply_id: Annotated[str, Form()] = "", remove: Annotated[str, Form()] = "") -> Response:
    known = row_id(reply_id)
    try:
        if remove:
            saved_replies.remove(page.db, known or 0, page.user.username, page.now())
        else:
            saved_replies.save(page.db, title, text, page.user.username, page.now(), known)
    except DomainError as error:
        page.db.rollback()
        return _replies(page, 400, f"Nothing was saved: {error}.")
    say(page.signed, "Removed." if remove else "Saved. Handlers can use it from any case page.")
    page.db.commit()
    return RedirectResponse("/console/replies", status_code=303)
