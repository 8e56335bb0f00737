"""Wiring the SMTP server to storage: an InboundMessage becomes a stored Message before 250 is said."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiosmtpd.controller import Controller

from bot.context import Context
from intake.email.smtp import Store, make_controller
from intake.message import InboundMessage
from workflow.inbox import Incoming, IncomingFile, record_inbound


def incoming_from(message: InboundMessage, received_at: dt.datetime) -> Incoming:
    return Incoming(
        channel=message.channel, external_id=message.external_id, received_at=received_at, sender=message.sender,
        recipients=message.recipients, subject=message.subject, body_text=message.body_text, raw=message.raw,
        in_reply_to=message.in_reply_to, references=message.references, automatic=message.automatic,
        defects=message.defects,
        files=[IncomingFile(a.filename, a.content_type, a.data) for a in message.attachments],
    )


def store_for(context: Context) -> Store:
    attachments_dir = context.settings.data_dir / "attachments"

    def store_now(message: InboundMessage) -> str:
        with context.sessions() as session:
            stored, created = record_inbound(session, incoming_from(message, dt.datetime.now(dt.UTC)),
                                             attachments_dir)
            return f"message {stored.id}" + ("" if created else " (duplicate)")

    async def store(message: InboundMessage) -> str:
        return await asyncio.to_thread(store_now, message)

    return store


def smtp_controller(context: Context) -> Controller:
    settings = context.settings
    return make_controller(store_for(context), settings.accepted_mail_domains, settings.smtp_host, settings.smtp_port,
                           max_bytes=settings.smtp_max_bytes, tls_cert=settings.smtp_tls_cert,
                           tls_key=settings.smtp_tls_key)
