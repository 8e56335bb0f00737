"""The outbox's senders, one per channel: how a queued Delivery leaves the building."""

from __future__ import annotations

from intake import telegram
from intake.email.send import OutboundEmail, Sender, build
from workflow.outbox import Delivery, Send

from bot.context import Context


def email_sender(context: Context) -> Send:
    """Mail over TRIAGE_OUTBOUND_SMTP_URL, or .eml files under the data dir when none is set."""
    settings = context.settings
    transport = Sender(settings.outbound_smtp_url, settings.data_dir / "outgoing",
                       allow_plain_auth=settings.outbound_smtp_allow_plain_auth)

    def send(delivery: Delivery) -> None:
        mail = OutboundEmail(key=delivery.key, to=delivery.address, subject=delivery.subject or settings.landlord_name,
                             text=delivery.text, reference=delivery.reference, in_reply_to=delivery.in_reply_to,
                             references=delivery.references, automatic=delivery.automatic)
        transport.send(build(mail, settings.landlord_email, settings.landlord_name, context.now()),
                       reference=delivery.reference)

    return send


def webchat_sender(_delivery: Delivery) -> None:
    """Web chat replies are read from the record by the visitor's page; being queued is being delivered."""


def telegram_sender(token: str, base_url: str | None) -> Send:
    def send(delivery: Delivery) -> None:
        options = [tuple(option.split("|", 1)) for option in delivery.options]
        telegram.send_message(token, base_url, delivery.address, delivery.text,
                              [(value, label) for value, label in options])

    return send


def senders(context: Context) -> dict[str, Send]:
    settings = context.settings
    channels: dict[str, Send] = {"email": email_sender(context), "webchat": webchat_sender}
    if settings.telegram_token:
        channels["telegram"] = telegram_sender(settings.telegram_token, settings.telegram_base_url)
    return channels
