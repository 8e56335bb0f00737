"""The channel registry: the one place bot learns of channels (tests/test_layout.py holds it to that).

Each entry is a channel's class and how to build it from the settings (None when its settings are
not given). From the registry come `triage run`'s channel roles, the outbox's senders, the web
role's routers, the listeners each role starts, and the letter forms workflow writes in. A new
channel is one module in intake/ and one line in REGISTRY, plus its settings and tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from bot.context import Context
from bot.inbound import ContextStore
from intake.channel import Channel, Listener, OutboundMessage, Store, choices_from
from intake.email.channel import EmailChannel
from intake.email.imap import MailboxConfig, MailboxPoller
from intake.email.send import Sender
from intake.email.first_hop import Dns
from intake.email.smtp import Connections, FirstHop, make_controller
from intake.sms import NotifySettings, SmsChannel
from intake.telegram import TelegramChannel, TelegramPoller
from intake.webchat.app import ChatLine, ChatSettings, WebchatChannel
from workflow import correspondence
from workflow.inbox import chat_history, load_cursor, save_cursor
from workflow.outbox import Delivery, Send
from workflow.vocabulary import Direction


def email(context: Context) -> EmailChannel:
    settings = context.settings
    transport = Sender(settings.outbound_smtp_url, settings.data_dir / "outgoing",
                       allow_plain_auth=settings.outbound_smtp_allow_plain_auth)
    return EmailChannel(transport, settings.landlord_email, settings.landlord_name, context.now,
                        inputs={"smtp": lambda store: [smtp_controller(context, store)],
                                "imap": lambda store: list(imap_pollers(context, store))})


def webchat(context: Context, reply_wait_seconds: float = 3.0) -> WebchatChannel:
    settings = context.settings

    def history(address: str, after: int) -> list[ChatLine]:
        with context.sessions() as session:
            return [ChatLine(id=m.id, from_resident=m.direction == Direction.INBOUND.value, text=m.body_text,
                             at=m.received_at, options=[(c.value, c.label) for c in choices_from(m.options)])
                    for m in chat_history(session, WebchatChannel.name, address, after)]

    return WebchatChannel(history, ChatSettings(
        landlord_name=settings.landlord_name, landlord_phone=settings.landlord_phone, secret=context.chat_secret,
        reply_wait_seconds=reply_wait_seconds, secure_cookies=settings.public_url.startswith("https://")))


def telegram(context: Context, poll_timeout: int = 25) -> TelegramChannel | None:
    settings = context.settings
    if not settings.telegram_token:
        return None
    return TelegramChannel(settings.telegram_token, settings.telegram_base_url, settings.telegram_webhook_url,
                           settings.telegram_webhook_secret, poll_timeout)


def sms(context: Context) -> SmsChannel | None:
    settings = context.settings
    if settings.notify_api_key is None or settings.notify_callback_token is None or not settings.notify_sms_template_id:
        return None
    return SmsChannel(NotifySettings(api_key=settings.notify_api_key.get_secret_value().strip(),
                                     template_id=settings.notify_sms_template_id,
                                     callback_token=settings.notify_callback_token.get_secret_value(),
                                     base_url=settings.notify_base_url, sender_id=settings.notify_sms_sender_id))


@dataclass(frozen=True)
class Registration:
    kind: type[Channel]
    build: Callable[[Context], Channel | None]


REGISTRY: tuple[Registration, ...] = (
    Registration(EmailChannel, email),
    Registration(WebchatChannel, webchat),
    Registration(TelegramChannel, telegram),
    Registration(SmsChannel, sms),
)
ROLES: tuple[str, ...] = tuple(dict.fromkeys(role for entry in REGISTRY for role in entry.kind.roles))
correspondence.register_forms({entry.kind.name: correspondence.Form(entry.kind.chat, entry.kind.buttons)
                               for entry in REGISTRY})


def configured(context: Context) -> list[Channel]:
    """The channels whose settings are given, in the registry's order."""
    return [channel for channel in (entry.build(context) for entry in REGISTRY) if channel is not None]


