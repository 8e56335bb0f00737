"""Two advisors on one case: who else has it open, and what changed since a page was drawn.

A case page carries the case's version (its last audit event and its last message) in every
form. An action posted from a page whose version is no longer the case's is refused with what
changed, so an advisor who acknowledged a complaint a colleague had just refused is told, not
overruled. Pages renew their viewer's row while open (workflow/console/static/live.js asks every
few seconds), and a viewer unseen for VIEWING has gone.

Queued letters are not changes of their own: each comes with the event of the action that sent it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.models import AuditEvent, Case, CaseViewer, Message, User
from workflow.report_formats import words
from workflow.vocabulary import Direction

VIEWING = dt.timedelta(seconds=60)
NOT_CHANGES = ("message_queued",)
SHOWN_CHANGES = 10  # a refusal lists at most this many, the latest last


def _events(case: Case):  # noqa: ANN202 - a select of the case's events that count as changes
    return select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action.not_in(NOT_CHANGES))


def version(session: Session, case: Case) -> str:
    """The case as a page saw it: its last change and its last message from the resident."""
    event = session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.case_id == case.id, AuditEvent.action.not_in(NOT_CHANGES))) or 0
    message = session.scalar(select(func.max(Message.id)).where(
        Message.case_id == case.id, Message.direction == Direction.INBOUND.value)) or 0
    return f"{event}.{message}"


@dataclass(frozen=True)
class Change:
    """One change since a page was drawn, as the advisor is told it."""

    who: str
    what: str
    at: dt.datetime


def _read(seen: str) -> tuple[int, int]:
    """A version as a page sent it back; anything unreadable is the oldest (0, 0)."""
    event, _, message = seen.partition(".")
    return (int(event) if event.isdigit() else 0), (int(message) if message.isdigit() else 0)


def changes_since(session: Session, case: Case, seen: str) -> list[Change]:
    """What happened on the case after the version `seen`; empty when nothing did. A version that
    cannot be read (a page from before versions, or a hand-made form) is taken as the oldest."""
    first_event, first_message = _read(seen)
    events = session.scalars(_events(case).where(AuditEvent.id > first_event).order_by(AuditEvent.id))
    found = [Change(e.actor, words(e.action), e.at) for e in events]
    written = session.scalars(select(Message).where(Message.case_id == case.id,
                                                    Message.direction == Direction.INBOUND.value,
                                                    Message.id > first_message).order_by(Message.id))
    found += [Change("the resident", f"wrote again: \u201c{_start(m.body_text)}\u201d", m.received_at) for m in written]
    return sorted(found, key=lambda change: change.at)[-SHOWN_CHANGES:]


def _start(text: str, most: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[:most].rsplit(" ", 1)[0] + " …"


def mark_viewing(session: Session, case: Case, user: User, at: dt.datetime) -> None:
    """This user has the case open now; the caller commits. Two tabs racing to insert are one row."""
    row = session.get(CaseViewer, (case.id, user.id))
    if row is not None:
        row.seen_at = at
        return
    try:
        with session.begin_nested():
            session.add(CaseViewer(case_id=case.id, user_id=user.id, seen_at=at))
    except IntegrityError:
        pass  # the other tab's row stands; its time is as good as this one's


def viewers(session: Session, case: Case, user: User, at: dt.datetime) -> list[str]:
    """The other people with the case open within the last VIEWING, by name."""
    return list(session.scalars(
        select(User.username).join(CaseViewer, CaseViewer.user_id == User.id)
        .where(CaseViewer.case_id == case.id, CaseViewer.user_id != user.id, CaseViewer.seen_at >= at - VIEWING)
        .order_by(User.username)))


def queue_version(session: Session) -> str:
    """The whole queue as a page saw it: the last change anywhere and the last message from anyone."""
    event = session.scalar(select(func.max(AuditEvent.id))) or 0
    message = session.scalar(select(func.max(Message.id)).where(Message.direction == Direction.INBOUND.value)) or 0
    return f"{event}.{message}"


def queue_news(session: Session, seen: str, user: User) -> dict[str, int]:
    """Since the queue page was drawn: new messages from residents, and cases others changed."""
    first_event, first_message = _read(seen)
    messages = session.scalar(select(func.count()).select_from(Message).where(
        Message.direction == Direction.INBOUND.value, Message.id > first_message)) or 0
    cases = session.scalar(select(func.count(func.distinct(AuditEvent.case_id))).where(
        AuditEvent.id > first_event, AuditEvent.case_id.is_not(None), AuditEvent.actor != user.username,
        AuditEvent.action.not_in(NOT_CHANGES))) or 0
    return {"messages": messages, "cases": cases}
