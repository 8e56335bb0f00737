"""Writing to a resident about their case, from the scheduler or the console: in the channel they
last wrote from, threaded to their last message, recorded as correspondence (5.12) and sent
through the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import outbox
from workflow.models import Case, Message
from workflow.vocabulary import Direction

DEFINITION_CHARS = 1500
CHAT_CHANNELS = ("telegram", "webchat")
CHOICE_OPTIONS = ("complaint|Make a complaint", "request|Deal with it as a request")  # the chat's buttons for 1.3


def residents_words(session: Session, case: Case) -> str:
    """The resident's first words on this case, as they wrote them (the new text, not quotes): a draft definition."""
    first = session.scalar(select(Message).where(Message.case_id == case.id,
                                                 Message.direction == Direction.INBOUND.value,
                                                 Message.automatic.is_(False))
                           .order_by(Message.received_at, Message.id))
    text = " ".join(((first.new_text or first.body_text) if first is not None else "").split())
    if not text:
        return "Your complaint as you told it to us by phone or in person."
    return text if len(text) <= DEFINITION_CHARS else text[:DEFINITION_CHARS].rsplit(" ", 1)[0] + " ..."


def to_resident(session: Session, case: Case, text: str, at: dt.datetime, subject: str,
                automatic: bool = True, options: Sequence[str] = ()) -> int | None:
    """Queue a letter and return its message's id; None when the resident has only spoken to us (the
    advisor sends it by post or phone)."""
    last = session.scalar(select(Message).where(Message.case_id == case.id,
                                                Message.direction == Direction.INBOUND.value,
                                                Message.sender.is_not(None), Message.quiet.is_(False))
                          .order_by(Message.received_at.desc(), Message.id.desc()))
    if last is None or last.sender is None:
        return None
    chat = last.channel in CHAT_CHANNELS
    return outbox.enqueue(session, channel=last.channel, address=last.sender, text=text, at=at, case=case,
                          subject=subject if chat else outbox.reply_subject(last.subject, subject),
                          in_reply_to=None if chat else last.external_id, references=list(last.references),
                          automatic=automatic, options=options if chat else ())
