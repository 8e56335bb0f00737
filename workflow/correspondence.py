"""Writing to a resident about their case, from the bot, the scheduler or the console: in the
channel they last wrote from, threaded to their last message, recorded as correspondence (5.12)
and sent through the outbox.

Every letter follows what the resident asked for to deal with us (5.10) and takes the form of the
channel it goes by: a chat message is short and names the Ombudsman in one line, once in the
conversation; an email is the whole letter with the Ombudsman's details. That is decided here,
once, for every sender."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import outbox
from workflow.definitions import draft_definition
from workflow.letters import Letters
from workflow.models import Adjustment, Case, Message, OutboxItem
from workflow.vocabulary import Direction

DEFINITION_CHARS = 1500
SPOKEN = "Your complaint as you told it to us by phone or in person."  # the draft when nothing was written
CHOICE_OPTIONS = ("complaint|Make a complaint", "request|Deal with it as a request")  # the chat's buttons for 1.3


@dataclass(frozen=True)
class Form:
    """What a letter needs to know of the channel it goes by. Each channel declares its own nature
    (intake/channel.py); bot's channel registry hands the forms here as it is imported, so workflow
    learns of channels from that one place and never from a list of names of its own."""

    chat: bool = False  # short messages in a conversation; False: a whole letter with a subject
    buttons: bool = False  # the channel shows the choices as buttons; False: it adds them in words


LETTER = Form()
_FORMS: dict[str, Form] = {}


def register_forms(forms: Mapping[str, Form]) -> None:
    _FORMS.update(forms)


def form_of(channel: str) -> Form:
    """A channel nobody registered (a record from a channel since removed) is written to as a letter."""
    return _FORMS.get(channel, LETTER)


def channels() -> tuple[str, ...]:
    """The channels residents write from, in the order registered."""
    return tuple(_FORMS)


def residents_words(session: Session, case: Case) -> str:
    """The resident's first words on this case, as they wrote them: a draft definition (5.6), without
    the quoted thread, the greeting, the signature or their address (workflow/definitions.py)."""
    first = session.scalar(select(Message).where(Message.case_id == case.id,
                                                 Message.direction == Direction.INBOUND.value,
                                                 Message.automatic.is_(False))
                           .order_by(Message.received_at, Message.id))
    text = draft_definition((first.new_text or first.body_text or "") if first is not None else "")
    if not text:
        return SPOKEN
    return text if len(text) <= DEFINITION_CHARS else text[:DEFINITION_CHARS].rsplit(" ", 1)[0] + " ..."


def own_words(session: Session, case: Case, definition: str) -> bool:
    """Whether a definition is the resident's words as drafted: only then may a letter say so."""
    if definition == SPOKEN:
        return False
    return " ".join(definition.split()) == " ".join(residents_words(session, case).split())


def following(session: Session, case: Case | None) -> list[dict[str, str | None]]:
    """The adjustments a letter follows (5.10): those agreed with the resident and in force, then
    those asked for on this case that are not yet agreed; one of each kind."""
    if case is None:
        return []
    chosen: dict[str, dict[str, str | None]] = {}
    if case.resident_id is not None:
        agreed = session.scalars(select(Adjustment).where(Adjustment.resident_id == case.resident_id,
                                                          Adjustment.ended_at.is_(None)).order_by(Adjustment.id))
        for row in agreed:
            chosen.setdefault(row.kind, {"kind": row.kind, "detail": row.detail})
    for asked in case.adjustments_asked or []:
        chosen.setdefault(asked["kind"], {"kind": asked["kind"], "detail": asked.get("detail")})
    return list(chosen.values())


def ombudsman_told(session: Session, case: Case | None, channel: str, address: str) -> bool:
    """In chat the Ombudsman's line goes once a conversation (the case's, or the address's when
    there is no case yet): whether an earlier message there has carried it."""
    if not form_of(channel).chat:
        return False
    if case is None or case.id is None:
        query = select(OutboxItem.id).where(OutboxItem.channel == channel, OutboxItem.address == address)
    else:
        query = select(Message.id).where(Message.case_id == case.id, Message.direction == Direction.OUTBOUND.value,
                                         Message.channel == channel)
    return session.scalar(query.limit(1)) is not None


def letter_values(session: Session, case: Case | None, channel: str, address: str) -> dict[str, object]:
    """What every letter to this resident in this channel is given besides its own values."""
    form = form_of(channel)
    return {"reference": case.reference if case is not None else "", "chat": form.chat, "buttons": form.buttons,
            "ombudsman_told": ombudsman_told(session, case, channel, address), "adjustments": following(session, case)}


def write_to_resident(session: Session, letters: Letters, case: Case, letter: str, at: dt.datetime, subject: str,
                      automatic: bool = True, options: Sequence[str] = (), **values: object) -> int | None:
    """Render a letter for the channel the resident last wrote from, threaded to that message, and
    queue it; its message's id, or None when the resident has only spoken to us (the advisor sends
    it by post or phone)."""
    last = session.scalar(select(Message).where(Message.case_id == case.id,
                                                Message.direction == Direction.INBOUND.value,
                                                Message.sender.is_not(None), Message.quiet.is_(False))
                          .order_by(Message.received_at.desc(), Message.id.desc()))
    if last is None or last.sender is None:
        return None
    text = letters.render(letter, **{**letter_values(session, case, last.channel, last.sender), **values})
    chat = form_of(last.channel).chat
    return outbox.enqueue(session, channel=last.channel, address=last.sender, text=text, at=at, case=case,
                          subject=subject if chat else outbox.reply_subject(last.subject, subject),
                          in_reply_to=last.external_id, references=list(last.references),
                          automatic=automatic, options=options)
