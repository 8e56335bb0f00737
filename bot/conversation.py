"""The conversation with the resident, the same on every channel (DESIGN.md steps 2-4).

A stored inbound message is handled once: it is matched to a case or opens one, classified,
and answered through the outbox in the same transaction, so the record, the case's state and
the reply are committed together or not at all. What the bot asked last is kept on the case
(`awaiting`), so the resident's next message is read as the answer to it.

Rules, with the Code's provisions:
- 1.3: a resident who sounds unhappy is offered the choice to complain; a stated complaint or
  escalation needs no question; a representative's complaint is a complaint like any other.
- 1.5: choosing a complaint about a service request opens a linked complaint and the request
  goes on; choosing a request for a complaint-like message opens the request.
- 1.6: a survey reply gets the how-to-complain signpost, not the choice.
- 5.6, 5.10: after logging, ask what outcome the resident wants, then whether they need any
  adjustment or another language.
- 5.14: under a contact restriction the message is recorded and routed as the restriction says.
- 6.8: a related issue before the stage 1 response joins the complaint; after it, or when
  unrelated, it is a new case.
- 6.12: an unhappy reply to a stage 1 response escalates to stage 2 without asking why.
- RFC 3834: automatic replies and bounces are recorded and never answered; replies are limited
  by mailbox and domain, the same letter goes once a window, and a loop is stopped and shown to
  staff (workflow/reply_limits.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import bot.channels  # noqa: F401 - the registry tells workflow each channel's letter form (form_of)
from bot.answers import answers_question, asks_how_to_complain, read_adjustments, read_choice, says_nothing_needed
from classifier.model import TriageModel
from classifier.suggestion import Suggestion
from intake.email import authentication
from workflow import attention, audit, cases, choices, outbox, reply_limits
from workflow.calendar import WorkingCalendar
from workflow.correspondence import CHOICE_OPTIONS, form_of, letter_values
from workflow.hazards import report_hazard
from workflow.inbox import raw_head
from workflow.letters import Letters, long_date
from workflow.lifecycle import FINAL, RESPOND_WITHIN, ComplaintLifecycle
from workflow.models import Case, Classification, ContactRestriction, Message
from workflow.reply_limits import ReplyLimits
from workflow.residents import active_restriction, resident_for
from workflow.threads import find_thread
from workflow.vocabulary import (
    Awaiting,
    ChoiceAnswer,
    ComplaintStatus,
    Direction,
    Kind,
    LinkRelation,
    RequestStatus,
    RestrictionMode,
)

log = logging.getLogger(__name__)

BOT = "bot"
TOGETHER = 20  # messages handled in one transaction on SQLite
NOT_VERIFIED = ("Not handled: the mail gateway could not verify the sender ({summary}), so the From address may "
                "be forged. It changed no case and nobody was answered. If it is genuine, deal with it by hand.")
BEFORE_STAGE1_RESPONSE = frozenset({ComplaintStatus.RECEIVED, ComplaintStatus.CHOICE_OFFERED,
                                    ComplaintStatus.STAGE1_LOGGED, ComplaintStatus.STAGE1_ACKNOWLEDGED})
AT_STAGE2 = frozenset({ComplaintStatus.ESCALATION_REQUESTED, ComplaintStatus.STAGE2_ACKNOWLEDGED})


@dataclass
class Turn:
    """One inbound message being handled, with what the conversation learns about it."""

    session: Session
    message: Message
    at: dt.datetime
    chat: bool
    text: str
    read_ahead: Suggestion | None = None  # the model's reading of text, made before the write lock was taken
    suggestion: Suggestion | None = None  # read_ahead, once the conversation has asked for it


def _database_away(error: OperationalError) -> bool:
    """The server went away (restart, network) or SQLite stayed locked: the message is not at fault.

    Anything else that PostgreSQL calls operational (a program limit hit by this message's data,
    SQLSTATE 54) is the message's own failure and is left for an advisor, so one message cannot
    hold up the queue behind it for ever."""
    if error.connection_invalidated:
        return True
    code = getattr(error.orig, "sqlstate", None)
    if code is not None:
        return code.startswith(("08", "57", "53", "40"))  # connection, shutdown, resources, rollback
    return "locked" in str(error.orig).lower() or "busy" in str(error.orig).lower()


class Conversation:
    def __init__(self, sessions: sessionmaker[Session], model: TriageModel, calendar: WorkingCalendar,
                 letters: Letters, team_for: Callable[[str], str], now: Callable[[], dt.datetime],
                 complete: Callable[[Session, Message], None], limits: ReplyLimits = ReplyLimits(),
                 trusted_authserv_ids: Sequence[str] = ()) -> None:
        self.sessions = sessions
        self.model = model
        self.calendar = calendar
        self.letters = letters
        self.team_for = team_for
        self.now = now
        self.complete = complete  # parses a message that was stored raw
        self.limits = limits
        self.trusted_authserv_ids = list(trusted_authserv_ids)

    # -- the queue of stored, unhandled messages ------------------------------------------------

    def handle_pending(self, limit: int = 100) -> int:
        """Handle stored messages in arrival order; a message that fails is marked and left for an advisor.

        On SQLite, where one worker runs, up to TOGETHER waiting messages share a transaction. They
        are parsed and classified first, before the transaction takes SQLite's one write lock, so
        the SMTP server and the web chat can store in the meantime, and then all share one commit.
        If one fails, the transaction is rolled back and the same messages are handled again one
        per transaction, so only the failing one is marked. A failure of the database itself (its
        server restarted, SQLite's lock held past the busy timeout) marks nothing: the messages
        stay waiting and a later pass handles them. A slower classifier made this matter: a
        message being read when PostgreSQL restarted used to be left for an advisor, unanswered.

        On PostgreSQL each message has a transaction of its own. The pick is `FOR UPDATE SKIP
        LOCKED`, so the row stays locked while this worker handles it and other worker processes
        take the next message instead of queueing behind this one; messages from one sender are
        still handled one at a time, in order (an advisory lock on the sender). Sharing transactions
        there would hold the case reference counter's row lock across them and make the workers
        wait for each other.
        """
        handled = 0
        while handled < limit:
            with self.sessions() as session:
                postgres = session.get_bind().dialect.name == "postgresql"
                messages = list(session.scalars(next_pending(postgres)))[:limit - handled]
                if not messages:
                    break
                handled += len(messages)
                ids = [message.id for message in messages]
                try:
                    self._handle_together(session, messages, postgres)
                except OperationalError as error:
                    session.rollback()
                    if not _database_away(error):
                        self._after_failure(ids, error)
                        continue
                    log.warning("the database failed while messages %s were handled; they wait for the next pass", ids)
                    return handled - len(ids)  # counted as no work: the loop waits its interval, it does not spin
                except Exception as error:  # noqa: BLE001 - one message's failure never stops the others
                    session.rollback()
                    self._after_failure(ids, error)
        return handled

    def _after_failure(self, message_ids: list[int], error: Exception) -> None:
        """A message that failed alone is set aside for staff with the reason ("needs attention").
        Messages that shared a transaction are handled again one per transaction, so only the one
        that fails is set aside; that happens only on SQLite, where one worker runs and no other can
        pick them meanwhile."""
        if len(message_ids) == 1:
            log.error("handling message %d failed; it waits for staff on the needs-attention page",
                      message_ids[0], exc_info=error)
            with self.sessions() as session:
                attention.mark_failed(session, message_ids[0], attention.reason_of(error), BOT, self.now())
                session.commit()
            return
        log.warning("handling %d messages together failed; handling them one at a time", len(message_ids))
        for message_id in message_ids:
            with self.sessions() as session:
                message = session.get_one(Message, message_id)
                if message.handled_at is not None:
                    continue
                try:
                    self._handle_together(session, [message], postgres=False)
                except Exception as alone:  # noqa: BLE001 - as above
                    session.rollback()
                    self._after_failure([message_id], alone)

    def _handle_together(self, session: Session, messages: list[Message], postgres: bool) -> None:
        readings = self._read(session, messages)
        with audit.gathered(session):
            for message in messages:
                self._handle_in(session, message, postgres, readings.get(message.id))
                session.flush()  # the next message's questions (its resident, its thread) see this one's answers
        session.commit()

    def _read(self, session: Session, messages: list[Message]) -> dict[int, Suggestion]:
        """Parse what SMTP stored raw and classify every message's text: the work that writes nothing.

        A message that turns out not to need its reading (an answer to the bot's question, a
        command) costs one classification for nothing; holding the write lock through every
        classification cost more."""
        with session.no_autoflush:
            for message in messages:
                self.complete(session, message)
        texts = {message.id: text for message in messages if (text := _text_of(message)).strip()}
        return dict(zip(texts, self.model.suggest_many(list(texts.values())), strict=True))

    def _handle_in(self, session: Session, message: Message, postgres: bool, reading: Suggestion | None) -> None:
        if postgres and message.sender:
            key = int.from_bytes(hashlib.sha256(f"{message.channel}:{message.sender}".encode()).digest()[:8], "big",
                                 signed=True)
            session.execute(select(func.pg_advisory_xact_lock(key)))
        at = self.now()
        chat = form_of(message.channel).chat
        turn = Turn(session, message, at, chat, _text_of(message), read_ahead=reading)
        with session.no_autoflush:
            self._handle(turn)
        if turn.suggestion is not None:  # written last, once the message's case is known: one plain INSERT
            session.connection().execute(_CLASSIFIED, _classification(turn.suggestion, message, at))
        message.handled_at = at

    # -- the decisions ----------------------------------------------------------------------------

    def _handle(self, turn: Turn) -> None:
        message, session = turn.message, turn.session
        if not message.sender:
            audit.record(session, "message_without_sender", BOT, turn.at, message_id=message.id)
            self._classify(turn)
            return
        head = raw_head(session, message, authentication.HEADER_CHARS) if message.channel == "email" else None
        if head is not None and not message.automatic:
            checked = authentication.verdict(head, self.trusted_authserv_ids)
            if checked.forged:  # stored and shown to staff; it touches no resident's case and gets no reply
                self._classify(turn)
                attention.mark_failed(session, message.id, NOT_VERIFIED.format(summary=checked.summary()), BOT,
                                      turn.at, event="sender_not_verified", checked=checked.summary())
                return
        resident_id = resident_for(session, message.channel, message.sender, turn.at)
        message.resident_id = resident_id
        if turn.chat and turn.text.startswith("/") and not message.automatic:
            self._command(turn, resident_id)
            return
        thread = find_thread(session, message, resident_id, chat=turn.chat)
        case = thread.case if thread is not None else None
        if message.automatic:  # RFC 3834: keep it with its case, never answer it
            message.case_id = case.id if case is not None else None
            audit.record(session, "automatic_reply_kept", BOT, turn.at, case=case, message_id=message.id)
            return
        if case is not None and case.awaiting and not message.quiet and answers_question(case.awaiting, turn.text):
            self._answer(turn, case)
            return
        if case is not None and case.awaiting:
            case.awaiting = None  # they wrote about something else: read it as a message of its own
        suggestion = self._classify(turn)
        restriction = active_restriction(session, resident_id, turn.at.date())
        if restriction is not None:
            self._restricted(turn, case, restriction, resident_id)
        elif message.quiet:
            self._attach_or_open(turn, case, resident_id)
        elif suggestion is not None and suggestion.flags.survey and case is None:
            self._survey(turn, resident_id)
        elif case is not None:
            self._continue(turn, case, resident_id)
        else:
            self._new_case(turn, resident_id)

    def _continue(self, turn: Turn, case: Case, resident_id: int) -> None:
        """A message that belongs to a case the resident already has."""
        suggestion, status = turn.suggestion, case.status
        unhappy = suggestion is not None and (suggestion.offer_choice or suggestion.flags.escalation)
        asked_how = asks_how_to_complain(turn.text)
        if case.kind == Kind.COMPLAINT:
            if status == ComplaintStatus.STAGE1_RESPONDED and unhappy:
                self._escalate(turn, case)
            elif status == ComplaintStatus.STAGE2_RESPONDED:
                self._attach(turn, case)
                self._reply(turn, case, "final_response_given")
            elif status in BEFORE_STAGE1_RESPONSE and self._related(turn, case):
                self._attach(turn, case)  # 6.8: part of the same complaint
                audit.record(turn.session, "issue_added", BOT, turn.at, case=case, message_id=turn.message.id)
                self._reply(turn, case, "added_to_case", complaint=status != ComplaintStatus.CHOICE_OFFERED,
                            hazard=self._hazard(turn, case))
            elif status in AT_STAGE2:
                self._attach(turn, case)
                self._reply(turn, case, "added_to_case", complaint=True, hazard=self._hazard(turn, case))
            else:  # ended, answered, or a new issue: never merged silently into a closed case (6.8)
                self._new_case(turn, resident_id, related=case)
            return
        if status == RequestStatus.DONE and case.kind == Kind.SERVICE_REQUEST and _says_not_done(turn.text):
            cases.set_request_status(turn.session, case, RequestStatus.OPEN, turn.at, BOT)  # it is not done: again
            self._attach(turn, case)
            self._reply(turn, case, "added_to_case", complaint=False, hazard=self._hazard(turn, case))
        elif status == RequestStatus.DONE:
            self._new_case(turn, resident_id, related=case)
        elif suggestion is not None and (suggestion.flags.explicit_complaint or _names_complaint(turn.text)):
            if case.choice_offered_at is None:  # they asked before we offered: the offer is their own words
                case.choice_offered_at = turn.at
            self._attach(turn, case)
            self._choice(turn, case)
        elif unhappy or asked_how:
            self._attach(turn, case)  # 1.5: unhappy with how the request is going, or asking how to complain
            self._offer(turn, case, asked_how=asked_how)
        else:
            self._attach(turn, case)
            self._reply(turn, case, "added_to_case", complaint=False, hazard=self._hazard(turn, case))

    def _new_case(self, turn: Turn, resident_id: int, related: Case | None = None) -> None:
        suggestion = turn.suggestion
        session = turn.session
        if suggestion is not None and suggestion.flags.escalation:
            responded = self._responded_complaint(session, resident_id)
            if responded is not None:  # "I want stage 2" with no reference: their answered complaint
                self._escalate(turn, responded)
                return
        asked_how = asks_how_to_complain(turn.text)  # a question about complaining is answered with the choice
        stated = (suggestion is not None and (suggestion.flags.explicit_complaint or suggestion.flags.escalation)
                  and not asked_how)
        kind = Kind.COMPLAINT if stated else Kind(suggestion.kind if suggestion else Kind.ENQUIRY)
        case = self._open(turn, kind, resident_id)
        if related is not None:
            cases.link(session, case, related, LinkRelation.RELATED_ISSUE, turn.at, BOT)
        if stated:
            lifecycle = ComplaintLifecycle(session, self.calendar)
            lifecycle.log_stage1(case, turn.message.received_at, turn.at, BOT)
            case.awaiting = Awaiting.OUTCOME.value
            self._reply(turn, case, "complaint_logged", **self._dates(case), request_reference=None,
                        hazard=case.hazard)
        elif (suggestion is not None and suggestion.offer_choice) or asked_how:
            self._offer(turn, case, asked_how=asked_how)
        else:
            self._reply(turn, case, "receipt", team=case.team or "Our team", language=case.language,
                        hazard=case.hazard)

    def _open(self, turn: Turn, kind: Kind, resident_id: int) -> Case:
        suggestion = turn.suggestion
        theme = suggestion.theme if suggestion is not None else "other"
        representative = None
        if suggestion is not None and suggestion.flags.representative:
            words = "; ".join(suggestion.flags.cues.get("representative", []))
            representative = f"{turn.message.sender} ({words})"
        case = cases.open_case(turn.session, kind, turn.at, BOT, resident_id=resident_id, channel=turn.message.channel,
                               theme=theme, team=self.team_for(theme), representative=representative,
                               language=suggestion.flags.language if suggestion is not None else None)
        if suggestion is not None:
            report_hazard(turn.session, case, suggestion.flags.hazard, turn.message.received_at, self.calendar, BOT)
        self._attach(turn, case)
        return case

    def _offer(self, turn: Turn, case: Case, asked_how: bool) -> None:
        """Code 1.3: the choice, in the resident's channel, recorded with the time it was offered.
        `asked_how`: they asked how to complain, so the letter answers that rather than saying sorry."""
        choices.offered(turn.session, self.calendar, case, turn.at, BOT)
        case.awaiting = Awaiting.CHOICE.value
        self._reply(turn, case, "choice", hazard=case.hazard, asked_how=asked_how, options=CHOICE_OPTIONS)

    # -- the answers to the bot's questions: the table CONVERSATION, below the class, says which step
    # each answer takes and what the case waits for after it ----------------------------------------

    def _answer(self, turn: Turn, case: Case) -> None:
        self._attach(turn, case)
        self._step(turn, case, Awaiting(case.awaiting))

    def _choice(self, turn: Turn, case: Case) -> None:
        """The resident's words read as the answer to the choice (also when they chose before being asked)."""
        self._step(turn, case, Awaiting.CHOICE)

    def _step(self, turn: Turn, case: Case, awaiting: Awaiting) -> None:
        read, steps = CONVERSATION[awaiting]
        step = steps[read(turn.text)]
        case.awaiting = None
        waiting = step.does(self, turn, case)
        waiting.awaiting = step.then.value if step.then is not None else None

    def _log_complaint(self, turn: Turn, case: Case) -> Case:
        complaint, request_reference = choices.chose_complaint(turn.session, self.calendar, case, turn.at, BOT)
        self._reply(turn, complaint, "complaint_logged", **self._dates(complaint),
                    request_reference=request_reference, hazard=complaint.hazard)
        return complaint

    def _take_as_request(self, turn: Turn, case: Case) -> Case:
        request = choices.chose_request(turn.session, self.calendar, case, turn.at, BOT)
        self._reply(turn, request, "request_chosen", team=request.team or "Our team")
        return request

    def _ask_choice_again(self, turn: Turn, case: Case) -> Case:
        self._reply(turn, case, "choice_unclear", options=CHOICE_OPTIONS)
        return case

    def _record_outcome(self, turn: Turn, case: Case) -> Case:
        choices.outcome_sought(turn.session, case, turn.text, turn.at, BOT, turn.message.id)
        self._reply(turn, case, "adjustments_question")
        return case

    def _record_adjustments(self, turn: Turn, case: Case) -> Case:
        choices.adjustments_asked(turn.session, case, turn.text, read_adjustments(turn.text, case.language), turn.at,
                                  BOT, turn.message.id)
        return self._thank(turn, case, asked_help=True)

    def _nothing_needed(self, turn: Turn, case: Case) -> Case:
        return self._thank(turn, case, asked_help=False)

    def _thank(self, turn: Turn, case: Case, asked_help: bool) -> Case:
        stage = case.stage_record(case.stage)
        due = stage.acknowledgement_due if stage is not None else self.calendar.add(turn.at.date(), 5)
        self._reply(turn, case, "thanks", asked_help=asked_help, acknowledgement_due=due)
        return case

    def _escalate(self, turn: Turn, case: Case) -> None:
        """6.12: the resident is unhappy with the stage 1 response; no reasons are asked for."""
        self._attach(turn, case)
        stage = ComplaintLifecycle(turn.session, self.calendar).request_escalation(case, turn.at, BOT)
        self._reply(turn, case, "escalation_logged", acknowledgement_due=stage.acknowledgement_due)

    def _survey(self, turn: Turn, resident_id: int) -> None:
        """1.6: a survey comment is not a complaint, but the reply says how to make one."""
        case = self._open(turn, Kind.FEEDBACK, resident_id)
        self._reply(turn, case, "survey_signpost")

    def _restricted(self, turn: Turn, case: Case | None, restriction: ContactRestriction, resident_id: int) -> None:
        """5.14: recorded and routed, never ignored; the bot asks nothing and says only what was agreed."""
        if case is None or case.status in FINAL or case.status == RequestStatus.DONE:
            kind = Kind(turn.suggestion.kind) if turn.suggestion is not None else Kind.ENQUIRY
            case = self._open(turn, kind, resident_id)
        else:
            self._attach(turn, case)
        audit.record(turn.session, "restriction_applied", BOT, turn.at, case=case, message_id=turn.message.id,
                     mode=restriction.mode)
        if restriction.mode == RestrictionMode.NAMED_CONTACT:
            self._reply(turn, case, "restricted_receipt", contact=restriction.contact, hazard=case.hazard)

    def _attach_or_open(self, turn: Turn, case: Case | None, resident_id: int) -> None:
        """An imported message: recorded on a case for advisors, nobody is written to."""
        if case is not None:
            self._attach(turn, case)
        else:
            kind = Kind(turn.suggestion.kind) if turn.suggestion is not None else Kind.ENQUIRY
            self._open(turn, kind, resident_id)

    def _command(self, turn: Turn, resident_id: int) -> None:
        """Chat commands: /start and /help explain; /status REF shows only the resident's own cases."""
        word, _, rest = turn.text.strip().partition(" ")
        command = word.split("@", 1)[0].lower()
        if command != "/status":
            self._reply(turn, None, "help")
            return
        query = select(Case).where(Case.resident_id == resident_id).order_by(Case.id)
        asked = rest.strip().upper()
        if asked:
            query = query.where(Case.reference == asked)
        else:
            query = query.where(Case.ended_on.is_(None))
        found = [self._describe(case) for case in turn.session.scalars(query)]
        if not asked and not found:
            found = ["You have no open cases with us."]
        self._reply(turn, None, "status", found=found, asked=asked or "that reference")

    def _describe(self, case: Case) -> str:
        """One line a resident can read: what the case is, where it has got to, and the next date."""
        kind = case.kind.replace("_", " ")
        stage = case.stage_record(case.stage)
        if case.kind != Kind.COMPLAINT:
            state = {"open": "we have it", "in_progress": "we are working on it", "done": "finished"}.get(
                case.status, case.status.replace("_", " "))
            return f"{case.reference}: {kind}, {state}."
        if stage is None:
            return f"{case.reference}: {kind}, waiting for your choice." if case.status == "choice_offered" else \
                f"{case.reference}: {kind}, {case.status.replace('_', ' ')}."
        if stage.acknowledged_on is None and case.ended_on is None:
            return (f"{case.reference}: complaint at stage {stage.number}. We will contact you by "
                    f"{long_date(stage.acknowledgement_due)}.")
        if stage.responded_on is None and stage.response_due is not None and case.ended_on is None:
            return (f"{case.reference}: complaint at stage {stage.number}. Our answer is due by "
                    f"{long_date(stage.response_due)}.")
        return f"{case.reference}: complaint, {case.status.replace('_', ' ')}."

    # -- helpers -----------------------------------------------------------------------------------

    def _classify(self, turn: Turn) -> Suggestion | None:
        turn.suggestion = turn.read_ahead  # None only when there is no text to read
        return turn.suggestion

    def _attach(self, turn: Turn, case: Case) -> None:
        turn.message.case_id = case.id
        if turn.suggestion is not None and turn.suggestion.flags.vulnerable:
            case.vulnerable = True  # once flagged, the case keeps its place near the top of the queue

    def _related(self, turn: Turn, case: Case) -> bool:
        """6.8: the same theme, or the resident wrote in the same thread without a clear new topic."""
        suggestion = turn.suggestion
        if suggestion is None or suggestion.theme == case.theme:
            return True
        return suggestion.theme_scores.get(suggestion.theme, 0.0) < 0.6

    def _hazard(self, turn: Turn, case: Case) -> str:
        """A hazard newly reported on an existing case raises the case's hazard, never lowers it."""
        reported = turn.suggestion.flags.hazard if turn.suggestion is not None else "none"
        if report_hazard(turn.session, case, reported, turn.message.received_at, self.calendar, BOT):
            return reported
        return "none"

    def _dates(self, complaint: Case) -> dict[str, Any]:
        stage = complaint.stage_record(complaint.stage)
        assert stage is not None
        latest = self.calendar.add(stage.acknowledgement_due, RESPOND_WITHIN[stage.number])
        return {"acknowledgement_due": stage.acknowledgement_due, "response_due": latest}


    @staticmethod
    def _responded_complaint(session: Session, resident_id: int) -> Case | None:
        return session.scalar(select(Case).where(Case.resident_id == resident_id, Case.kind == Kind.COMPLAINT.value,
                                                 Case.status == ComplaintStatus.STAGE1_RESPONDED.value)
                              .order_by(Case.id.desc()))

    def _reply(self, turn: Turn, case: Case | None, letter: str, options: list[str] | None = None,
               **values: Any) -> None:
        """Queue a reply in the resident's channel, unless the message may not be answered or they are flooding."""
        message, session = turn.message, turn.session
        if message.quiet or not message.sender:
            return
        if case is not None and case.id is None:
            session.flush()  # a case opened by this message: the limits count by its id
        case_id = case.id if case is not None else None
        held = reply_limits.hold(session, self.limits, message.channel, message.sender, case_id, letter, turn.at,
                                 message.id)
        if held is not None:
            audit.record(session, "reply_held_back", BOT, turn.at, case=case, message_id=message.id, letter=letter,
                         rule=held.rule)
            if held.for_staff:  # a person decides whether to answer
                attention.mark_failed(session, message.id, held.for_staff, BOT, turn.at, event="reply_set_aside")
            return
        reply_limits.record(session, message.channel, message.sender, case_id, letter, turn.at)
        text = self.letters.render(letter, **{**letter_values(session, case, message.channel, message.sender),
                                              **values})
        subject = outbox.reply_subject(message.subject, f"Your message to {self.letters.letterhead.landlord_name}")
        outbox.enqueue(session, channel=message.channel, address=message.sender, text=text, at=turn.at, case=case,
                       resident_id=message.resident_id, subject=subject, options=options or [],
                       in_reply_to=message.external_id,
                       references=list(message.references), automatic=True)


@dataclass(frozen=True)
class Step:
    does: Callable[[Conversation, Turn, Case], Case]  # the change and the reply; returns the case asked next
    then: Awaiting | None  # what that case waits for after it; None: nothing


ANY = "any"


def _choice_of(text: str) -> str | None:
    answer = read_choice(text)
    return answer.value if answer is not None else None


def _help_or_nothing(text: str) -> str:
    return "nothing" if says_nothing_needed(text) else "help"


# The conversation, in one place: what a case waits for; how the resident's next words are read as
# its answer; and for each reading, the step taken and what the case waits for after it. The first
# questions are asked where a case begins: `_offer` asks for the CHOICE (1.3), and a complaint the
# resident stated is logged and asked for the OUTCOME (5.6). A message that is not an answer
# (bot/answers.py: answers_question) is read as a message of its own and the question lapses.
CONVERSATION: dict[Awaiting, tuple[Callable[[str], str | None], dict[str | None, Step]]] = {
    Awaiting.CHOICE: (_choice_of, {  # complaint or request (1.3, 1.5)
        ChoiceAnswer.COMPLAINT.value: Step(Conversation._log_complaint, Awaiting.OUTCOME),
        ChoiceAnswer.REQUEST.value: Step(Conversation._take_as_request, None),
        None: Step(Conversation._ask_choice_again, Awaiting.CHOICE),
    }),
    Awaiting.OUTCOME: (lambda _text: ANY, {  # what would put it right (5.6)
        ANY: Step(Conversation._record_outcome, Awaiting.ADJUSTMENTS),
    }),
    Awaiting.ADJUSTMENTS: (_help_or_nothing, {  # any help, format or language (5.10)
        "help": Step(Conversation._record_adjustments, None),
        "nothing": Step(Conversation._nothing_needed, None),
    }),
}


_CLASSIFIED = insert(Classification)
_PENDING = (select(Message).where(Message.direction == Direction.INBOUND.value, Message.handled_at.is_(None))
            .order_by(Message.received_at, Message.id))
_PENDING_TOGETHER = _PENDING.limit(TOGETHER)
_PENDING_LOCKED = _PENDING.limit(1).with_for_update(skip_locked=True)


def next_pending(postgres: bool) -> Select[tuple[Message]]:
    """The oldest stored messages not yet handled (on PostgreSQL the oldest one no other worker holds);
    read through the partial index ix_messages_pending, so a long queue costs no more to pick from than a
    short one. Built once: it is asked for on every pass."""
    return _PENDING_LOCKED if postgres else _PENDING_TOGETHER


def _classification(suggestion: Suggestion, message: Message, at: dt.datetime) -> dict[str, Any]:
    """The classifications row: what the model suggested, kept beside the case to compare with the advisor's view."""
    data = suggestion.to_dict()
    return {"message_id": message.id, "case_id": message.case_id, "model_version": suggestion.model_version,
            "kind": suggestion.kind, "kind_scores": suggestion.kind_scores, "theme": suggestion.theme,
            "theme_scores": suggestion.theme_scores, "offer_choice": suggestion.offer_choice,
            "flags": {**data["flags"], "cues": data["cues"], "language": data["language"], "survey": data["survey"],
                      "representative": data["representative"]},
            "created_at": at}


# "It's still leaking", "the repair hasn't been done", "the mould has come back": the resident says a
# request we called done is not. Narrow on purpose: "hello again, now the door handle..." is a new
# request, and a wrongly reopened one hides it inside an old case.
_NOT_DONE = re.compile(
    r"\b(?:still (?:not|isn'?t|hasn'?t|broken|leaking|dripping|the same|there|happening|no)|"
    r"(?:not|never|hasn'?t been|haven'?t been|wasn'?t|isn'?t|was not|is not|has not been) "
    r"(?:properly )?(?:fixed|done|sorted|repaired|resolved|finished|completed)|"
    r"(?:has|have|it'?s|is) (?:come|came) back|came back)\b", re.IGNORECASE)


def _says_not_done(text: str) -> bool:
    return _NOT_DONE.search(text[:2000]) is not None


def _names_complaint(text: str) -> bool:
    """A short answer such as "COMPLAINT" to a letter that said how to make one."""
    return len(text.split()) <= 12 and read_choice(text) == ChoiceAnswer.COMPLAINT and "complain" in text.lower()


def _text_of(message: Message) -> str:
    """What the resident wrote now: the new text of an email (not the quoted history), with a useful subject."""
    body = (message.new_text or message.body_text or "").strip()
    subject = (message.subject or "").strip()
    if subject and not subject.lower().startswith(("re:", "fw:", "fwd:")) and subject.lower() not in body.lower():
        return f"{subject}\n{body}" if body else subject
    return body