def addresses(context: Context, address: str) -> list[str]:
    """An address as typed by a person, and as each channel writes it: "07700 900123" is the text
    message resident "+447700900123" (`triage export-resident`)."""
    return list(dict.fromkeys([address.strip(), *(channel.normalise(address) for channel in configured(context))]))


def outgoing(delivery: Delivery) -> OutboundMessage:
    """The outbox's record of a message as the channel interface's OutboundMessage."""
    return OutboundMessage(key=delivery.key, address=delivery.address, text=delivery.text,
                           choices=choices_from(delivery.options), subject=delivery.subject,
                           reference=delivery.reference, in_reply_to=delivery.in_reply_to,
                           references=tuple(delivery.references), automatic=delivery.automatic)


def senders(context: Context) -> dict[str, Send]:
    """The outbox's sender for each configured channel."""

    def sender(channel: Channel) -> Send:
        return lambda delivery: channel.send(outgoing(delivery))

    return {channel.name: sender(channel) for channel in configured(context)}


def routers(context: Context, store: Store | None = None) -> list[APIRouter]:
    """What the web role serves for the channels: the web chat, and any webhooks and callbacks."""
    store = store or ContextStore(context)
    return [router for router in (channel.router(store) for channel in configured(context)) if router is not None]


def listeners(context: Context, role: str, store: Store | None = None) -> list[Listener]:
    store = store or ContextStore(context)
    return [listener for channel in configured(context) for listener in channel.listeners(role, store)]


# -- each channel's input sides, as the tools, benchmarks and tests start them one by one ------------

def smtp_controller(context: Context, store: Store | None = None) -> Listener:
    settings = context.settings
    authserv_id = settings.first_hop_authserv_id
    first_hop = FirstHop(authserv_id, Dns(tuple(settings.dns_servers))) if authserv_id else None
    return make_controller(store or ContextStore(context), settings.accepted_mail_domains, settings.smtp_host,
                           settings.smtp_port, max_bytes=settings.smtp_max_bytes, tls_cert=settings.smtp_tls_cert,
                           tls_key=settings.smtp_tls_key,
                           connections=Connections(settings.smtp_max_connections,
                                                   settings.smtp_max_connections_per_client),
                           max_recipients=settings.smtp_max_recipients, first_hop=first_hop,
                           spool_dir=settings.data_dir / "spool", large_slots=context.large_letters)


def mailbox_poller(context: Context, config: MailboxConfig, poll_seconds: float = 60.0,
                   store: Store | None = None) -> MailboxPoller:
    """A poller for one mailbox that stores through the same path as SMTP and keeps its cursor in the database."""

    def load(key: str) -> tuple[int, int] | None:
        with context.sessions() as session:
            return load_cursor(session, key)

    def save(key: str, uidvalidity: int, last_uid: int) -> None:
        with context.sessions() as session:
            save_cursor(session, key, uidvalidity, last_uid, dt.datetime.now(dt.UTC))

    return MailboxPoller(config, store=store or ContextStore(context), load_cursor=load, save_cursor=save,
                         poll_seconds=poll_seconds)


def imap_pollers(context: Context, store: Store | None = None) -> list[MailboxPoller]:
    """One poller per TRIAGE_IMAP_URLS entry."""
    settings = context.settings
    return [mailbox_poller(context, MailboxConfig.from_url(url, password=settings.imap_password,
                                                           oauth2_token=settings.imap_oauth2_token,
                                                           processed_folder=settings.imap_processed_folder,
                                                           ca_file=settings.imap_ca_file), store=store)
            for url in settings.imap_urls]


def telegram_poller(context: Context, poll_timeout: int = 25) -> TelegramPoller | None:
    """The poller when TRIAGE_TELEGRAM_TOKEN is set and no webhook is configured, else None."""
    channel = telegram(context, poll_timeout)
    return channel.poller(ContextStore(context)) if channel is not None else None
