"""Wiring the web chat to storage and to the record it reads replies from."""

from __future__ import annotations

from fastapi import APIRouter

from bot.context import Context
from bot.inbound import store_message
from intake.webchat.app import CHANNEL, ChatLine, ChatSettings, webchat_router
from workflow.inbox import chat_history
from workflow.vocabulary import Direction


def webchat(context: Context, reply_wait_seconds: float = 3.0) -> APIRouter:
    settings = context.settings

    def history(address: str, after: int) -> list[ChatLine]:
        with context.sessions() as session:
            return [
                ChatLine(id=m.id, from_resident=m.direction == Direction.INBOUND.value, text=m.body_text,
                         at=m.received_at, options=[tuple(o.split("|", 1)) for o in m.options])  # type: ignore[misc]
                for m in chat_history(session, CHANNEL, address, after)
            ]

    return webchat_router(
        store=lambda message: store_message(context, message),
        history=history,
        settings=ChatSettings(landlord_name=settings.landlord_name, landlord_phone=settings.landlord_phone,
                              secret=context.chat_secret,
                              reply_wait_seconds=reply_wait_seconds,
                              secure_cookies=settings.public_url.startswith("https://")),
    )
