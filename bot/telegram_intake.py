"""Wiring Telegram to storage: the poller stores through the same path as every channel."""

from __future__ import annotations

from bot.context import Context
from bot.inbound import store_message
from intake.telegram import TelegramPoller


def telegram_poller(context: Context, poll_timeout: int = 25) -> TelegramPoller | None:
    """The poller when TRIAGE_TELEGRAM_TOKEN is set, else None."""
    settings = context.settings
    if not settings.telegram_token:
        return None
    return TelegramPoller(settings.telegram_token, store=lambda message: store_message(context, message),
                          base_url=settings.telegram_base_url, poll_timeout=poll_timeout)
