"""The outbox: every outgoing message is written here, in the same transaction as the change that
caused it, and a worker delivers it later with retries.

Writing first means a reply is never lost when a channel is down, and never sent for a change
that was rolled back. Delivery is claimed with a lease (claimed_until) by a compare-and-set
UPDATE, which is safe on SQLite and on PostgreSQL; on PostgreSQL the candidates are also read
with FOR UPDATE SKIP LOCKED so several workers do not even wait on each other. The message's
external_id is its idempotency key: email uses it as the Message-ID, so a resend after a worker
died mid-send is recognised as the same message by the receiving side.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow import audit
from workflow.models import Case, Message, OutboxItem
from workflow.vocabulary import DeliveryStatus, Direction

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 10
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=2)
PASS = 20  # items claimed and sent in one pass


@dataclass(frozen=True)
class Delivery:
    """What a channel needs to send one message; built from the stored record, never from memory."""

    key: str  # idempotency key: the message's external_id
    channel: str
    address: str
    text: str
    subject: str = ""
    reference: str | None = None
    options: list[str] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automatic: bool = True


Send = Callable[[Delivery], None]


def enqueue(
    session: Session,
    *,
    channel: str,
    address: str,
    text: str,
    at: dt.datetime,
    case: Case | None = None,
    resident_id: int | None = None,
    subject: str = "",
    options: Sequence[str] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = True,
    to_staff: bool = False,
) -> int:
    """Record an outgoing message as correspondence (5.12) and queue it; the caller commits. The id is returned.

    A notice to staff is kept with its case but not in the resident's own correspondence. The
    message and its item are written as plain SQL on the session's connection, not through the
    ORM's unit of work: the bot queues a reply for nearly every message it handles, and nothing in
    the same transaction needs them as objects.
    """
    if case is not None and case.id is None:
        session.flush()
    connection = session.connection()
    message_id = connection.execute(_RECORD, {
        "channel": channel, "direction": Direction.OUTBOUND.value, "external_id": f"out-{uuid.uuid4().hex}",
        "case_id": case.id if case is not None else None,
        "resident_id": None if to_staff else resident_id if resident_id is not None else (
            case.resident_id if case is not None else None),
        "sender": None, "recipients": [address], "subject": subject, "body_text": text, "new_text": text,
        "received_at": at, "in_reply_to": in_reply_to, "references": list(references), "automatic": automatic,
        "options": list(options), "handled_at": at}).scalar_one()
    connection.execute(_QUEUE, {"message_id": message_id, "channel": channel, "address": address,
                                "next_attempt_at": at, "created_at": at})
    audit.record(session, "message_queued", "bot" if automatic else "staff", at, case=case, message_id=message_id,
                 channel=channel)
    return message_id


_RECORD = insert(Message).returning(Message.id)  # built once: enqueue runs for nearly every message handled
_QUEUE = insert(OutboxItem)


# One \s* between prefix and colon, not two side by side around an absent "[2]": a subject of
# "Re", 20,000 spaces and no colon had the engine try every split of the spaces (1.4 s).
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv)\s*(\[\d+\]\s*)?:\s*)+", re.I)


def reply_subject(subject: str | None, fallback: str) -> str:
    """'Re: ' once before the resident's subject, however many the mail programs have stacked up."""
    core = _REPLY_PREFIX.sub("", subject or "").strip()
    return f"Re: {core or fallback}"


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min ... capped at two hours: a channel down overnight is retried all night."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def claim(session: Session, worker: str, now: dt.datetime, limit: int = PASS) -> list[int]:
    """Claim up to limit due items for worker; commits, so the lease is visible to other workers."""
    query = (
        select(OutboxItem.id)
        .where(OutboxItem.status == DeliveryStatus.PENDING.value, OutboxItem.next_attempt_at <= now,
               or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now))
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = list(session.scalars(query))
    if not candidates:
        return []
    taken = set(session.scalars(  # compare-and-set: an item another worker claimed meanwhile is not taken
        update(OutboxItem)
        .where(OutboxItem.id.in_(candidates), OutboxItem.status == DeliveryStatus.PENDING.value,
               or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now))
        .values(claimed_by=worker, claimed_until=now + LEASE)
        .returning(OutboxItem.id)
    ))
    session.commit()
    return [item_id for item_id in candidates if item_id in taken]


def deliveries(session: Session, item_ids: Sequence[int]) -> list[tuple[int, Delivery]]:
    """What each claimed item needs to be sent, read in one query a pass, in the order claimed."""
    if not item_ids:
        return []
    rows = {row.id: row for row in session.execute(_DELIVERIES, {"ids": list(item_ids)})}
    return [(row.id, Delivery(
        key=row.external_id or f"out-{row.message_id}", channel=row.channel, address=row.address, text=row.body_text,
        subject=row.subject or "", reference=row.reference, options=list(row.options), in_reply_to=row.in_reply_to,
        references=list(row.references), automatic=row.automatic))
        for row in (rows[item_id] for item_id in item_ids if item_id in rows)]


