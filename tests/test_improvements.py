"""Learning recorded on upheld complaints, the improvements it leads to, the patterns found for
people, the Ombudsman's findings, reviews of adjustments and restrictions, and the scheduler's
reminders to improvements' owners. Each on both engines (the `session` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import improvements, records
from workflow.blocks import block_name, record_block
from workflow.calendar import LONDON, WorkingCalendar
from workflow.cases import open_case, raise_complaint_about_request
from workflow.errors import DomainError, IllegalTransition
from workflow.findings import record_finding
from workflow.learning import causes_for, learning_of, record_learning
from workflow.letters import Letterhead, Letters
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import AuditEvent, Case, Message, Resident, User
from workflow.patterns import before, find_patterns
from workflow.record_reviews import review_restriction
from workflow.reports import Period
from workflow.scheduler import Scheduler, Timing
from workflow.vocabulary import Kind

CAL = WorkingCalendar()
D = dt.date
LETTERS = Letters(Letterhead("Example Housing", "0100", "housing@example.org", "https://example.org", "Town Hall",
                             "Housing Ombudsman Service", "0300 111 3000", "info@housing-ombudsman.org.uk",
                             "https://www.housing-ombudsman.org.uk", "PO Box 1484, Preston"))


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), LONDON).astimezone(dt.UTC)


def user(session: Session, name: str, role: str = "advisor", team: str | None = None) -> User:
    row = User(username=name, password_hash="x", role=role, email=f"{name}@example.org", team=team)
    session.add(row)
    session.flush()
    return row


def complaint(session: Session, day: dt.date, *, theme: str = "repairs", team: str = "Repairs",
              resident: Resident | None = None, outcome: str | None = None, handler: User | None = None) -> Case:
    """A complaint received on day; answered with outcome two working days after acknowledging, if given."""
    life = ComplaintLifecycle(session, CAL)
    case = open_case(session, Kind.COMPLAINT, at(day), "bot", channel="email", theme=theme, team=team,
                     resident_id=resident.id if resident else None)
    life.log_stage1(case, at(day), at(day), "bot")
    if outcome is not None:
        life.acknowledge(case, at(CAL.add(day, 1)), "ann", handler_id=handler.id if handler else None,
                         definition="d", outcomes_sought="o", responsible_for="r")
        life.respond(case, at(CAL.add(day, 3)), "ann", outcome=outcome, decision="d", reasons="r")
    return case


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_learning_is_recorded_on_upheld_stages_from_the_themes_choices_and_audited_without_words(
        session: Session) -> None:
    upheld = complaint(session, D(2026, 6, 1), outcome="upheld")
    not_upheld = complaint(session, D(2026, 6, 2), outcome="not_upheld")
    assert list(causes_for("repairs"))[:4] == ["repair_not_done", "repair_quality", "appointment_missed",
                                               "contractor"]
    assert "charge_wrong" not in causes_for("repairs") and "delay" in causes_for("repairs")
    with pytest.raises(DomainError, match="not upheld"):
        record_learning(session, not_upheld, 1, ["delay"], "", "ann", at(D(2026, 6, 10)))
    with pytest.raises(DomainError, match="not a choice"):
        record_learning(session, upheld, 1, ["charge_wrong"], "", "ann", at(D(2026, 6, 10)))
    with pytest.raises(DomainError, match="at least one"):
        record_learning(session, upheld, 1, [], "Something", "ann", at(D(2026, 6, 10)))
    record_learning(session, upheld, 1, ["repair_not_done"], "The operative had no part for the boiler", "ann",
                    at(D(2026, 6, 10)))
    record_learning(session, upheld, 1, ["repair_not_done", "communication"], "Also never called back", "bo",
                    at(D(2026, 6, 11)))
    session.commit()
    (row,) = learning_of(session, upheld)
    assert (row.causes, row.detail, row.recorded_by, row.theme) == (["repair_not_done", "communication"],
                                                                    "Also never called back", "bo", "repairs")
    (first,), (second,) = events(session, "learning_recorded"), events(session, "learning_changed")
    assert first.case_id == second.case_id == upheld.id
    assert second.detail == {"stage": 1, "causes": ["repair_not_done", "communication"],
                             "previous": ["repair_not_done"]}
    assert "boiler" not in str(first.detail) and "called back" not in str(second.detail)


def test_an_improvement_from_several_complaints_moves_to_done_with_evidence_every_change_audited(
        session: Session) -> None:
    owner, other = user(session, "ann"), user(session, "cy")
    first, second, third = (complaint(session, D(2026, 6, day), outcome="upheld") for day in (1, 2, 3))
    request = open_case(session, Kind.SERVICE_REQUEST, at(D(2026, 6, 4)), "bot", theme="repairs", team="Repairs")
    item = improvements.create(session, title="Carry boiler parts on every van", team="Repairs", owner_id=owner.id,
                               due_on=D(2026, 9, 30), actor="bo", at=at(D(2026, 6, 20)),
                               complaints=[first, second, third])
    assert item.reference == "IMP-2026-00001" and item.status == "planned"
    assert improvements.link(session, item, first, "bo", at(D(2026, 6, 21))) is False  # already linked
    with pytest.raises(DomainError, match="not a complaint"):
        improvements.link(session, item, request, "bo", at(D(2026, 6, 21)))
    assert improvements.change(session, item, actor="bo", at=at(D(2026, 7, 1)), owner_id=other.id,
                               due_on=D(2026, 10, 30)) == ["owner", "due_on"]
    improvements.set_status(session, item, "in_progress", "cy", at(D(2026, 7, 2)))
    with pytest.raises(DomainError, match="evidence"):
        improvements.set_status(session, item, "done", "cy", at(D(2026, 10, 1)))
    improvements.set_status(session, item, "done", "cy", at(D(2026, 10, 1)), evidence="Van stock list, October")
    with pytest.raises(IllegalTransition, match="in progress"):
        improvements.set_status(session, item, "planned", "cy", at(D(2026, 10, 2)))
    session.commit()
    (view,) = improvements.views(session, D(2026, 12, 1))
    assert (view.status, view.done_on, view.owner, view.evidence, view.overdue) == (
        "done", D(2026, 10, 1), "cy", "Van stock list, October", False)
    assert view.complaints == [first.reference, second.reference, third.reference]
    assert improvements.prompted_by(session, second) == [item]
    assert [e.case_id for e in events(session, "improvement_linked")] == [first.id, second.id, third.id]
    assert events(session, "improvement_created")[0].detail["improvement"] == "IMP-2026-00001"
    (changed,) = events(session, "improvement_changed")
    assert changed.detail == {"improvement": "IMP-2026-00001", "owner": "cy", "previous_due_on": "2026-09-30",
                              "due_on": "2026-10-30"}
    assert [(e.detail["previous"], e.detail["status"]) for e in events(session, "improvement_status")] == [
        ("planned", "in_progress"), ("in_progress", "done")]
    improvements.set_status(session, item, "in_progress", "cy", at(D(2026, 11, 2)))  # reopened: not made after all
    (view,) = improvements.views(session, D(2026, 12, 1))
    assert (view.done_on, view.overdue) == (None, True)
    improvements.unlink(session, item, third, "bo", at(D(2026, 11, 3)))
    assert improvements.views(session, D(2026, 12, 1))[0].complaints == [first.reference, second.reference]
    made = improvements.made_and_planned(session, D(2026, 4, 1), D(2027, 3, 31))
    assert (made.made, [v.reference for v in made.planned]) == ([], ["IMP-2026-00001"])
    autumn = improvements.made_and_planned(session, D(2026, 6, 1), D(2026, 10, 31))
    (then,) = autumn.made  # done on 1 October and reopened in November: made in a period ending in October
    assert (then.status, then.done_on, autumn.planned) == ("done", D(2026, 10, 1), [])


def test_owners_are_reminded_of_improvements_due_and_told_with_supervisors_when_overdue(session: Session) -> None:
    owner = user(session, "ann", team="Repairs")
    supervisor = user(session, "sam", "supervisor", team="Repairs")
    user(session, "asb_lead", "supervisor", team="ASB")
    due = improvements.create(session, title="Boiler parts", team="Repairs", owner_id=owner.id,
                              due_on=D(2026, 11, 30), actor="bo", at=at(D(2026, 6, 1)))
    unowned = improvements.create(session, title="Repairs letters", team="Repairs", owner_id=None,
                                  due_on=D(2026, 11, 27), actor="bo", at=at(D(2026, 6, 1)))
    done = improvements.create(session, title="Done already", team="Repairs", owner_id=owner.id,
                               due_on=D(2026, 11, 27), actor="bo", at=at(D(2026, 6, 1)))
    improvements.set_status(session, done, "done", "bo", at(D(2026, 11, 1)), evidence="Shown at the team meeting")
    session.commit()
    scheduler = Scheduler(session, CAL, LETTERS, Timing(remind_working_days=2))

    def sent() -> list[tuple[list[str], str]]:
        rows = session.scalars(select(Message).where(Message.direction == "outbound").order_by(Message.id))
        return [(m.recipients, m.subject or "") for m in rows]

    assert scheduler.improvements(at(D(2026, 11, 20))) == 0  # more than two working days before either is due
    assert scheduler.improvements(at(D(2026, 11, 26))) == 2  # Thursday: due Friday and Monday
    assert sent() == [([supervisor.email], f"Due Friday 27 November 2026: service improvement {unowned.reference}"),
                      ([owner.email], f"Due Monday 30 November 2026: service improvement {due.reference}")]
    assert scheduler.improvements(at(D(2026, 11, 26), 15)) == 0  # once for its key
    body = session.scalars(select(Message.body_text).where(Message.direction == "outbound")).first()
    assert f"Case: {unowned.reference}" in body
    assert scheduler.run(at(D(2026, 12, 1)))["improvements"] == 2  # both overdue now
    # Overdue: the owner and the team's supervisors, one letter each; never another team's supervisor.
    assert sent()[2:] == [([supervisor.email], f"Overdue: service improvement {unowned.reference}"),
                          ([owner.email], f"Overdue: service improvement {due.reference}"),
                          ([supervisor.email], f"Overdue: service improvement {due.reference}")]
    assert scheduler.improvements(at(D(2026, 12, 2))) == 0 and len(sent()) == 5


def test_patterns_rising_themes_and_teams_repeats_and_requests_that_become_complaints(session: Session) -> None:
    period = Period(D(2026, 7, 1), D(2026, 9, 30))
    assert before(period) == Period(D(2026, 3, 31), D(2026, 6, 30))
    one, two = Resident(display_name="one"), Resident(display_name="two")
    session.add_all([one, two])
    session.flush()
    complaint(session, D(2026, 5, 4))  # the period before: repairs 1, asb 2
    complaint(session, D(2026, 5, 5), theme="asb", team="ASB", resident=one)
    complaint(session, D(2026, 6, 1), theme="asb", team="ASB", resident=one)
    elm = complaint(session, D(2026, 7, 6), resident=one)  # this period: repairs 3, asb 1, rent 1
    court = complaint(session, D(2026, 8, 3), resident=one)
    complaint(session, D(2026, 9, 7), resident=two)
    complaint(session, D(2026, 7, 7), theme="asb", team="ASB", resident=two)
    rent = complaint(session, D(2026, 9, 8), theme="rent", team="Rents", resident=one)
    complaint(session, D(2026, 10, 5), resident=two)  # after the period
    complaint(session, D(2026, 6, 2), theme="tenancy", team="Tenancy")  # one in each: level, not rising
    complaint(session, D(2026, 9, 9), theme="tenancy", team="Tenancy")
    record_block(session, elm, "Flat 3, Elm Court", "ann", at(D(2026, 7, 6)))
    record_block(session, court, "elm  court", "ann", at(D(2026, 8, 3)))
    record_block(session, rent, "12 High Street", "ann", at(D(2026, 9, 8)))
    for day, team, theme, complained in ((D(2026, 7, 1), "Repairs", "repairs", True),
                                         (D(2026, 7, 2), "Repairs", "repairs", True),
                                         (D(2026, 7, 3), "Repairs", "damp_mould", False),
                                         (D(2026, 7, 6), "Repairs", "repairs", False),
                                         (D(2026, 8, 3), "ASB", "asb", True),
                                         (D(2026, 6, 30), "ASB", "asb", True)):  # before the period: not counted
        request = open_case(session, Kind.SERVICE_REQUEST, at(day), "bot", theme=theme, team=team)
        if complained:
            raise_complaint_about_request(session, request, at(day + dt.timedelta(days=3)), "ann")
    session.commit()
    found = find_patterns(session, period)
    assert (found.complaints, found.previous_complaints) == (6, 4)
    assert [(t.name, t.current, t.previous) for t in found.rising_themes] == [("repairs", 3, 1), ("rent", 1, 0)]
    assert [(t.name, t.current, t.previous) for t in found.themes][-2:] == [("tenancy", 1, 1), ("asb", 1, 2)]
    assert [(t.name, t.change) for t in found.rising_teams] == [("Repairs", 2), ("Rents", 1)]
    assert [(r.key, len(r.complaints)) for r in found.repeat_residents] == [(f"resident {one.id}", 3),
                                                                            (f"resident {two.id}", 2)]
    assert found.repeat_residents[0].complaints[:2] == [elm.reference, court.reference]
    assert [(r.key, r.complaints) for r in found.repeat_blocks] == [("Elm Court", [elm.reference, court.reference])]
    assert found.complaints_without_block == 3
    assert [(c.name, c.requests, c.became_complaints, c.share) for c in found.requests_by_team] == [
        ("Repairs", 4, 2, 0.5), ("ASB", 1, 1, 1.0)]
    assert [(c.name, c.became_complaints) for c in found.requests_by_theme] == [("repairs", 2), ("asb", 1),
                                                                                 ("damp_mould", 0)]


def test_blocks_are_named_without_the_flat_number() -> None:
    assert block_name("Flat 3, Elm Court") == "Elm Court"
    assert block_name("  flat 12A elm   Court ") == "elm Court"
    assert block_name("12 High Street") == "High Street"
    assert block_name("Elm Court") == "Elm Court"
    with pytest.raises(DomainError):
        block_name("Flat 3")


def test_findings_are_a_supervisors_to_enter_and_name_real_provisions(session: Session) -> None:
    advisor, supervisor = user(session, "ann"), user(session, "sam", "supervisor")
    with pytest.raises(DomainError, match="supervisor"):
        record_finding(session, advisor, at(D(2026, 6, 1)), ombudsman_reference="1", decided_on=D(2026, 6, 1),
                       finding="service_failure", summary="s")
    with pytest.raises(DomainError, match="names the provisions"):
        record_finding(session, supervisor, at(D(2026, 6, 1)), ombudsman_reference="1", decided_on=D(2026, 6, 1),
                       finding="non_compliance", summary="s")
    with pytest.raises(DomainError, match="6.21"):
        record_finding(session, supervisor, at(D(2026, 6, 1)), ombudsman_reference="1", decided_on=D(2026, 6, 1),
                       finding="non_compliance", provisions=["6.2", "6.21"], summary="s")
    row = record_finding(session, supervisor, at(D(2026, 6, 2)), ombudsman_reference=" 2026 0001 ",
                         decided_on=D(2026, 6, 1), finding="non_compliance", provisions=["6.2", "6.2", "5.1"],
                         summary="Late   acknowledgements")
    assert (row.ombudsman_reference, row.provisions, row.summary, row.recorded_by) == (
        "2026 0001", ["6.2", "5.1"], "Late acknowledgements", "sam")
    assert events(session, "ombudsman_finding_recorded")[0].detail["provisions"] == ["6.2", "5.1"]


def test_a_restriction_review_sets_the_next_date_within_six_months_or_lifts_it(session: Session) -> None:
    resident = Resident(display_name="r")
    session.add(resident)
    session.flush()
    row = records.restrict(session, resident.id, restriction="Calls through one officer", mode="named_contact",
                           contact="sam", reason="Abuse", starts_on=D(2026, 5, 1), review_on=D(2026, 8, 3),
                           actor="sam", at=at(D(2026, 5, 1)))
    with pytest.raises(DomainError, match="six months"):
        review_restriction(session, row.id, resident.id, next_review_on=D(2027, 3, 1), actor="sam",
                           at=at(D(2026, 8, 3)))
    with pytest.raises(DomainError, match="after today"):
        review_restriction(session, row.id, resident.id, next_review_on=D(2026, 8, 3), actor="sam",
                           at=at(D(2026, 8, 3)))
    with pytest.raises(DomainError, match="no such"):
        review_restriction(session, row.id, resident.id + 1, next_review_on=D(2026, 11, 2), actor="sam",
                           at=at(D(2026, 8, 3)))
    review = review_restriction(session, row.id, resident.id, next_review_on=D(2026, 11, 2), actor="sam",
                                at=at(D(2026, 8, 4)))
    assert (review.due_on, review.reviewed_on, row.review_on) == (D(2026, 8, 3), D(2026, 8, 4), D(2026, 11, 2))
    review_restriction(session, row.id, resident.id, next_review_on=None, actor="sam", at=at(D(2026, 11, 2)))
    assert row.ended_at == at(D(2026, 11, 2))
    with pytest.raises(DomainError, match="ended"):
        review_restriction(session, row.id, resident.id, next_review_on=D(2027, 1, 4), actor="sam",
                           at=at(D(2026, 11, 3)))
    assert [e.detail["ended"] for e in events(session, "restriction_reviewed")] == [False, True]
