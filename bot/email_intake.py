"""Wiring the SMTP server to storage: an InboundMessage becomes a stored Message before 250 is said."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller

from bot.context import Context
from intake.email.imap import MailboxConfig, MailboxPoller
from intake.email.smtp import Store, make_controller
from intake.message import InboundMessage
from workflow.inbox import Incoming, IncomingFile, load_cursor, record_inbound, save_cursor


def incoming_from(message: InboundMessage, received_at: dt.datetime) -> Incoming:
    return Incoming(
        channel=message.channel, external_id=message.external_id, received_at=received_at, sender=message.sender,
        recipients=message.recipients, subject=message.subject, body_text=message.body_text, raw=message.raw,
        in_reply_to=message.in_reply_to, references=message.references, automatic=message.automatic,
        defects=message.defects,
        files=[IncomingFile(a.filename, a.content_type, a.data) for a in message.attachments],
    )


def store_message(context: Context, message: InboundMessage) -> tuple[int, bool]:
    """Store one message as every email path does (SMTP, import); (message id, newly stored)."""
    with context.sessions() as session:
        stored, created = record_inbound(session, incoming_from(message, dt.datetime.now(dt.UTC)),
                                         context.settings.data_dir / "attachments")
        return stored.id, created


def store_for(context: Context) -> Store:
    """Stores off the event loop; on SQLite through one writer thread, because concurrent writers
    only wait on each other's locks (measured: bench/smtp.py)."""
    writers = 1 if context.engine.dialect.name == "sqlite" else 8
    pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="store")

    async def store(message: InboundMessage) -> str:
        loop = asyncio.get_running_loop()
        message_id, created = await loop.run_in_executor(pool, store_message, context, message)
        return f"message {message_id}" + ("" if created else " (duplicate)")

    return store


def smtp_controller(context: Context) -> Controller:
    settings = context.settings
    return make_controller(store_for(context), settings.accepted_mail_domains, settings.smtp_host, settings.smtp_port,
                           max_bytes=settings.smtp_max_bytes, tls_cert=settings.smtp_tls_cert,
                           tls_key=settings.smtp_tls_key)


def mailbox_poller(context: Context, config: MailboxConfig, poll_seconds: float = 60.0) -> MailboxPoller:
    """A poller for one mailbox that stores through the same path as SMTP and keeps its cursor in the database."""

    def load(key: str) -> tuple[int, int] | None:
        with context.sessions() as session:
            return load_cursor(session, key)

    def save(key: str, uidvalidity: int, last_uid: int) -> None:
        with context.sessions() as session:
            save_cursor(session, key, uidvalidity, last_uid, dt.datetime.now(dt.UTC))

    return MailboxPoller(config, store=lambda message: store_message(context, message), load_cursor=load,
                         save_cursor=save, poll_seconds=poll_seconds)


def imap_pollers(context: Context) -> list[MailboxPoller]:
    """One poller per TRIAGE_IMAP_URLS entry."""
    settings = context.settings
    return [
        mailbox_poller(context, MailboxConfig.from_url(url, password=settings.imap_password,
                                                       oauth2_token=settings.imap_oauth2_token,
                                                       processed_folder=settings.imap_processed_folder))
        for url in settings.imap_urls
    ]
