"""Every channel's way into storage: an InboundMessage becomes a stored Message, then the
conversation is woken to handle it. Storing comes first and is all a channel waits for."""

from __future__ import annotations

import datetime as dt

from bot.context import Context
from intake.message import InboundMessage
from workflow.inbox import Incoming, IncomingFile, record_inbound


def incoming_from(message: InboundMessage, received_at: dt.datetime, quiet: bool = False) -> Incoming:
    return Incoming(
        channel=message.channel, external_id=message.external_id, received_at=received_at, sender=message.sender,
        recipients=message.recipients, subject=message.subject, body_text=message.body_text,
        new_text=message.new_text, raw=message.raw, in_reply_to=message.in_reply_to, references=message.references,
        automatic=message.automatic, defects=message.defects, quiet=quiet,
        files=[IncomingFile(a.filename, a.content_type, a.data) for a in message.attachments],
    )


def store_message(context: Context, message: InboundMessage, *, quiet: bool = False) -> tuple[int, bool]:
    """Store one message durably; (message id, newly stored). A new message wakes the conversation."""
    with context.sessions() as session:
        stored, created = record_inbound(session, incoming_from(message, context.now(), quiet),
                                         context.settings.data_dir / "attachments")
        message_id = stored.id
    if created:
        context.wake.set()
    return message_id, created
