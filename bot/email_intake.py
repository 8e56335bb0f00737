"""Wiring the SMTP server and IMAP pollers to storage: a message is stored before 250 is said or it is moved."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiosmtpd.controller import Controller

from bot.context import Context
from bot.inbound import store_message
from intake.email.imap import MailboxConfig, MailboxPoller
from intake.email.smtp import Connections, Store, make_controller
from intake.message import InboundMessage
from workflow.inbox import load_cursor, save_cursor


def store_for(context: Context) -> Store:
    """Stores through the process's group-committing writer thread, off the event loop (measured: bench/smtp.py)."""

    async def store(message: InboundMessage) -> str:
        message_id, created = await asyncio.wrap_future(context.writer.submit(message))
        return f"message {message_id}" + ("" if created else " (duplicate)")

    return store


def smtp_controller(context: Context) -> Controller:
    settings = context.settings
    return make_controller(store_for(context), settings.accepted_mail_domains, settings.smtp_host, settings.smtp_port,
                           max_bytes=settings.smtp_max_bytes, tls_cert=settings.smtp_tls_cert,
                           tls_key=settings.smtp_tls_key,
                           connections=Connections(settings.smtp_max_connections,
                                                   settings.smtp_max_connections_per_client),
                           max_recipients=settings.smtp_max_recipients, first_hop=settings.first_hop(),
                           spool_dir=settings.data_dir / "spool", large_slots=context.large_letters)


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
                                                       processed_folder=settings.imap_processed_folder,
                                                       ca_file=settings.imap_ca_file))
        for url in settings.imap_urls
    ]
