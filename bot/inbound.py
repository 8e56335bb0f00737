"""Every channel's way into storage: an InboundMessage becomes a stored Message, then the
conversation is woken to handle it. Storing comes first and is all a channel waits for.

SMTP, the web chat, Telegram and IMAP store through the process's one BatchWriter
(`context.writer`), so under load they share commits and take SQLite's single write lock once
a group instead of once a message."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import memory
from bot.context import Context
from intake.email.parse import parse
from intake.channel import Receipt, Stored
from intake.message import LARGE_BYTES, InboundMessage
from workflow import outbox
from workflow.inbox import Incoming, complete_inbound, raw_letter, raw_size, record_inbound_batch
from workflow.models import Message

log = logging.getLogger(__name__)
LARGE_WAIT_SECONDS = 2.0  # the longest the worker waits for its turn at a large letter, then goes ahead


def store_messages(context: Context, messages: Sequence[InboundMessage], *, quiet: bool = False
                   ) -> list[tuple[int, bool]]:
    """Store messages durably in one transaction; (message id, newly stored) for each. New ones wake the bot."""
    at = context.now()
    with context.sessions() as session:
        results = record_inbound_batch(session, [Incoming(m, at, quiet) for m in messages],
                                       context.settings.data_dir / "attachments")
    if any(created for _, created in results):
        context.wake.set()
    return results


def store_message(context: Context, message: InboundMessage, *, quiet: bool = False) -> tuple[int, bool]:
    """Store one message through the process's writer and wait until it is committed."""
    return context.writer.submit(message, quiet=quiet).result()


def complete(context: Context, session: Session, message: Message) -> None:
    """Parse a message that was stored raw (SMTP answers before parsing) and fill in its record.

    Its raw bytes are let go once it is filled in (read again only if something asks for them),
    so a batch of six 25 MB letters is parsed one letter at a time, not held together."""
    if message.parsed:
        return
    size = raw_size(session, message)
    if size is None:
        return
    large = size > LARGE_BYTES  # the SMTP server's own test for a large letter: they share the turns
    # Not while the SMTP server holds a large letter too, but never waiting long: this worker may
    # hold SQLite's write lock (earlier messages of its batch), which the server needs to store
    # its letter and give its turn back.
    turn = context.large_letters.acquire(timeout=LARGE_WAIT_SECONDS) if large else False
    try:
        raw = raw_letter(session, message, size)  # read apart from the record, which never holds it
        if raw is None:
            return
        complete_inbound(session, message, parse(raw, message.channel), context.settings.data_dir / "attachments")
        del raw
    finally:
        if turn:
            context.large_letters.release()
    session.expire(message, ["raw"])
    if large:
        memory.trim()


def complete_stored(context: Context) -> int:
    """Parse every message still stored raw; for tools and tests that read messages without the bot."""
    with context.sessions() as session:
        messages = list(session.scalars(select(Message).where(Message.parsed.is_(False)).order_by(Message.id)))
        for message in messages:
            complete(context, session, message)
        session.commit()
        return len(messages)


class BatchWriter:
    """One thread that stores whatever has queued up since its last commit, in one transaction.

    Group commit: under load many messages share a commit, and each waiting sender is answered
    when the commit that holds its message is done, never before.
    """

    def __init__(self, context: Context, max_batch: int = 200, linger: float = 0.002) -> None:
        self.context = context
        self.max_batch = max_batch
        self.linger = linger  # how long the first message waits for company: 2 ms of latency buys bigger commits
        self.queue: queue.Queue[tuple[InboundMessage, bool, Future[tuple[int, bool]]]] = queue.Queue()
        threading.Thread(target=self._run, name="store", daemon=True).start()

    def submit(self, message: InboundMessage, quiet: bool = False) -> Future[tuple[int, bool]]:
        future: Future[tuple[int, bool]] = Future()
        self.queue.put((message, quiet, future))
        return future

    def _run(self) -> None:
        with self.context.sessions() as session:  # one session for the thread's life: it is clean after each commit
            self._serve(session)

    def _serve(self, session: Session) -> None:
        attachments = self.context.settings.data_dir / "attachments"
        while True:
            batch = [self.queue.get()]
            deadline = time.monotonic() + self.linger
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get(timeout=max(deadline - time.monotonic(), 0)))
                except queue.Empty:
                    break
            self._store(session, batch, attachments)
            del batch  # else the last batch's letters (24 MB each, when large) are held until the next arrives

    def _store(self, session: Session, batch: list[tuple[InboundMessage, bool, Future[tuple[int, bool]]]],
               attachments: Path) -> None:
        """One commit for the batch; if it fails, one commit each, so a message the database refuses
        fails alone and its sender is told (451, a 500 in the chat) while the others are stored."""
        at = self.context.now()
        try:
            results = record_inbound_batch(session, [Incoming(m, at, quiet) for m, quiet, _ in batch],
                                           attachments)
        except Exception as error:  # noqa: BLE001 - reported to the sender, who retries
            session.rollback()
            if len(batch) > 1:
                log.warning("storing a batch of %d messages failed; storing them one at a time", len(batch))
                for one in batch:
                    self._store(session, [one], attachments)
                return
            log.exception("storing message %s failed", batch[0][0].external_id)
            batch[0][2].set_exception(error)
            return
        if any(created for _, created in results):
            self.context.wake.set()
        for (_, _, future), result in zip(batch, results, strict=True):
            future.set_result(result)


class ContextStore:
    """The one Store every channel's input side is given (intake/channel.py): messages through the
    process's BatchWriter, so live channels share its group commits; receipts into the record."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def submit(self, message: InboundMessage) -> Future[Stored]:
        stored: Future[Stored] = Future()

        def done(future: Future[tuple[int, bool]]) -> None:
            error = future.exception()
            if error is not None:
                stored.set_exception(error)
            else:
                stored.set_result(Stored(*future.result()))

        self.context.writer.submit(message).add_done_callback(done)
        return stored

    def record_receipt(self, receipt: Receipt) -> None:
        with self.context.sessions() as session:
            if outbox.record_receipt(session, receipt.channel, receipt.key, receipt.status, receipt.delivered,
                                     receipt.failed, receipt.at):
                session.commit()
