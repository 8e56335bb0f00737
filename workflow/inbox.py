"""Recording inbound messages durably, exactly once (DESIGN.md step 1: store before acknowledging).

An email's attachments are not stored again beside the raw letter that holds them: their record
names their part of it (Attachment.part) and `attachment_bytes` reads them back from there. Files
that came without a raw letter (chat, Telegram) are written and flushed to disk before the
database commit that names them, so a crash leaves at worst an unreferenced file, never a record
pointing at nothing. A second copy of the same message (same channel, external id and content)
is recognised and not stored again; a different letter under a Message-ID already seen is stored
and flagged (REUSED_ID).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, and_, func, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.models import Attachment, AuditEvent, ContactPoint, MailboxCursor, Message
from workflow.vocabulary import Direction


REUSED_ID = "Message-ID reused by a different letter"
AUTOMATIC_REASON_CHARS = 200


class InboundFile(Protocol):
    """A file that came with a message (intake's InboundAttachment is one)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def part(self) -> int | None: ...  # its place in a walk of the raw letter's MIME tree, when it came in one
    @property
    def fingerprint(self) -> tuple[int, str] | None: ...  # (size, SHA-256) when data is left out: it stays in the letter


class AttachmentMissing(LookupError):
    """An attachment whose bytes are gone (purged) or do not match what was recorded."""


class Inbound(Protocol):
    """A message as a channel received it: what storage reads of it. intake's InboundMessage is the
    one type every channel hands over; workflow never imports intake, so it names here the fields
    it reads, and bot passes the message through as it is (one inbound type, not two in step)."""

    @property
    def channel(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    @property
    def content_digest(self) -> str: ...
    @property
    def sender(self) -> str | None: ...
    @property
    def recipients(self) -> Sequence[str]: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def sent_at(self) -> dt.datetime | None: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def references(self) -> Sequence[str]: ...
    @property
    def body_text(self) -> str: ...
    @property
    def new_text(self) -> str: ...
    @property
    def attachments(self) -> Sequence[InboundFile]: ...
    @property
    def automatic(self) -> bool: ...
    @property
    def automatic_reason(self) -> str | None: ...
    @property
    def defects(self) -> Sequence[str]: ...
    @property
    def raw(self) -> bytes | None: ...
    @property
    def parsed(self) -> bool: ...  # False: only the raw bytes and the id so far; complete_inbound fills in the rest


@dataclass(frozen=True)
class Incoming:
    """A message being stored: as received, when it reached us, and whether it may be answered."""

    message: Inbound
    received_at: dt.datetime
    quiet: bool = False  # from an archive (triage import): recorded and classified, never answered

    @property
    def channel_id(self) -> tuple[str, str]:
        return self.message.channel, self.message.external_id


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


def _kept(directory: Path, file: InboundFile, raw_kept: bool) -> dict[str, object]:
    """An attachment's columns: a part of the raw letter when there is one, else a file written now."""
    if file.part is not None and raw_kept:
        size, digest = file.fingerprint or (len(file.data), hashlib.sha256(file.data).hexdigest())
        return {"filename": file.filename, "content_type": file.content_type, "size": size,
                "sha256": digest, "path": "", "part": file.part}
    if file.fingerprint is not None:
        raise ValueError("an attachment left in its letter cannot be stored without the letter")
    digest, path = _write_file(directory, file.data)
    return {"filename": file.filename, "content_type": file.content_type, "size": len(file.data),
            "sha256": digest, "path": path, "part": None}


PIECE = 1024 * 1024  # bytes: on SQLite a raw letter larger than this is written and read a piece at a time


def _sqlite(connection: Connection) -> Any:
    """The sqlite3 connection under SQLAlchemy's, or None on another database."""
    return connection.connection.driver_connection if connection.dialect.name == "sqlite" else None


def _write_in_pieces(connection: Connection, letters: list[tuple[int, bytes]]) -> None:
    """Write each raw letter into its row (inserted with none) a PIECE at a time, in the caller's transaction.

    Bound whole to the INSERT, a 24 MB letter was copied by sqlite3 (it binds with
    SQLITE_TRANSIENT) and the copy stayed with the cached INSERT statement until its next use:
    48 MB at the peak and 24 MB kept for each letter stored, against one piece this way. The
    row first holds zeros of the letter's size (SQLite writes them), then the letter over them."""
    driver = _sqlite(connection)
    table = Message.__table__
    for message_id, raw in letters:
        connection.execute(update(table).where(table.c.id == message_id).values(raw=func.zeroblob(len(raw))))
        view = memoryview(raw)
        with driver.blobopen(table.name, "raw", message_id) as blob:
            for at in range(0, len(raw), PIECE):
                blob.write(view[at:at + PIECE])


def raw_size(session: Session, message: Message) -> int | None:
    """How many bytes the message's raw letter has (None without one), read without it."""
    if "raw" not in inspect(message).unloaded:
        return None if message.raw is None else len(message.raw)
    return session.scalar(select(func.length(Message.raw)).where(Message.id == message.id))


def raw_letter(session: Session, message: Message, size: int | None) -> bytes | None:
    """A message's raw letter, without loading it into the record (the caller lets it go when done).

    On SQLite a large letter is read a PIECE at a time into one buffer: loading the column
    held it twice at the peak (SQLite's copy of the row's value and Python's), 48 MB for a
    24 MB letter against 25 MB this way. The buffer is a bytearray, which every reader of raw
    bytes here (parse, identity) takes as it takes bytes. `size` is raw_size's answer, asked once."""
    if "raw" not in inspect(message).unloaded:
        return message.raw
    driver = _sqlite(session.connection())
    if driver is None or size is None or size <= PIECE:
        return session.scalar(select(Message.raw).where(Message.id == message.id))
    letter = bytearray(size)
    with driver.blobopen(Message.__table__.name, "raw", message.id, readonly=True) as blob:
        for at in range(0, size, PIECE):
            letter[at:at + PIECE] = blob.read(PIECE)
    return letter  # type: ignore[return-value] - a bytearray, read as bytes are


def raw_head(session: Session, message: Message, size: int) -> bytes | None:
    """The first `size` bytes of a message's raw letter (None without one), read in the database
    when the letter is not loaded: its headers are all a sender check needs of 25 MB."""
    if "raw" not in inspect(message).unloaded:
        return None if message.raw is None else message.raw[:size]
    head = session.scalar(select(func.substr(Message.raw, 1, size)).where(Message.id == message.id))
    return bytes(head) if head is not None else None


def attachment_bytes(attachment: Attachment, attachments_dir: Path) -> bytes:
    """The attachment's bytes, from its part of the raw letter or from its file, checked against
    the digest recorded when it arrived."""
    if attachment.part is None:
        target = attachments_dir / attachment.path
        data = target.read_bytes() if attachment.path and target.is_file() else None
    else:
        raw = attachment.message.raw
        parts = list(BytesParser(policy=compat32).parsebytes(raw).walk()) if raw is not None else []
        payload = parts[attachment.part].get_payload(decode=True) if attachment.part < len(parts) else None
        data = payload if isinstance(payload, bytes) else None
    if data is None or hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise AttachmentMissing(f"attachment {attachment.id} is no longer stored as it arrived")
    return data


def _fill(message: Message, incoming: Inbound, attachments_dir: Path) -> None:
    message.sender, message.recipients, message.subject = incoming.sender, list(incoming.recipients), incoming.subject
    message.body_text, message.new_text = incoming.body_text, incoming.new_text
    message.in_reply_to, message.references = incoming.in_reply_to, list(incoming.references)
    message.automatic, message.automatic_reason = incoming.automatic, _reason(incoming)
    message.sent_at = _sent_at(incoming)
    message.defects = sorted({*(message.defects or []), *incoming.defects})  # keeps what storing found (REUSED_ID)
    for file in incoming.attachments:
        message.attachments.append(Attachment(**_kept(attachments_dir, file, incoming.raw is not None)))


def _sent_at(message: Inbound) -> dt.datetime | None:
    """The sender's date in UTC, or None when it cannot be one: "31 Dec 9999 23:00 -0200" is after
    year 9999 in UTC, and storing it would have failed the whole batch."""
    try:
        return message.sent_at.astimezone(dt.UTC) if message.sent_at is not None else None
    except (OverflowError, ValueError):
        return None


def _reason(message: Inbound) -> str | None:
    return (message.automatic_reason or "")[:AUTOMATIC_REASON_CHARS] or None if message.automatic else None


def _row(incoming: Incoming, reused: bool, raw_later: bool = False) -> dict[str, object]:
    message = incoming.message
    return {
        "channel": message.channel, "direction": Direction.INBOUND.value, "external_id": message.external_id,
        "content_digest": message.content_digest, "received_at": incoming.received_at, "sent_at": _sent_at(message),
        "raw": None if raw_later else message.raw, "quiet": incoming.quiet, "parsed": message.parsed,
        "sender": message.sender, "recipients": list(message.recipients), "subject": message.subject,
        "body_text": message.body_text, "new_text": message.new_text, "in_reply_to": message.in_reply_to,
        "references": list(message.references), "automatic": message.automatic, "automatic_reason": _reason(message),
        "defects": sorted({*message.defects, *([REUSED_ID] if reused else [])}), "options": [],
    }


Key = tuple[str, str, str]  # channel, external id, content digest


def _key(incoming: Incoming) -> Key:
    return incoming.message.channel, incoming.message.external_id, incoming.message.content_digest


def _stored(session: Session, incomings: Sequence[Incoming]) -> tuple[dict[Key, int], set[tuple[str, str]]]:
    """Messages already stored under these ids: {key: message id}, and the (channel, id) pairs seen at all.

    A row stored before digests were kept has an empty digest and stands for any content under its id,
    as every message did then.
    """
    known: dict[Key, int] = {}
    seen: set[tuple[str, str]] = set()
    wanted = {_key(i) for i in incomings}
    for message_id, channel, external_id, digest in session.execute(
            select(Message.id, Message.channel, Message.external_id, Message.content_digest)
            .where(Message.external_id.in_(sorted({i.message.external_id for i in incomings})))):
        seen.add((channel, external_id))
        for key in wanted:
            if key[:2] == (channel, external_id) and digest in (key[2], ""):
                known.setdefault(key, message_id)
    return known, seen


def record_inbound_batch(session: Session, incomings: Sequence[Incoming], attachments_dir: Path
                         ) -> list[tuple[int, bool]]:
    """Store inbound messages in one transaction and commit: (message id, newly stored) for each.

    One commit for many messages, written with bulk INSERTs rather than object by object, is
    what lets a busy SMTP server keep up on SQLite. A message already stored (the same channel
    and external id) is not stored again; if another process stored one of them meanwhile, the
    batch is retried one message at a time.
    """
    known, seen = _stored(session, incomings)
    fresh: list[Incoming] = []
    keys: set[Key] = set()
    reused: set[int] = set()  # a letter whose id an earlier one (stored, or earlier in this batch) already has
    for incoming in incomings:
        if _key(incoming) in known or _key(incoming) in keys:
            continue
        if incoming.channel_id in seen:
            reused.add(id(incoming))
        fresh.append(incoming)
        keys.add(_key(incoming))
        seen.add(incoming.channel_id)
    if fresh:
        files = {id(i): [_kept(attachments_dir, f, i.message.raw is not None) for f in i.message.attachments]
                 for i in fresh}
        try:
            connection = session.connection()  # Core, not the ORM's unit of work: this is the hot path
            in_pieces = {id(i) for i in fresh
                         if _sqlite(connection) and i.message.raw is not None and len(i.message.raw) > PIECE}
            ids = connection.execute(insert(Message.__table__).returning(Message.__table__.c.id,
                                                                         sort_by_parameter_order=True),
                                     [_row(i, id(i) in reused, id(i) in in_pieces) for i in fresh]).scalars().all()
            _write_in_pieces(connection, [(message_id, i.message.raw) for message_id, i in zip(ids, fresh, strict=True)
                                          if id(i) in in_pieces and i.message.raw is not None])
            attachments = [{"message_id": message_id, **columns}
                           for message_id, incoming in zip(ids, fresh, strict=True)
                           for columns in files[id(incoming)]]
            if attachments:
                connection.execute(insert(Attachment.__table__), attachments)
            connection.execute(insert(AuditEvent.__table__), [
                {"at": i.received_at, "actor": f"channel:{i.message.channel}", "action": "message_received",
                 "message_id": message_id,
                 "detail": {"automatic": i.message.automatic, "attachments": len(i.message.attachments),
                            "reused_id": id(i) in reused}}
                for message_id, i in zip(ids, fresh, strict=True)])
            session.commit()
        except IntegrityError:  # another process stored one of them a moment ago
            session.rollback()
            if len(incomings) == 1:
                stored = _stored(session, incomings)[0].get(_key(incomings[0]))
                if stored is None:
                    raise
                return [(stored, False)]
            return [record_inbound_batch(session, [incoming], attachments_dir)[0] for incoming in incomings]
        for message_id, incoming in zip(ids, fresh, strict=True):
            known[_key(incoming)] = message_id
    created = {id(i) for i in fresh}
    return [(known[_key(i)], id(i) in created) for i in incomings]


def complete_inbound(session: Session, message: Message, incoming: Inbound, attachments_dir: Path) -> None:
    """Fill in a message stored raw (SMTP stores before it parses) from its parse; the caller commits."""
    if message.parsed:
        return
    _fill(message, incoming, attachments_dir)
    message.parsed = True


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
