"""Telegram through python-telegram-bot's Bot: long polling (the default) or a webhook, each of
which stores an update before Telegram is told it arrived.

Telegram keeps every update until a later getUpdates names a higher offset, so the offset moves
past an update only after the bot has stored it. (PTB's own Updater moves the offset as soon as
it has fetched a batch, before any handler runs; an update in flight when the process dies
would be lost, which is why the loop here is our own.) Updates that were stored but not yet
acknowledged come again after a restart and are recognised as duplicates by their id, so
messages sent while the bot was down are picked up on start and none is stored twice.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from intake.channel import Channel, Listener, OutboundMessage, Store
from intake.message import InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"


def inbound_from_update(update: Update) -> InboundMessage | None:
    """A text message or a button press as an InboundMessage; other updates carry nothing to store."""
    if update.callback_query is not None and update.callback_query.message is not None:
        query = update.callback_query
        return InboundMessage(channel=CHANNEL, external_id=f"callback-{query.id}",
                              sender=str(query.message.chat.id), body_text=query.data or "",
                              new_text=query.data or "", sent_at=None)
    message = update.message or update.edited_message
    if message is None:
        return None
    text = message.text or message.caption or ""
    if not text:
        text = "[a message without text: photo, sticker, voice or file]"
    return InboundMessage(channel=CHANNEL, external_id=f"message-{message.chat.id}-{message.message_id}",
                          sender=str(message.chat.id), body_text=text, new_text=text, sent_at=message.date)


def keyboard(options: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """One button a row, so long labels stay readable on a phone."""
    if not options:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=value)] for value, label in options])


class TelegramPoller:
    def __init__(self, token: str, store: Store, base_url: str | None = None,
                 poll_timeout: int = 25, max_backoff: float = 60.0) -> None:
        self.token = token
        self.store = store
        self.base_url = base_url or DEFAULT_BASE_URL
        self.poll_timeout = poll_timeout
        self.max_backoff = max_backoff
        self.stopping = threading.Event()

    def __str__(self) -> str:
        return "Telegram long polling"  # never the token: it is the bot's password

    def start(self) -> None:
        threading.Thread(target=self.run, name="telegram", daemon=True).start()

    def run(self) -> None:
        asyncio.run(self.run_async())

    def stop(self) -> None:
        self.stopping.set()

    async def run_async(self) -> None:
        backoff = 1.0
        offset: int | None = None
        bot = Bot(self.token, base_url=self.base_url)
        while not self.stopping.is_set():
            try:
                async with bot:
                    while not self.stopping.is_set():
                        offset = await self.poll_once(bot, offset)
                        backoff = 1.0
            except Exception as error:  # noqa: BLE001 - Telegram, the network, or storing (the database down or
                # refusing): the offset has not moved past the update, so it comes again after the wait
                log.warning("Telegram polling failed (%s); retrying in %.0fs", type(error).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def poll_once(self, bot: Bot, offset: int | None) -> int | None:
        """Fetch, store each update, and only then let the offset move past it."""
        updates = await bot.get_updates(offset=offset, timeout=self.poll_timeout,
                                        allowed_updates=["message", "edited_message", "callback_query"],
                                        read_timeout=self.poll_timeout + 10)
        for update in updates:
            message = inbound_from_update(update)
            if message is not None:
                await asyncio.wrap_future(self.store.submit(message))
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer()
                except TelegramError:
                    pass  # the spinner on the button times out by itself
            offset = update.update_id + 1
        return offset


def send_message(token: str, base_url: str | None, chat_id: str, text: str,
                 options: Sequence[tuple[str, str]] = ()) -> None:
    """Send one message; raises on failure so the outbox retries it."""

    async def send() -> None:
        async with Bot(token, base_url=base_url or DEFAULT_BASE_URL) as bot:
            await bot.send_message(chat_id=int(chat_id), text=text, reply_markup=keyboard(options))

    asyncio.run(send())


WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_router(store: Store, secret: str) -> APIRouter:
    """Telegram POSTs each update here; 200 only after it is stored, so a failure makes Telegram retry.

    Telegram sends the secret given to setWebhook in a header on every call; anything without it
    is refused, so nobody else can post messages in a resident's name.
    """
    router = APIRouter()

    @router.post(WEBHOOK_PATH)
    async def receive(request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return JSONResponse({"ok": False}, status_code=403)
        try:
            data: Any = await request.json()
            message = inbound_from_update(Update.de_json(data, None))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"ok": True, "ignored": "not an update"})  # a retry would not help
        if message is not None:
            await asyncio.wrap_future(store.submit(message))
        return JSONResponse({"ok": True})

    return router


def set_webhook(token: str, base_url: str | None, url: str, secret: str) -> None:
    """Tell Telegram where to deliver updates; pending updates are kept, not dropped."""

    async def register() -> None:
        async with Bot(token, base_url=base_url or DEFAULT_BASE_URL) as bot:
            await bot.set_webhook(url=url, secret_token=secret,
                                  allowed_updates=["message", "edited_message", "callback_query"])

    asyncio.run(register())


class TelegramChannel(Channel):
    """Long polling under the telegram role, or, with a webhook URL, updates posted to the web role."""

    name: ClassVar[str] = CHANNEL
    chat: ClassVar[bool] = True
    buttons: ClassVar[bool] = True
    roles: ClassVar[tuple[str, ...]] = ("telegram",)

    def __init__(self, token: str, base_url: str | None = None, webhook_url: str | None = None,
                 webhook_secret: str | None = None, poll_timeout: int = 25) -> None:
        self.token, self.base_url, self.poll_timeout = token, base_url, poll_timeout
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret

    def poller(self, store: Store) -> TelegramPoller | None:
        return None if self.webhook_url else TelegramPoller(self.token, store, self.base_url, self.poll_timeout)

    def listeners(self, role: str, store: Store) -> list[Listener]:
        """Long polling; with a webhook, its registration (the updates then come to the web role)."""
        if role != "telegram":
            return []
        poller = self.poller(store)
        return [poller] if poller is not None else [WebhookRegistration(self)]

    def router(self, store: Store) -> APIRouter | None:
        if not self.webhook_url or not self.webhook_secret:
            return None
        return webhook_router(store, self.webhook_secret)

    def register_webhook(self) -> None:
        """Tell Telegram where to post updates (the telegram role does, when it has a webhook)."""
        assert self.webhook_url and self.webhook_secret
        set_webhook(self.token, self.base_url, self.webhook_url, self.webhook_secret)

    def send_text(self, message: OutboundMessage) -> None:
        send_message(self.token, self.base_url, message.address, message.text)

    def send_text_with_choices(self, message: OutboundMessage) -> None:
        send_message(self.token, self.base_url, message.address, message.text,
                     [(choice.value, choice.label) for choice in message.choices])


class WebhookRegistration:
    """The telegram role's work when Telegram posts updates to the webhook: telling it where, once."""

    def __init__(self, channel: TelegramChannel) -> None:
        self.channel = channel

    def __str__(self) -> str:
        return "Telegram webhook registration"

    def start(self) -> None:
        self.channel.register_webhook()

    def stop(self) -> None:
        """Nothing runs: the registration stays with Telegram, so updates wait there while we are down."""
