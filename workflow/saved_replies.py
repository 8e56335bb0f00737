"""Saved replies: the words handlers write to residents again and again, kept by an admin.

A saved reply is plain text, never a template: an admin's words are not executed, so nothing in
them can run. The one thing filled in is the case's reference, by plain replacement where the
text says {reference}; the handler reads and edits the result before it is sent, like any reply.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, SavedReply

PLACEHOLDER = "{reference}"
LONGEST_TITLE = 80
LONGEST_TEXT = 5000


def listed(session: Session) -> list[SavedReply]:
    return list(session.scalars(select(SavedReply).order_by(SavedReply.title)))


def save(session: Session, title: str, text: str, actor: str, at: dt.datetime,
         reply_id: int | None = None) -> SavedReply:
    """Add a saved reply, or reword one (reply_id); titles are unique, since handlers choose by title."""
    title = " ".join(title.split())
    text = text.strip().replace("\r\n", "\n")
    if not title or len(title) > LONGEST_TITLE:
        raise DomainError(f"give the saved reply a title of at most {LONGEST_TITLE} characters")
    if not text or len(text) > LONGEST_TEXT:
        raise DomainError(f"a saved reply has some words and at most {LONGEST_TEXT} characters")
    same = session.scalar(select(SavedReply).where(SavedReply.title == title))
    if same is not None and same.id != reply_id:
        raise DomainError(f"there is already a saved reply called {title!r}")
    row = session.get(SavedReply, reply_id) if reply_id is not None else SavedReply()
    if row is None:
        raise DomainError("there is no such saved reply")
    row.title, row.text, row.updated_by, row.updated_at = title, text, actor, at
    session.add(row)
    session.flush()
    audit.record(session, "saved_reply_added" if reply_id is None else "saved_reply_changed", actor, at,
                 saved_reply_id=row.id)
    return row


def remove(session: Session, reply_id: int, actor: str, at: dt.datetime) -> None:
    row = session.get(SavedReply, reply_id)
    if row is None:
        raise DomainError("there is no such saved reply")
    session.delete(row)
    audit.record(session, "saved_reply_removed", actor, at, saved_reply_id=reply_id)


def filled(session: Session, reply_id: int, case: Case) -> str:
    """The saved reply's words for this case, for the handler to read and edit before sending."""
    row = session.get(SavedReply, reply_id)
    if row is None:
        raise DomainError("there is no such saved reply")
    return row.text.replace(PLACEHOLDER, case.reference)
