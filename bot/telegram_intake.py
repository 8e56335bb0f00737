"""Wiring Telegram to storage: the poller stores through the same path as every channel."""

from __future__ import annotations

from fastapi import APIRouter

from bot.context import Context
from bot.inbound import store_message

from intake.telegram import TelegramPoller, set_webhook, webhook_router


def telegram_poller(context: Context, poll_timeout: int = 25) -> TelegramPoller | None:
    """The poller when TRIAGE_TELEGRAM_TOKEN is set and no webhook is configured, else None."""
    settings = context.settings
    if not settings.telegram_token or settings.telegram_webhook_url:
        return None
    return TelegramPoller(settings.telegram_token, store=lambda message: store_message(context, message),
                          base_url=settings.telegram_base_url, poll_timeout=poll_timeout)


def telegram_webhook(context: Context) -> APIRouter | None:
    """The webhook endpoint when TRIAGE_TELEGRAM_WEBHOOK_URL is set, else None."""
    settings = context.settings
    if not settings.telegram_token or not settings.telegram_webhook_url or not settings.telegram_webhook_secret:
        return None
    return webhook_router(lambda message: store_message(context, message), settings.telegram_webhook_secret)


def register_webhook(context: Context) -> None:
    settings = context.settings
    assert settings.telegram_token and settings.telegram_webhook_url and settings.telegram_webhook_secret
    set_webhook(settings.telegram_token, settings.telegram_base_url, settings.telegram_webhook_url,
                settings.telegram_webhook_secret)
