"""What the resident told us in answer to the bot's questions, recorded on the case by the Code's rules.

The conversation (bot/conversation.py) reads the words and decides which question they answer;
the changes to cases, stages and the audit are made here, once, so any other caller (a person
recording an answer given by phone) makes them the same way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from workflow import audit, cases, corrections
from workflow.calendar import WorkingCalendar
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Case
from workflow.vocabulary import ChoiceAnswer, Kind


def offered(session: Session, calendar: WorkingCalendar, case: Case, at: dt.datetime, actor: str) -> None:
    """1.3: the resident sounded unhappy and was given the choice, recorded with when it was given;
    on a complaint case that is a step in its lifecycle."""
    if case.kind == Kind.COMPLAINT:
        ComplaintLifecycle(session, calendar).offer_choice(case, at, actor)
    else:
        case.choice_offered_at = at
        audit.record(session, "offer_choice", actor, at, case=case)


def chose_complaint(session: Session, calendar: WorkingCalendar, case: Case, at: dt.datetime,
                    actor: str) -> tuple[Case, str | None]:
    """1.3, 1.5: the resident chose a formal complaint. The complaint is logged at stage 1 from when
    they first said they were unhappy, not from their answer. About a service request, the request
    goes on being worked and a linked complaint is opened (its reference returned too); an enquiry,
    compliment or feedback becomes the complaint, one issue under one reference."""
    lifecycle = ComplaintLifecycle(session, calendar)
    received_at = corrections.first_received(session, case)
    request_reference = None
    if case.kind == Kind.COMPLAINT:
        complaint = case
        lifecycle.log_stage1(complaint, received_at, at, actor)
    elif case.kind == Kind.SERVICE_REQUEST:
        case.choice_answer, case.choice_answered_at = ChoiceAnswer.COMPLAINT.value, at
        complaint = cases.raise_complaint_about_request(session, case, at, actor)
        complaint.hazard, complaint.hazard_due_at, complaint.language = case.hazard, case.hazard_due_at, case.language
        request_reference = case.reference
        lifecycle.log_stage1(complaint, received_at, at, actor)
    else:
        corrections.become(session, calendar, case, Kind.COMPLAINT, actor, at, asked_to_complain=True,
                           reason="the resident chose to complain")
        complaint = case
    complaint.choice_answer, complaint.choice_answered_at = ChoiceAnswer.COMPLAINT.value, at
    return complaint, request_reference


def chose_request(session: Session, calendar: WorkingCalendar, case: Case, at: dt.datetime, actor: str) -> Case:
    """1.5: the resident wants the problem sorted, not a complaint. A complaint case goes on as a
    request under the reference they were given."""
    if case.kind == Kind.COMPLAINT:
        ComplaintLifecycle(session, calendar).decline(case, at, actor)
        corrections.become(session, calendar, case, Kind.SERVICE_REQUEST, actor, at, reason="resident chose a request")
    else:
        case.choice_answer, case.choice_answered_at = ChoiceAnswer.REQUEST.value, at
        audit.record(session, "decline", actor, at, case=case)
    return case


def outcome_sought(session: Session, case: Case, words: str, at: dt.datetime, actor: str, message_id: int) -> None:
    """5.6: what the resident says would put it right, on the stage it is about."""
    stage = case.stage_record(case.stage)
    if stage is not None:
        stage.outcomes_sought = words.strip()
    audit.record(session, "outcome_sought_recorded", actor, at, case=case, message_id=message_id)


def adjustments_asked(session: Session, case: Case, words: str, kinds: list[dict[str, str | None]],
                      at: dt.datetime, actor: str, message_id: int) -> None:
    """5.10: the help or format they asked for, in their words and as the kinds letters follow
    until a person agrees them."""
    case.adjustments_requested = words.strip()
    case.adjustments_asked = kinds
    audit.record(session, "adjustments_requested", actor, at, case=case, message_id=message_id,
                 kinds=[kind["kind"] for kind in kinds])
