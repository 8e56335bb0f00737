"""Recording inbound messages durably, exactly once (DESIGN.md step 1: store before acknowledging).

Attachment files are written and flushed to disk before the database commit that names them, so
a crash leaves at worst an unreferenced file, never a record pointing at nothing. A second copy of
the same message (same channel and external id) is recognised and not stored again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import audit
from workflow.models import Attachment, ContactPoint, MailboxCursor, Message
from workflow.vocabulary import Direction


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Incoming:
    channel: str
    external_id: str
    received_at: dt.datetime
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    subject: str | None = None
    body_text: str = ""
    new_text: str = ""
    raw: bytes | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automatic: bool = False
    defects: list[str] = field(default_factory=list)
    files: list[IncomingFile] = field(default_factory=list)
    quiet: bool = False  # from an archive (triage import): recorded and classified, never answered


def _write_file(directory: Path, data: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(digest[:2]) / digest
    target = directory / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
    return digest, str(relative)


def record_inbound(session: Session, incoming: Incoming, attachments_dir: Path) -> tuple[Message, bool]:
    """Store one inbound message and commit; (message, False) when it was already stored."""
    existing = session.scalar(select(Message).where(Message.channel == incoming.channel,
                                                    Message.external_id == incoming.external_id))
    if existing is not None:
        return existing, False
    message = Message(
        channel=incoming.channel, direction=Direction.INBOUND.value, external_id=incoming.external_id,
        sender=incoming.sender, recipients=list(incoming.recipients), subject=incoming.subject,
        body_text=incoming.body_text, raw=incoming.raw, received_at=incoming.received_at,
        in_reply_to=incoming.in_reply_to, references=list(incoming.references), automatic=incoming.automatic,
        defects=list(incoming.defects), new_text=incoming.new_text, quiet=incoming.quiet,
    )
    for file in incoming.files:
        digest, path = _write_file(attachments_dir, file.data)
        message.attachments.append(Attachment(filename=file.filename, content_type=file.content_type,
                                              size=len(file.data), sha256=digest, path=path))
    session.add(message)
    try:
        session.flush()
        audit.record(session, "message_received", f"channel:{incoming.channel}", incoming.received_at,
                     message_id=message.id, automatic=incoming.automatic, attachments=len(incoming.files))
        session.commit()
    except IntegrityError:  # another process stored the same message a moment ago
        session.rollback()
        stored = session.scalar(select(Message).where(Message.channel == incoming.channel,
                                                      Message.external_id == incoming.external_id))
        if stored is None:
            raise
        return stored, False
    return message, True


def load_cursor(session: Session, mailbox: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, last UID stored) of a mailbox, or None before its first message."""
    cursor = session.get(MailboxCursor, mailbox)
    return None if cursor is None else (cursor.uidvalidity, cursor.last_uid)


def save_cursor(session: Session, mailbox: str, uidvalidity: int, last_uid: int, at: dt.datetime) -> None:
    cursor = session.get(MailboxCursor, mailbox)
    if cursor is None:
        session.add(MailboxCursor(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=at))
    else:
        cursor.uidvalidity, cursor.last_uid, cursor.updated_at = uidvalidity, last_uid, at
    session.commit()


def chat_history(session: Session, channel: str, address: str, after_id: int = 0, limit: int = 200) -> list[Message]:
    """A chat's messages both ways, oldest first: what the visitor sees when the page loads again.

    Inbound lines are found by their sender, replies by the resident behind the address, so a
    message is shown at once, before the conversation has handled it.
    """
    resident_id = session.scalar(select(ContactPoint.resident_id).where(ContactPoint.channel == channel,
                                                                          ContactPoint.address == address))
    mine = Message.sender == address
    if resident_id is not None:
        mine = or_(mine, and_(Message.direction == Direction.OUTBOUND.value, Message.resident_id == resident_id))
    query = (select(Message).where(Message.channel == channel, Message.id > after_id, mine)
             .order_by(Message.id.desc()).limit(limit))
    return list(reversed(list(session.scalars(query))))
