"""Advisor reviews read back as training signal for `triage train --with-reviews`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Classification, Message, Review


def reviewed_messages(session: Session) -> list[tuple[int, str, str, str]]:
    """(review id, message text, confirmed kind, confirmed theme), the latest review of each message only."""
    rows = session.execute(
        select(Review.id, Classification.message_id, Message.body_text, Review.confirmed_kind, Review.confirmed_theme)
        .join(Classification, Review.classification_id == Classification.id)
        .join(Message, Classification.message_id == Message.id)
        .order_by(Review.id)
    ).all()
    latest: dict[int, tuple[int, str, str, str]] = {}
    for review_id, message_id, text, kind, theme in rows:
        if text.strip():
            latest[message_id] = (review_id, text, kind, theme)
    return list(latest.values())
