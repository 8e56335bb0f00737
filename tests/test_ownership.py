"""Ownership of cases: taken, assigned and reassigned, audited, and Code 6.13 checked at assignment."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import ownership
from workflow.calendar import WorkingCalendar
from workflow.cases import open_case
from workflow.errors import DomainError
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import AuditEvent, User
from workflow.queue import triage_queue
from workflow.users import add_user
from workflow.vocabulary import Kind

AT = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def people(session: Session) -> tuple[User, User]:
    first = add_user(session, "kim", "advisor", "a long enough password", AT, "test", team="Repairs")
    second = add_user(session, "lee", "advisor", "a long enough password", AT, "test")
    return first, second


def test_the_stage_1_handler_is_barred_from_stage_2_before_any_form_and_loses_the_case_at_escalation(
        session: Session) -> None:
    kim, lee = people(session)
    case = open_case(session, Kind.COMPLAINT, AT, "bot", theme="repairs", team="Repairs")
    life = ComplaintLifecycle(session, WorkingCalendar())
    life.log_stage1(case, AT, AT, "bot")
    ownership.assign(session, case, kim, "sam", AT)
    life.acknowledge(case, AT, "kim", handler_id=kim.id, definition="Doors", outcomes_sought="Fixed",
                     responsible_for="Repairs")
    life.respond(case, AT + dt.timedelta(days=3), "kim", outcome="not_upheld", decision="No", reasons="Because",
                 handler_id=kim.id)
    assert ownership.barred(case, kim) is None, "stage 1 is still kim's"
    life.request_escalation(case, AT + dt.timedelta(days=5), "bot")
    assert case.owner_id is None, "6.13: escalation takes stage 2 away from the stage 1 handler"
    assert dict(ownership.candidates(session, case))[kim] == ownership.BARRED_613
    with pytest.raises(DomainError, match="6.13"):
        ownership.assign(session, case, kim, "sam", AT + dt.timedelta(days=5))
    ownership.assign(session, case, lee, "sam", AT + dt.timedelta(days=5))
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id)
                              .where(AuditEvent.action.in_(["assigned", "unassigned"])).order_by(AuditEvent.id)).all()
    assert actions == ["assigned", "unassigned", "assigned"]


def test_the_queue_shows_mine_my_team_and_unassigned(session: Session) -> None:
    kim, lee = people(session)
    repairs = open_case(session, Kind.SERVICE_REQUEST, AT, "bot", team="Repairs")
    rent = open_case(session, Kind.ENQUIRY, AT, "bot", team="Income")
    nobody = open_case(session, Kind.ENQUIRY, AT, "bot", team="Repairs")
    ownership.assign(session, repairs, kim, "kim", AT)
    ownership.assign(session, rent, lee, "sam", AT)
    seen = lambda view, user: [e.case.reference for e in triage_queue(session, view=view, user_id=user.id,  # noqa: E731
                                                                     team=user.team)]
    assert seen("mine", kim) == [repairs.reference]
    assert seen("team", kim) == [repairs.reference, nobody.reference]
    assert seen("unassigned", lee) == [nobody.reference]
    assert len(seen("all", lee)) == 3
    with pytest.raises(ValueError, match="no queue view"):
        triage_queue(session, view="everything")
