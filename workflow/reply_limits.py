"""How many automatic replies the bot may send, to whom, and when a conversation is a loop.

A probe got 300 replies by writing from `victim+1@` to `victim+300@` (the old limit was per exact
address), 6 more for every burst a minute apart, and kept a loop going with an auto-responder that
ignores RFC 3834 at 4 round trips a minute. So the limits count by mailbox (plus-tags and case
folded) and by sender domain, over a minute and an hour; an email gets the same letter on the same
case at most once in a window (RFC 3834 5: "not more than once ... within a period of time"); and
a thread that has had more letters in an hour than a person writes is a loop: the bot stops
answering it and puts the message in front of staff. A message held back is always kept, classified and on its
case; only the bot's reply is not sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from workflow.models import AutomaticReply, Message
from workflow.vocabulary import Direction

LOOP = ("Not answered, a reply loop: more than {n} letters on this thread in an hour, so the bot stopped answering "
        "it. Often an auto-responder that does not mark its mail as automatic. Answer by hand if a person wrote.")
SAME_LETTER = ("Not answered: the bot sent this address the same letter on this case less than {hours} hours ago, "
               "and sends it once (RFC 3834). Answer by hand if a person wrote; set it aside if an auto-responder did.")
KEPT = dt.timedelta(days=7)  # longer than any window below; the scheduler forgets older rows
# Letters that ask the resident something: asked again when the answer was unclear, never held as a repeat.
QUESTIONS = frozenset({"choice", "choice_unclear", "adjustments_question"})


@dataclass(frozen=True)
class ReplyLimits:
    per_minute: int = 6  # to one mailbox
    per_hour: int = 20  # to one mailbox: bursts a minute apart
    per_domain_hour: int = 1000  # to one email domain: many mailboxes at a domain someone wants flooded
    same_letter: dt.timedelta = dt.timedelta(hours=24)  # email: the same letter on the same case, once
    loop_letters: int = 5  # email: letters on one case answered in an hour; the next is a loop, shown to staff


@dataclass(frozen=True)
class Hold:
    rule: str  # per_minute, per_hour, per_domain_hour, same_letter, loop
    for_staff: str | None = None  # the thread is put in front of staff with this reason, not only the reply held

    # A flood's held replies are counted in the audit only: putting each in front of staff would let
    # a flood bury the page. A thread left unanswered is shown: a person may be waiting on it.


def mailbox(channel: str, address: str) -> tuple[str, str | None]:
    """(mailbox, domain): `Victim+2@Example.org` is the mailbox `victim@example.org` at `example.org`.
    Chat ids are their own mailbox and have no domain."""
    address = address.strip()
    if channel != "email" or "@" not in address:
        return address, None
    local, _, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    return f"{local.split('+', 1)[0].lower()}@{domain}", domain


def _count(session: Session, query: object, **values: object) -> int:
    return session.connection().execute(query, values).scalar() or 0  # type: ignore[call-overload]


_TO_MAILBOX = select(func.count(AutomaticReply.id)).where(AutomaticReply.mailbox == bindparam("mailbox"),
                                                          AutomaticReply.at >= bindparam("since"))
_TO_DOMAIN = select(func.count(AutomaticReply.id)).where(AutomaticReply.domain == bindparam("domain"),
                                                         AutomaticReply.at >= bindparam("since"))
_SAME_LETTER = select(func.count(AutomaticReply.id)).where(
    AutomaticReply.mailbox == bindparam("mailbox"), AutomaticReply.letter == bindparam("letter"),
    AutomaticReply.case_id == bindparam("case"), AutomaticReply.at >= bindparam("since"))
_ON_CASE = select(func.count(Message.id)).where(  # letters before this one, not replies: a held reply still counts
    Message.case_id == bindparam("case"), Message.direction == Direction.INBOUND.value, Message.channel == "email",
    Message.received_at >= bindparam("since"), Message.id != bindparam("message"))
_RECORD = insert(AutomaticReply)


def hold(session: Session, limits: ReplyLimits, channel: str, address: str, case_id: int | None, letter: str,
         at: dt.datetime, message_id: int) -> Hold | None:
    """Why this automatic reply to message `message_id` must not be sent now, or None. Plain SQL
    through indexes: asked before every reply."""
    box, domain = mailbox(channel, address)
    hour = at - dt.timedelta(hours=1)
    if channel == "email" and case_id is not None and _count(session, _ON_CASE, case=case_id, since=hour,
                                                             message=message_id) >= limits.loop_letters:
        return Hold("loop", LOOP.format(n=limits.loop_letters))
    if _count(session, _TO_MAILBOX, mailbox=box, since=at - dt.timedelta(minutes=1)) >= limits.per_minute:
        return Hold("per_minute")
    if _count(session, _TO_MAILBOX, mailbox=box, since=hour) >= limits.per_hour:
        return Hold("per_hour")
    if domain is not None and _count(session, _TO_DOMAIN, domain=domain, since=hour) >= limits.per_domain_hour:
        return Hold("per_domain_hour")
    if channel == "email" and case_id is not None and letter not in QUESTIONS and _count(
            session, _SAME_LETTER, mailbox=box, letter=letter, case=case_id, since=at - limits.same_letter):
        return Hold("same_letter", SAME_LETTER.format(hours=f"{limits.same_letter.total_seconds() / 3600:g}"))
    return None


def record(session: Session, channel: str, address: str, case_id: int | None, letter: str, at: dt.datetime) -> None:
    box, domain = mailbox(channel, address)
    session.connection().execute(_RECORD, {"at": at, "channel": channel, "mailbox": box, "domain": domain,
                                           "case_id": case_id, "letter": letter})


def forget(session: Session, at: dt.datetime) -> int:
    """Remove rows older than any window: they hold residents' addresses and are needed for nothing else."""
    return session.execute(delete(AutomaticReply).where(AutomaticReply.at < at - KEPT)).rowcount or 0
