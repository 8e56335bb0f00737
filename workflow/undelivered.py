"""Letters and texts that could not be delivered, kept in front of people until one of them deals with each.

The outbox gives up on a message after its last retry, and a channel's receipt can say a text
never arrived (workflow/outbox.py). Until now that was an audit row and a log line: an
acknowledgement the Code requires could fail and nobody would know the resident never had it.
The attention page lists each such message with the reason; a person sends it again (after the
cause is fixed) or records that they reached the resident another way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, Message, OutboxItem
from workflow.vocabulary import DeliveryStatus

_FAILED = select(OutboxItem).where(OutboxItem.status == DeliveryStatus.FAILED.value)


def undelivered(session: Session, limit: int = 200) -> list[tuple[OutboxItem, Case | None]]:
    """Oldest first, with the case each belongs to: an acknowledgement waiting longest is most overdue."""
    rows = session.execute(_FAILED.add_columns(Case).join(Message, Message.id == OutboxItem.message_id)
                           .outerjoin(Case, Case.id == Message.case_id)
                           .order_by(OutboxItem.created_at, OutboxItem.id).limit(limit))
    return [(item, case) for item, case in rows]


def count_undelivered(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_FAILED.subquery())) or 0


def failed_message_ids(session: Session, message_ids: list[int]) -> set[int]:
    """Which of these messages of ours were not delivered, for the case page to say so beside each."""
    if not message_ids:
        return set()
    return set(session.scalars(select(OutboxItem.message_id).where(
        OutboxItem.message_id.in_(message_ids), OutboxItem.status == DeliveryStatus.FAILED.value)))


def _failed(session: Session, item_id: int) -> OutboxItem:
    item = session.get(OutboxItem, item_id)
    if item is None or item.status != DeliveryStatus.FAILED.value:
        raise DomainError("that message is not waiting to be delivered (someone may have dealt with it already)")
    return item


def _case_of(session: Session, item: OutboxItem) -> Case | None:
    case_id = item.message.case_id
    return session.get(Case, case_id) if case_id is not None else None


def send_again(session: Session, item_id: int, by: str, at: dt.datetime) -> None:
    """Back to the outbox with its retries renewed, as if just written; the caller commits."""
    item = _failed(session, item_id)
    audit.record(session, "delivery_retried", by, at, case=_case_of(session, item), message_id=item.message_id,
                 channel=item.channel)
    item.status, item.attempts, item.next_attempt_at = DeliveryStatus.PENDING.value, 0, at
    item.claimed_by, item.claimed_until = None, None


def set_aside(session: Session, item_id: int, by: str, at: dt.datetime) -> None:
    """A person reached the resident another way (a call, a letter by post); the caller commits."""
    item = _failed(session, item_id)
    audit.record(session, "delivery_set_aside", by, at, case=_case_of(session, item), message_id=item.message_id,
                 channel=item.channel)
    item.status = DeliveryStatus.SET_ASIDE.value