_DELIVERIES = (select(OutboxItem.id, OutboxItem.channel, OutboxItem.address, OutboxItem.message_id, Message.external_id,
                      Message.body_text, Message.subject, Message.options, Message.in_reply_to, Message.references,
                      Message.automatic, Case.reference)
               .join(Message, Message.id == OutboxItem.message_id).outerjoin(Case, Case.id == Message.case_id)
               .where(OutboxItem.id.in_(bindparam("ids", expanding=True))))


_SENT = (update(OutboxItem)  # built once: recorded for nearly every message the bot handles
         .where(OutboxItem.id == bindparam("item"), OutboxItem.claimed_by == bindparam("worker"))
         .values(status=DeliveryStatus.SENT.value, sent_at=bindparam("at"), claimed_until=None, last_error=None)
         .returning(OutboxItem.message_id, OutboxItem.channel))


def deliver_due(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Send],
    now: Callable[[], dt.datetime],
    worker: str | None = None,
    limit: int = PASS,
) -> int:
    """One pass: claim due items, send each outside any transaction, then record what was sent; returns sent count.

    What a pass sent is recorded in one transaction, so SQLite's write lock is taken once a pass
    rather than once a message. A worker that dies between sending and recording leaves its items
    claimed; when the lease runs out they are sent again under the same key, which a mail program
    recognises as the same message (its Message-ID), as it would after a crash mid-send.
    """
    worker = worker or f"worker-{uuid.uuid4().hex[:8]}"
    with sessions() as session:
        claimed = claim(session, worker, now(), limit)
        due = deliveries(session, claimed)
    sent: list[tuple[int, dt.datetime]] = []
    for item_id, delivery in due:
        send = senders.get(delivery.channel)
        try:
            if send is None:
                raise LookupError(f"no sender configured for channel {delivery.channel}")
            send(delivery)
        except Exception as error:  # any failure is recorded and retried; the worker carries on
            _record_failure(sessions, item_id, worker, now(), error)
            continue
        sent.append((item_id, now()))
    if not sent:
        return 0
    recorded = 0
    with sessions() as session:
        with audit.gathered(session):
            for item_id, at in sent:
                finished = session.connection().execute(_SENT, {"item": item_id, "worker": worker, "at": at}).first()
                if finished is not None:
                    audit.record(session, "message_sent", worker, at, message_id=finished.message_id,
                                 channel=finished.channel)
                    recorded += 1
        session.commit()
    return recorded


def _record_failure(sessions: sessionmaker[Session], item_id: int, worker: str, at: dt.datetime,
                    error: Exception) -> None:
    with sessions() as session:
        item = session.get_one(OutboxItem, item_id)
        attempts = item.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        reason = f"{type(error).__name__}: {error}"[:1000]
        session.execute(update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker).values(
            attempts=attempts, last_error=reason, claimed_until=None, next_attempt_at=at + backoff(attempts),
            status=DeliveryStatus.FAILED.value if gave_up else DeliveryStatus.PENDING.value))
        audit.record(session, "delivery_failed", worker, at, message_id=item.message_id, channel=item.channel,
                     attempt=attempts, gave_up=gave_up, error=type(error).__name__)
        session.commit()
    log.warning("delivery of outbox item %d failed (attempt %d): %s", item_id, attempts, type(error).__name__)


def pending(session: Session, channels: Iterable[str] | None = None) -> list[OutboxItem]:
    query = select(OutboxItem).where(OutboxItem.status == DeliveryStatus.PENDING.value).order_by(OutboxItem.id)
    if channels is not None:
        query = query.where(OutboxItem.channel.in_(list(channels)))
    return list(session.scalars(query))


def record_receipt(session: Session, channel: str, key: str, status: str, delivered: bool, failed: bool,
                   at: dt.datetime) -> bool:
    """A channel's delivery receipt for a message we sent (by its key); the caller commits.

    Kept in the audit beside the message (5.12's record of correspondence); a message the channel
    gave up on is marked failed, as after the outbox's last retry, so it is seen and sent another way.
    False when no message of ours has that key (a receipt for another system's text)."""
    found = session.execute(select(Message.id, Message.case_id).where(
        Message.channel == channel, Message.external_id == key, Message.direction == Direction.OUTBOUND.value)).first()
    if found is None:
        return False
    case = session.get(Case, found.case_id) if found.case_id is not None else None
    audit.record(session, "delivery_receipt", "channel", at, case=case, message_id=found.id, status=status[:40],
                 delivered=delivered)
    if failed:
        session.execute(update(OutboxItem).where(OutboxItem.message_id == found.id).values(
            status=DeliveryStatus.FAILED.value, last_error=f"the channel could not deliver it: {status}"[:1000]))
        log.warning("message %d was not delivered (%s)", found.id, status[:40])
    return True
