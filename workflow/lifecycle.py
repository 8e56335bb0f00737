"""The complaint lifecycle as one explicit state machine (Code sections 5 and 6).

Every event checks the transition table and its own inputs before it changes anything, so an
illegal request raises a DomainError and leaves the case exactly as it was. Deadlines are
computed from the dates stored on the case, never from the clock on the wall, so recomputing
them later gives the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import WorkingCalendar, london_date
from workflow.errors import DomainError, IllegalTransition
from workflow.models import Case, ComplaintStage, Extension, OutstandingAction
from workflow.vocabulary import ComplaintStatus as S
from workflow.vocabulary import Kind, Outcome, RefusalReason, Remedy


class Event(StrEnum):
    OFFER_CHOICE = "offer_choice"
    LOG_STAGE1 = "log_stage1"
    DECLINE = "decline"
    ACKNOWLEDGE_STAGE1 = "acknowledge_stage1"
    EXTEND_STAGE1 = "extend_stage1"
    RESPOND_STAGE1 = "respond_stage1"
    REQUEST_ESCALATION = "request_escalation"
    ACKNOWLEDGE_STAGE2 = "acknowledge_stage2"
    EXTEND_STAGE2 = "extend_stage2"
    RESPOND_STAGE2 = "respond_stage2"
    CLOSE = "close"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


# States in which the landlord still owes the resident a decision: a complaint can be
# refused or withdrawn here. After a response the case closes instead (or escalates).
AWAITING_LANDLORD = frozenset(
    {S.RECEIVED, S.CHOICE_OFFERED, S.STAGE1_LOGGED, S.STAGE1_ACKNOWLEDGED, S.ESCALATION_REQUESTED, S.STAGE2_ACKNOWLEDGED}
)
FINAL = frozenset({S.DECLINED, S.CLOSED, S.REFUSED, S.WITHDRAWN})

TRANSITIONS: dict[Event, tuple[frozenset[S], S]] = {
    Event.OFFER_CHOICE: (frozenset({S.RECEIVED}), S.CHOICE_OFFERED),
    Event.LOG_STAGE1: (frozenset({S.RECEIVED, S.CHOICE_OFFERED}), S.STAGE1_LOGGED),
    Event.DECLINE: (frozenset({S.CHOICE_OFFERED}), S.DECLINED),
    Event.ACKNOWLEDGE_STAGE1: (frozenset({S.STAGE1_LOGGED}), S.STAGE1_ACKNOWLEDGED),
    Event.EXTEND_STAGE1: (frozenset({S.STAGE1_ACKNOWLEDGED}), S.STAGE1_ACKNOWLEDGED),
    Event.RESPOND_STAGE1: (frozenset({S.STAGE1_ACKNOWLEDGED}), S.STAGE1_RESPONDED),
    Event.REQUEST_ESCALATION: (frozenset({S.STAGE1_RESPONDED}), S.ESCALATION_REQUESTED),
    Event.ACKNOWLEDGE_STAGE2: (frozenset({S.ESCALATION_REQUESTED}), S.STAGE2_ACKNOWLEDGED),
    Event.EXTEND_STAGE2: (frozenset({S.STAGE2_ACKNOWLEDGED}), S.STAGE2_ACKNOWLEDGED),
    Event.RESPOND_STAGE2: (frozenset({S.STAGE2_ACKNOWLEDGED}), S.STAGE2_RESPONDED),
    Event.CLOSE: (frozenset({S.STAGE1_RESPONDED, S.STAGE2_RESPONDED}), S.CLOSED),
    Event.REFUSE: (AWAITING_LANDLORD, S.REFUSED),
    Event.WITHDRAW: (AWAITING_LANDLORD, S.WITHDRAWN),
}

ACKNOWLEDGE_WITHIN = 5  # working days: 6.2 and 6.11
RESPOND_WITHIN = {1: 10, 2: 20}  # working days after the acknowledgement: 6.3 and 6.14
EXTENSION_BOUND = {1: 10, 2: 20}  # without a good reason: 6.4 and 6.15


def target(status: str, event: Event) -> S:
    """The state an event leads to from status, or IllegalTransition naming what is allowed."""
    sources, to = TRANSITIONS[event]
    if status not in sources:
        allowed = sorted(e.value for e, (src, _) in TRANSITIONS.items() if status in src)
        raise IllegalTransition(
            f"cannot {event.value.replace('_', ' ')} a complaint that is {status.replace('_', ' ')}; "
            f"allowed now: {', '.join(allowed) or 'nothing (the case has ended)'}"
        )
    return to


@dataclass(frozen=True)
class ActionPlan:
    """An action promised in a response, tracked after it (6.6, 6.17)."""

    description: str
    due_on: dt.date | None = None


def _required(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(f"{what} is required")
    return text


class ComplaintLifecycle:
    """Moves complaints through the Code's two stages and keeps their clocks."""

    def __init__(self, session: Session, calendar: WorkingCalendar) -> None:
        self.session = session
        self.calendar = calendar

    def _check(self, case: Case, event: Event) -> S:
        if case.kind != Kind.COMPLAINT:
            raise DomainError(f"{case.reference} is a {case.kind.replace('_', ' ')}, not a complaint")
        return target(case.status, event)

    def _move(self, case: Case, to: S, event: Event, actor: str, at: dt.datetime, **detail: object) -> None:
        previous = case.status
        case.status = to
        if to in FINAL:
            case.ended_on = london_date(at)
        audit.record(self.session, event.value, actor, at, case=case, previous=previous, status=to.value, **detail)

    def offer_choice(self, case: Case, at: dt.datetime, actor: str) -> None:
        """Code 1.3: the resident sounded unhappy and was given the choice to complain."""
        to = self._check(case, Event.OFFER_CHOICE)
        case.choice_offered_at = at
        self._move(case, to, Event.OFFER_CHOICE, actor, at)

    def log_stage1(self, case: Case, received_at: dt.datetime, at: dt.datetime, actor: str) -> ComplaintStage:
        """Log a complaint at stage 1; the acknowledgement is due 5 working days after receipt (6.2).

        received_at is when the complaint was made: the message that stated it, or for a
        resident who was offered the choice, the message that expressed the dissatisfaction. A
        received time later than `at` (two hosts' clocks a second apart, an import replayed with
        `tick --now`) is taken as `at`: the earlier of the two, so no deadline is later than the Code's.
        """
        to = self._check(case, Event.LOG_STAGE1)
        received_on = london_date(min(received_at, at))
        if case.status == S.CHOICE_OFFERED:
            case.choice_answer, case.choice_answered_at = "complaint", at
        case.received_on = received_on
        stage = ComplaintStage(
            number=1, requested_on=received_on, acknowledgement_due=self.calendar.add(received_on, ACKNOWLEDGE_WITHIN)
        )
        case.stages.append(stage)
        self._move(case, to, Event.LOG_STAGE1, actor, at, acknowledgement_due=stage.acknowledgement_due)
        return stage

    def decline(self, case: Case, at: dt.datetime, actor: str) -> None:
        """The resident chose to have the problem dealt with as a request, not a complaint."""
        to = self._check(case, Event.DECLINE)
        case.choice_answer, case.choice_answered_at = "request", at
        self._move(case, to, Event.DECLINE, actor, at)

    def acknowledge(
        self,
        case: Case,
        at: dt.datetime,
        actor: str,
        *,
        handler_id: int | None,
        definition: str,
        outcomes_sought: str,
        responsible_for: str,
        not_responsible_for: str = "",
    ) -> ComplaintStage:
        """Acknowledge, define and log (5.6, 5.7, 6.2, 6.11); starts the response clock (6.3, 6.14)."""
        event = Event.ACKNOWLEDGE_STAGE2 if case.status == S.ESCALATION_REQUESTED else Event.ACKNOWLEDGE_STAGE1
        to = self._check(case, event)
        stage = self._current_stage(case)
        definition = _required(definition, "the complaint definition (Code 5.6)")
        outcomes_sought = _required(outcomes_sought, "the outcomes the resident wants (Code 5.6)")
        responsible_for = _required(responsible_for, "what the landlord is responsible for (Code 5.7)")
        self._check_handler(case, stage, handler_id)
        acknowledged_on = london_date(at)
        if acknowledged_on < stage.requested_on:
            raise DomainError("an acknowledgement cannot be dated before the complaint was received")
        stage.acknowledged_on = acknowledged_on
        stage.handler_id = handler_id
        stage.definition, stage.outcomes_sought = definition, outcomes_sought
        stage.responsible_for, stage.not_responsible_for = responsible_for, not_responsible_for.strip()
        stage.response_due = self.calendar.add(acknowledged_on, RESPOND_WITHIN[stage.number])
        self._move(case, to, event, actor, at, stage=stage.number, handler_id=handler_id, response_due=stage.response_due)
        return stage

    def extend(
        self,
        case: Case,
        at: dt.datetime,
        actor: str,
        *,
        days: int,
        reason: str,
        ombudsman_details: str,
        good_reason: str | None = None,
    ) -> Extension:
        """Extend the response deadline (6.4, 6.5, 6.15, 6.16).

        The reason is always explained to the resident with the Ombudsman's details; going past
        10 (stage 1) or 20 (stage 2) working days in all needs a good reason on record.
        """
        event = Event.EXTEND_STAGE2 if case.status == S.STAGE2_ACKNOWLEDGED else Event.EXTEND_STAGE1
        to = self._check(case, event)
        stage = self._current_stage(case)
        if days < 1:
            raise DomainError("an extension is at least 1 working day")
        reason = _required(reason, "the reason for the extension (Code 6.5, 6.16)")
        ombudsman_details = _required(ombudsman_details, "the Ombudsman's contact details given to the resident")
        bound = EXTENSION_BOUND[stage.number]
        total = stage.extension_days + days
        if total > bound and not (good_reason or "").strip():
            raise DomainError(
                f"extensions at stage {stage.number} may total {bound} working days; {total} needs a good reason recorded"
            )
        assert stage.response_due is not None
        extension = Extension(
            agreed_on=london_date(at),
            days=days,
            reason=reason,
            good_reason=(good_reason or "").strip() or None,
            ombudsman_details=ombudsman_details,
            previous_due=stage.response_due,
            new_due=self.calendar.add(stage.response_due, days),
        )
        stage.extensions.append(extension)
        stage.response_due = extension.new_due
        self._move(case, to, event, actor, at, stage=stage.number, days=days, response_due=extension.new_due)
        return extension

    def respond(
        self,
        case: Case,
        at: dt.datetime,
        actor: str,
        *,
        outcome: Outcome | str,
        decision: str,
        reasons: str,
        remedies: Iterable[Remedy | str] = (),
        remedy_detail: str = "",
        actions: Sequence[ActionPlan] = (),
        handler_id: int | None = None,
    ) -> ComplaintStage:
        """The stage 1 response (6.9) or the stage 2 final response (6.19)."""
        event = Event.RESPOND_STAGE2 if case.status == S.STAGE2_ACKNOWLEDGED else Event.RESPOND_STAGE1
        to = self._check(case, event)
        stage = self._current_stage(case)
        outcome = Outcome(outcome)
        if outcome == Outcome.WITHDRAWN:
            raise DomainError("a withdrawn complaint is withdrawn, not answered")
        decision = _required(decision, "the decision")
        reasons = _required(reasons, "the reasons for the decision")
        chosen = [Remedy(r).value for r in remedies]
        if chosen and not remedy_detail.strip():
            raise DomainError("a remedy needs its detail (what will be done or paid)")
        for plan in actions:
            _required(plan.description, "an outstanding action's description")
        if handler_id is not None:
            self._check_handler(case, stage, handler_id)
            stage.handler_id = handler_id
        responded_on = london_date(at)
        assert stage.acknowledged_on is not None
        if responded_on < stage.acknowledged_on:
            raise DomainError("a response cannot be dated before the acknowledgement")
        stage.responded_on, stage.outcome = responded_on, outcome.value
        stage.decision, stage.reasons = decision, reasons
        stage.remedies, stage.remedy_detail = chosen, remedy_detail.strip() or None
        for plan in actions:
            case.actions.append(
                OutstandingAction(stage_number=stage.number, description=plan.description.strip(), due_on=plan.due_on)
            )
        on_time = stage.response_due is not None and responded_on <= stage.response_due
        self._move(case, to, event, actor, at, stage=stage.number, outcome=outcome.value, on_time=on_time)
        return stage

    def request_escalation(self, case: Case, at: dt.datetime, actor: str) -> ComplaintStage:
        """Stage 2 on the resident's word alone: no reason is asked for or needed (6.12)."""
        to = self._check(case, Event.REQUEST_ESCALATION)
        requested_on = london_date(at)
        stage = ComplaintStage(
            number=2, requested_on=requested_on, acknowledgement_due=self.calendar.add(requested_on, ACKNOWLEDGE_WITHIN)
        )
        case.stages.append(stage)
        self._move(case, to, Event.REQUEST_ESCALATION, actor, at, acknowledgement_due=stage.acknowledgement_due)
        first = case.stage_record(1)
        if case.owner_id is not None and first is not None and case.owner_id == first.handler_id:
            case.owner_id = None  # 6.13: stage 2 goes to someone else; a supervisor assigns it
            audit.record(self.session, "unassigned", actor, at, case=case, reason="Code 6.13")
        return stage

    def agree_updates(self, case: Case, at: dt.datetime, actor: str, *, every_working_days: int) -> ComplaintStage:
        """5.9: a response will be late, so updates are agreed with the resident at this interval."""
        stage = self._current_stage(case)
        if case.status not in AWAITING_LANDLORD or stage.responded_on is not None:
            raise DomainError(f"{case.reference} is not waiting for a response")
        if not 1 <= every_working_days <= 20:
            raise DomainError("an update interval is between 1 and 20 working days")
        stage.update_every_days = every_working_days
        stage.next_update_on = self.calendar.add(london_date(at), every_working_days)
        audit.record(self.session, "updates_agreed", actor, at, case=case, every_working_days=every_working_days,
                     next_update_on=stage.next_update_on)
        return stage

    def close(self, case: Case, at: dt.datetime, actor: str) -> None:
        to = self._check(case, Event.CLOSE)
        self._move(case, to, Event.CLOSE, actor, at)

    def refuse(self, case: Case, at: dt.datetime, actor: str, *, reason: RefusalReason | str, explanation: str) -> None:
        """Refuse under section 2: the reason and the evidence go on the record and into the letter (2.4)."""
        to = self._check(case, Event.REFUSE)
        reason = RefusalReason(reason)
        explanation = _required(explanation, "the explanation and evidence for refusing (Code 2.4)")
        case.refusal_reason, case.refusal_explanation = reason.value, explanation
        self._move(case, to, Event.REFUSE, actor, at, reason=reason.value)

    def withdraw(self, case: Case, at: dt.datetime, actor: str, *, note: str) -> None:
        to = self._check(case, Event.WITHDRAW)
        note = _required(note, "how and why the complaint was withdrawn")
        stage = case.stage_record(case.stage) if case.stage else None
        if stage is not None:
            stage.outcome = Outcome.WITHDRAWN.value
        case.withdrawal_note = note
        self._move(case, to, Event.WITHDRAW, actor, at)

    def complete_action(self, action: OutstandingAction, at: dt.datetime, actor: str) -> None:
        if action.done_on is not None:
            raise DomainError("that action is already recorded as done")
        action.done_on = london_date(at)
        audit.record(self.session, "action_done", actor, at, case=action.case, action_id=action.id)

    @staticmethod
    def _current_stage(case: Case) -> ComplaintStage:
        stage = case.stage_record(case.stage)
        if stage is None:
            raise DomainError(f"{case.reference} has not been logged as a complaint")
        return stage

    @staticmethod
    def _check_handler(case: Case, stage: ComplaintStage, handler_id: int | None) -> None:
        """6.13: whoever handled stage 1 never handles stage 2."""
        if stage.number != 2 or handler_id is None:
            return
        first = case.stage_record(1)
        if first is not None and first.handler_id == handler_id:
            raise DomainError("the stage 2 handler must not be the person who handled stage 1 (Code 6.13)")
