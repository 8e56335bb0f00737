"""Messages the bot could not handle, kept in front of people until one of them deals with each.

Before this, a failure was an audit row only: the message was marked handled, no case opened, no
reply went, and no page showed it, so a complaint's clock never started. Now the reason is kept on
the message, the console lists every such message with it, and a person either sends it back to
the bot (after the cause is fixed) or records that they dealt with it by hand.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Message

REASON_CHARS = 500  # the column's width: a reason is a type and a line, not a traceback


def reason_of(error: BaseException) -> str:
    """What went wrong, in a line a person can act on or pass to IT."""
    text = " ".join(str(error).split())
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:REASON_CHARS]


def mark_failed(session: Session, message_id: int, reason: str, actor: str, at: dt.datetime,
                event: str = "handling_failed", **detail: str) -> None:
    """The message is set aside from the bot's queue with its reason; the caller commits. `event`
    and `detail` say in the audit what happened (the bot also sets aside a thread it stopped
    answering, and a letter whose sender it could not verify); detail holds labels, never text."""
    message = session.get_one(Message, message_id)
    if message.failure is not None:
        return
    message.handled_at, message.failure = message.handled_at or at, reason[:REASON_CHARS]
    audit.record(session, event, actor, at, message_id=message_id, **detail)


_WAITING = select(Message).where(Message.failure.is_not(None))  # read through ix_messages_failed


def waiting(session: Session, limit: int = 200) -> list[Message]:
    """Oldest first: the one waiting longest may be a complaint whose deadlines are running."""
    return list(session.scalars(_WAITING.order_by(Message.received_at, Message.id).limit(limit)))


def count_waiting(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_WAITING.subquery())) or 0


def _failed(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.failure is None:
        raise DomainError("that message is not waiting for attention (someone may have dealt with it already)")
    return message


def _error_type(message: Message) -> str:
    """The audit keeps the kind of error only: an error's text can quote what the resident wrote."""
    return (message.failure or "").split(":", 1)[0]


def retry(session: Session, message_id: int, by: str, at: dt.datetime) -> None:
    """Back to the bot's queue, as if it had just been stored; the caller commits."""
    message = _failed(session, message_id)
    audit.record(session, "handling_retried", by, at, message_id=message.id, error=_error_type(message))
    message.failure, message.handled_at = None, None


def set_aside(session: Session, message_id: int, by: str, at: dt.datetime) -> None:
    """A person dealt with it outside the bot (logged the case by hand, or it was not for us)."""
    message = _failed(session, message_id)
    audit.record(session, "handling_set_aside", by, at, message_id=message.id, error=_error_type(message))
    message.failure = None
