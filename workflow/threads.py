"""Which case a new message belongs to (DESIGN.md step 2): a quoted reference, the email header
chain, or the chat the resident is already talking in.

Only the resident's own cases are found, so quoting someone else's reference neither attaches a
message to their case nor tells the writer anything about it. Finding a case is not the same as
adding to it: the conversation decides whether a closed case gets a new one instead (6.8).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Case, Message
from workflow.references import find_references

CHAT_SESSION = dt.timedelta(hours=24)  # a chat message this soon after the last one continues that conversation


@dataclass(frozen=True)
class Thread:
    case: Case
    found_by: str  # reference | headers | chat


def _own(case: Case | None, resident_id: int) -> Case | None:
    return case if case is not None and case.resident_id == resident_id else None


def by_quoted_reference(session: Session, text: str, resident_id: int) -> Case | None:
    for reference in find_references(text):
        case = _own(session.scalar(select(Case).where(Case.reference == reference)), resident_id)
        if case is not None:
            return case
    return None


def by_headers(session: Session, message: Message, resident_id: int) -> Case | None:
    """The newest message in the header chain that belongs to one of the resident's cases."""
    chain = [m for m in [message.in_reply_to, *reversed(message.references)] if m]
    if not chain:
        return None
    keys = {m.strip().strip("<>").split("@", 1)[0] for m in chain} | {m.strip() for m in chain}
    rows = session.execute(
        select(Message.external_id, Message.case_id)
        .where(Message.channel == message.channel, Message.external_id.in_(keys), Message.case_id.is_not(None))
    ).all()
    found = {external_id: case_id for external_id, case_id in rows}
    for header in chain:
        for key in (header.strip(), header.strip().strip("<>").split("@", 1)[0]):
            if key in found:
                case = _own(session.get(Case, found[key]), resident_id)
                if case is not None:
                    return case
    return None


def by_chat(session: Session, message: Message, resident_id: int) -> Case | None:
    """The case of the resident's last message in the same chat, when it was recent."""
    last = session.scalar(
        select(Message)
        .where(Message.channel == message.channel, Message.resident_id == resident_id, Message.id != message.id,
               Message.case_id.is_not(None))
        .order_by(Message.received_at.desc(), Message.id.desc())
    )
    if last is None or message.received_at - last.received_at > CHAT_SESSION:
        return None
    return _own(session.get(Case, last.case_id), resident_id)


def find_thread(session: Session, message: Message, resident_id: int, *, chat: bool) -> Thread | None:
    quoted = by_quoted_reference(session, f"{message.subject or ''}\n{message.new_text or message.body_text}",
                                 resident_id)
    if quoted is not None:
        return Thread(quoted, "reference")
    if chat:
        case = by_chat(session, message, resident_id)
        return Thread(case, "chat") if case is not None else None
    case = by_headers(session, message, resident_id)
    return Thread(case, "headers") if case is not None else None
