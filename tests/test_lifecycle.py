"""The complaint lifecycle: every allowed and forbidden transition, the clocks, and the Code's rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.calendar import WorkingCalendar
from workflow.cases import open_case
from workflow.errors import DomainError, IllegalTransition
from workflow.lifecycle import ActionPlan, ComplaintLifecycle
from workflow.models import AuditEvent, Case, User
from workflow.vocabulary import ComplaintStatus as S
from workflow.vocabulary import Kind, Outcome, RefusalReason, Remedy

OMBUDSMAN = "Housing Ombudsman Service, PO Box 1484, Preston PR2 0ET, 0300 111 3000"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)  # a Monday


def day(n: int) -> dt.datetime:
    return START + dt.timedelta(days=n)


@pytest.fixture
def handlers(session: Session) -> tuple[int, int]:
    first, second = User(username="ann", password_hash="x", role="advisor"), User(username="bo", password_hash="x",
                                                                                   role="advisor")
    session.add_all([first, second])
    session.flush()
    return first.id, second.id


@pytest.fixture
def life(session: Session) -> ComplaintLifecycle:
    return ComplaintLifecycle(session, WorkingCalendar())


def acknowledge(life: ComplaintLifecycle, case: Case, at: dt.datetime, handler: int) -> None:
    life.acknowledge(case, at, "advisor", handler_id=handler, definition="Kitchen leak not repaired for six weeks",
                     outcomes_sought="Repair the leak and compensation", responsible_for="The repair and its delay")


def respond(life: ComplaintLifecycle, case: Case, at: dt.datetime) -> None:
    life.respond(case, at, "advisor", outcome=Outcome.PARTLY_UPHELD, decision="Partly upheld",
                 reasons="The repair was late; the cause was outside our control for one week")


# How to reach each state from a new complaint, one step a day.
PATHS: dict[S, list[str]] = {
    S.RECEIVED: [],
    S.CHOICE_OFFERED: ["offer_choice"],
    S.DECLINED: ["offer_choice", "decline"],
    S.STAGE1_LOGGED: ["log_stage1"],
    S.STAGE1_ACKNOWLEDGED: ["log_stage1", "acknowledge"],
    S.STAGE1_RESPONDED: ["log_stage1", "acknowledge", "respond"],
    S.ESCALATION_REQUESTED: ["log_stage1", "acknowledge", "respond", "request_escalation"],
    S.STAGE2_ACKNOWLEDGED: ["log_stage1", "acknowledge", "respond", "request_escalation", "acknowledge"],
    S.STAGE2_RESPONDED: ["log_stage1", "acknowledge", "respond", "request_escalation", "acknowledge", "respond"],
    S.CLOSED: ["log_stage1", "acknowledge", "respond", "close"],
    S.REFUSED: ["log_stage1", "refuse"],
    S.WITHDRAWN: ["log_stage1", "withdraw"],
}

AWAITING = {S.RECEIVED, S.CHOICE_OFFERED, S.STAGE1_LOGGED, S.STAGE1_ACKNOWLEDGED, S.ESCALATION_REQUESTED,
            S.STAGE2_ACKNOWLEDGED}

# The specification, written out: from which states each action is allowed, and where it leads.
EXPECTED: dict[str, dict[S, S]] = {
    "offer_choice": {S.RECEIVED: S.CHOICE_OFFERED},
    "log_stage1": {S.RECEIVED: S.STAGE1_LOGGED, S.CHOICE_OFFERED: S.STAGE1_LOGGED},
    "decline": {S.CHOICE_OFFERED: S.DECLINED},
    "acknowledge": {S.STAGE1_LOGGED: S.STAGE1_ACKNOWLEDGED, S.ESCALATION_REQUESTED: S.STAGE2_ACKNOWLEDGED},
    "extend": {S.STAGE1_ACKNOWLEDGED: S.STAGE1_ACKNOWLEDGED, S.STAGE2_ACKNOWLEDGED: S.STAGE2_ACKNOWLEDGED},
    "respond": {S.STAGE1_ACKNOWLEDGED: S.STAGE1_RESPONDED, S.STAGE2_ACKNOWLEDGED: S.STAGE2_RESPONDED},
    "request_escalation": {S.STAGE1_RESPONDED: S.ESCALATION_REQUESTED},
    "close": {S.STAGE1_RESPONDED: S.CLOSED, S.STAGE2_RESPONDED: S.CLOSED},
    "refuse": {s: S.REFUSED for s in AWAITING},
    "withdraw": {s: S.WITHDRAWN for s in AWAITING},
}


def actions(life: ComplaintLifecycle, handlers: tuple[int, int]) -> dict[str, Callable[[Case, dt.datetime], object]]:
    def ack(case: Case, at: dt.datetime) -> None:
        acknowledge(life, case, at, handlers[1] if case.status == S.ESCALATION_REQUESTED else handlers[0])

    return {
        "offer_choice": lambda c, at: life.offer_choice(c, at, "bot"),
        "log_stage1": lambda c, at: life.log_stage1(c, START, at, "bot"),
        "decline": lambda c, at: life.decline(c, at, "resident"),
        "acknowledge": ack,
        "extend": lambda c, at: life.extend(c, at, "advisor", days=5, reason="Waiting for a surveyor's report",
                                            ombudsman_details=OMBUDSMAN),
        "respond": lambda c, at: respond(life, c, at),
        "request_escalation": lambda c, at: life.request_escalation(c, at, "resident"),
        "close": lambda c, at: life.close(c, at, "advisor"),
        "refuse": lambda c, at: life.refuse(c, at, "advisor", reason=RefusalReason.LEGAL_PROCEEDINGS,
                                            explanation="Claim form issued at county court on 2 Jan 2026"),
        "withdraw": lambda c, at: life.withdraw(c, at, "advisor", note="Resident phoned to withdraw"),
    }


def new_complaint(session: Session) -> Case:
    return open_case(session, Kind.COMPLAINT, START, "bot")


def audit_count(session: Session, case: Case) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case.id)) or 0


def test_every_transition_allowed_and_forbidden(session: Session, life: ComplaintLifecycle,
                                                handlers: tuple[int, int]) -> None:
    do = actions(life, handlers)
    assert set(PATHS) == set(S), "every state is reachable in this test"
    mismatches = []
    for state, path in PATHS.items():
        for name, allowed in EXPECTED.items():
            case = new_complaint(session)
            for step, step_name in enumerate(path, start=1):
                do[step_name](case, day(step))
            session.flush()
            assert case.status == state
            before = (case.status, len(case.stages), audit_count(session, case))
            try:
                do[name](case, day(len(path) + 1))
            except IllegalTransition:
                session.flush()
                if state in allowed:
                    mismatches.append(f"{name} from {state}: refused but should lead to {allowed[state]}")
                if (case.status, len(case.stages), audit_count(session, case)) != before:
                    mismatches.append(f"{name} from {state}: refused but changed the case")
                continue
            if state not in allowed:
                mismatches.append(f"{name} from {state}: allowed but should be refused")
            elif case.status != allowed[state]:
                mismatches.append(f"{name} from {state}: led to {case.status}, expected {allowed[state]}")
    assert not mismatches, "\n".join(mismatches)


def test_deadlines_for_both_stages_follow_the_code(session: Session, life: ComplaintLifecycle,
                                                  handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    received = dt.datetime(2025, 12, 23, 14, 0, tzinfo=dt.UTC)
    stage1 = life.log_stage1(case, received, dt.datetime(2025, 12, 24, 9, tzinfo=dt.UTC), "advisor")
    assert stage1.acknowledgement_due == dt.date(2026, 1, 2)  # CODE.md's example (6.2)
    acknowledge(life, case, dt.datetime(2026, 1, 2, 10, tzinfo=dt.UTC), handlers[0])
    assert stage1.response_due == dt.date(2026, 1, 16)  # 10 working days after acknowledging (6.3)
    respond(life, case, dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC))
    stage2 = life.request_escalation(case, dt.datetime(2026, 1, 19, 10, tzinfo=dt.UTC), "resident")
    assert stage2.acknowledgement_due == dt.date(2026, 1, 26)  # 6.11
    acknowledge(life, case, dt.datetime(2026, 1, 20, 10, tzinfo=dt.UTC), handlers[1])
    assert stage2.response_due == dt.date(2026, 2, 17)  # 20 working days (6.14)
    session.commit()
    session.expire_all()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert [(s.number, s.acknowledgement_due, s.response_due) for s in stored.stages] == [
        (1, dt.date(2026, 1, 2), dt.date(2026, 1, 16)), (2, dt.date(2026, 1, 26), dt.date(2026, 2, 17))]
    assert stored.received_on == dt.date(2025, 12, 23)


def test_choice_answer_is_recorded(session: Session, life: ComplaintLifecycle) -> None:
    accepted, declined = new_complaint(session), new_complaint(session)
    for case in (accepted, declined):
        life.offer_choice(case, day(0), "bot")
    life.log_stage1(accepted, day(0), day(1), "resident")
    life.decline(declined, day(1), "resident")
    assert (accepted.choice_answer, declined.choice_answer) == ("complaint", "request")
    assert accepted.choice_offered_at == day(0) and declined.choice_answered_at == day(1)
    assert declined.ended_on == day(1).date()


def test_stage2_handler_is_never_the_stage1_handler(session: Session, life: ComplaintLifecycle,
                                                     handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(1), handlers[0])
    respond(life, case, day(2))
    life.request_escalation(case, day(3), "resident")
    with pytest.raises(DomainError, match="6.13"):
        acknowledge(life, case, day(4), handlers[0])
    assert case.status == S.ESCALATION_REQUESTED and case.stage_record(2).handler_id is None
    acknowledge(life, case, day(4), handlers[1])
    with pytest.raises(DomainError, match="6.13"):
        life.respond(case, day(5), "advisor", outcome=Outcome.UPHELD, decision="Upheld", reasons="Late repair",
                     handler_id=handlers[0])
    assert case.status == S.STAGE2_ACKNOWLEDGED


def test_escalation_needs_no_reason(session: Session, life: ComplaintLifecycle, handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(1), handlers[0])
    respond(life, case, day(2))
    stage2 = life.request_escalation(case, day(3), "resident")
    assert case.status == S.ESCALATION_REQUESTED and stage2.number == 2 and case.stage == 2


def test_extension_bounds(session: Session, life: ComplaintLifecycle, handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(0), handlers[0])  # Mon 5 Jan -> due Mon 19 Jan
    stage = case.stage_record(1)
    assert stage.response_due == dt.date(2026, 1, 19)
    ext = life.extend(case, day(2), "advisor", days=6, reason="Contractor survey", ombudsman_details=OMBUDSMAN)
    assert (ext.previous_due, ext.new_due) == (dt.date(2026, 1, 19), dt.date(2026, 1, 27))
    life.extend(case, day(3), "advisor", days=4, reason="Report delayed", ombudsman_details=OMBUDSMAN)
    assert stage.extension_days == 10 and stage.response_due == dt.date(2026, 2, 2)
    with pytest.raises(DomainError, match="good reason"):
        life.extend(case, day(4), "advisor", days=1, reason="More time", ombudsman_details=OMBUDSMAN)
    assert stage.extension_days == 10 and stage.response_due == dt.date(2026, 2, 2)
    life.extend(case, day(4), "advisor", days=3, reason="Specialist inspection",
                good_reason="Structural engineer only available on 4 Feb", ombudsman_details=OMBUDSMAN)
    assert stage.extension_days == 13 and stage.response_due == dt.date(2026, 2, 5)


def test_stage2_extension_bound_is_twenty_days(session: Session, life: ComplaintLifecycle,
                                               handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(0), handlers[0])
    respond(life, case, day(1))
    life.request_escalation(case, day(2), "resident")
    acknowledge(life, case, day(2), handlers[1])
    life.extend(case, day(3), "advisor", days=20, reason="Panel review", ombudsman_details=OMBUDSMAN)
    with pytest.raises(DomainError, match="stage 2 may total 20"):
        life.extend(case, day(4), "advisor", days=1, reason="More time", ombudsman_details=OMBUDSMAN)


@pytest.mark.parametrize("reason,details", [("", OMBUDSMAN), ("  ", OMBUDSMAN), ("Survey", ""), ("Survey", " ")])
def test_extension_needs_its_reason_and_the_ombudsman_details(session: Session, life: ComplaintLifecycle,
                                                              handlers: tuple[int, int], reason: str,
                                                              details: str) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(0), handlers[0])
    with pytest.raises(DomainError):
        life.extend(case, day(1), "advisor", days=2, reason=reason, ombudsman_details=details)
    assert case.stage_record(1).extensions == []


@pytest.mark.parametrize("explanation", ["", "   "])
def test_refusal_without_a_reason_is_rejected(session: Session, life: ComplaintLifecycle, explanation: str) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    with pytest.raises(DomainError, match="2.4"):
        life.refuse(case, day(1), "advisor", reason=RefusalReason.OVER_TWELVE_MONTHS, explanation=explanation)
    with pytest.raises(ValueError):
        life.refuse(case, day(1), "advisor", reason="", explanation="Issue from 2019")
    assert case.status == S.STAGE1_LOGGED and case.refusal_reason is None
    life.refuse(case, day(1), "advisor", reason=RefusalReason.OVER_TWELVE_MONTHS,
                explanation="Resident first raised the leak in March 2024; no reason given for the delay")
    assert (case.status, case.refusal_reason) == (S.REFUSED, "over_twelve_months")


def test_response_records_decision_remedies_and_outstanding_actions(session: Session, life: ComplaintLifecycle,
                                                                    handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(0), handlers[0])
    with pytest.raises(DomainError, match="reasons"):
        life.respond(case, day(1), "advisor", outcome="upheld", decision="Upheld", reasons="")
    with pytest.raises(DomainError, match="withdrawn"):
        life.respond(case, day(1), "advisor", outcome="withdrawn", decision="x", reasons="y")
    with pytest.raises(DomainError, match="remedy"):
        life.respond(case, day(1), "advisor", outcome="upheld", decision="x", reasons="y", remedies=[Remedy.FINANCIAL])
    assert case.status == S.STAGE1_ACKNOWLEDGED and case.actions == []
    stage = life.respond(case, day(1), "advisor", outcome=Outcome.UPHELD, decision="Upheld",
                         reasons="The repair was not booked", remedies=[Remedy.APOLOGY, Remedy.FINANCIAL],
                         remedy_detail="Apology and £150 for the delay",
                         actions=[ActionPlan("Replace kitchen ceiling", dt.date(2026, 2, 1))])
    assert stage.outcome == "upheld" and stage.remedies == ["apology", "financial"]
    assert [(a.description, a.done_on) for a in case.actions] == [("Replace kitchen ceiling", None)]
    life.complete_action(case.actions[0], day(20), "advisor")
    assert case.actions[0].done_on == day(20).date()
    with pytest.raises(DomainError):
        life.complete_action(case.actions[0], day(21), "advisor")


def test_withdrawal_records_the_outcome_of_the_stage(session: Session, life: ComplaintLifecycle,
                                                    handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.log_stage1(case, day(0), day(0), "bot")
    acknowledge(life, case, day(0), handlers[0])
    life.withdraw(case, day(1), "advisor", note="Resident emailed: repair done, no longer unhappy")
    assert case.status == S.WITHDRAWN and case.stage_record(1).outcome == Outcome.WITHDRAWN


def test_lifecycle_refuses_non_complaints(session: Session, life: ComplaintLifecycle) -> None:
    request = open_case(session, Kind.SERVICE_REQUEST, START, "bot")
    with pytest.raises(DomainError, match="service request"):
        life.log_stage1(request, day(0), day(0), "bot")


def test_every_change_is_in_the_audit_trail(session: Session, life: ComplaintLifecycle,
                                            handlers: tuple[int, int]) -> None:
    case = new_complaint(session)
    life.offer_choice(case, day(0), "bot")
    life.log_stage1(case, day(0), day(1), "resident")
    acknowledge(life, case, day(2), handlers[0])
    session.commit()
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        ("case_opened", "bot"), ("offer_choice", "bot"), ("log_stage1", "resident"), ("acknowledge_stage1", "advisor")]
    assert events[-1].detail["response_due"] == "2026-01-21"
    assert events[-1].at == day(2)
