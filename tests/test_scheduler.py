"""The calendar's work, driven by a controllable clock: the automatic acknowledgement on the
last day, reminders, overdue alerts, agreed updates, review dates and hazard clocks. Each notice
is read from the outgoing mail, as the resident or the member of staff would read it."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from tests.desk import MONDAY, Desk, reference_in, text
from workflow import cases
from workflow.calendar import LONDON, london_date
from workflow.hazards import record_made_safe
from workflow.letters import long_date
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Adjustment, Case
from workflow.users import add_user
from workflow.vocabulary import ComplaintStatus

STATED = "I want to make a formal complaint: my kitchen cupboard doors have been hanging off for two months."


def at_london(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), LONDON).astimezone(dt.UTC)


def staff(desk: Desk) -> None:
    with desk.context.sessions() as session:
        add_user(session, "sam", "supervisor", "a long enough password", desk.clock, "test", email="sam@example.org")
        session.commit()


def to(mails: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in mails if m["To"] == address]


def subject(mail: EmailMessage) -> str:
    """The subject without the reference the mail builder appends."""
    return " ".join(str(mail["Subject"]).split()).split(" [")[0]


def logged_complaint(desk: Desk) -> str:
    desk.write(STATED)
    (logged,) = desk.replies()
    desk.write("Fix the doors", answering=logged)
    (question,) = desk.replies()
    desk.write("no", answering=question)
    desk.replies()
    return reference_in(logged)


def test_an_unacknowledged_complaint_is_acknowledged_on_its_last_day_at_the_set_hour_in_the_residents_words(
        desk: Desk) -> None:
    staff(desk)
    reference = logged_complaint(desk)
    due = desk.context.calendar.add(london_date(MONDAY), 5)

    desk.clock = at_london(desk.context.calendar.add(london_date(MONDAY), 3), 9)
    reminders = desk.replies()
    assert [m["To"] for m in reminders] == ["sam@example.org"]
    assert f"Due {long_date(due)}: stage 1 acknowledgement for {reference}" == subject(reminders[0])

    desk.clock = at_london(due, 10)
    assert to(desk.replies(), "ann.jones@example.net") == []  # the last day, but before the hour

    desk.clock = at_london(due, 15)
    (acknowledgement,) = to(desk.replies(), "ann.jones@example.net")
    body = " ".join(text(acknowledgement).split())
    assert "kitchen cupboard doors have been hanging off for two months" in body
    assert "What you want us to do: Fix the doors" in body
    assert "please reply and tell us. We will correct it" in body
    response_due = desk.context.calendar.add(due, 10)
    assert f"answer by {long_date(response_due)}" in body
    assert acknowledgement["Auto-Submitted"] == "auto-replied"

    assert desk.replies() == []  # a second pass at the same moment sends nothing again
    case = desk.case(reference)
    assert case.status == ComplaintStatus.STAGE1_ACKNOWLEDGED
    assert case.stages[0].auto_acknowledged and case.stages[0].acknowledged_on == due


def test_a_missed_response_deadline_alerts_supervisors_once(desk: Desk) -> None:
    staff(desk)
    reference = logged_complaint(desk)
    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        stage = ComplaintLifecycle(session, desk.context.calendar).acknowledge(
            case, MONDAY, "advisor", handler_id=None, definition="Doors", outcomes_sought="Fixed doors",
            responsible_for="Repairs")
        response_due = stage.response_due
        session.commit()
    assert response_due is not None
    desk.clock = at_london(desk.context.calendar.add(response_due, 1), 8)
    alerts = desk.replies()
    assert [subject(m) for m in alerts] == [f"Overdue: stage 1 response for {reference}"]
    desk.later(hours=3)
    assert desk.replies() == []


def test_agreed_updates_remind_the_handler_at_each_interval(desk: Desk) -> None:
    staff(desk)
    reference = logged_complaint(desk)
    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        lifecycle = ComplaintLifecycle(session, desk.context.calendar)
        lifecycle.acknowledge(case, MONDAY, "advisor", handler_id=None, definition="Doors",
                              outcomes_sought="Fixed doors", responsible_for="Repairs")
        lifecycle.agree_updates(case, MONDAY, "advisor", every_working_days=3)
        session.commit()
    first = desk.context.calendar.add(london_date(MONDAY), 3)
    desk.clock = at_london(first, 9)
    updates = [m for m in desk.replies() if "Update due" in subject(m)]
    assert len(updates) == 1 and long_date(first) in text(updates[0])
    desk.clock = at_london(desk.context.calendar.add(first, 3), 9)
    assert len([m for m in desk.replies() if "Update due" in subject(m)]) == 1


def test_an_adjustment_due_for_review_is_flagged_to_supervisors(desk: Desk) -> None:
    staff(desk)
    desk.write("Can you tell me when my rent is due?")
    desk.replies()
    with desk.context.sessions() as session:
        resident_id = session.query(Case.resident_id).scalar()
        session.add(Adjustment(resident_id=resident_id, description="Letters in large print",
                               review_on=dt.date(2026, 11, 20)))
        session.commit()
    desk.clock = at_london(dt.date(2026, 11, 20), 9)
    (notice,) = desk.replies()
    assert notice["To"] == "sam@example.org" and "due for review" in subject(notice)


def test_an_emergency_hazard_has_its_own_24_hour_clock_until_someone_records_it_made_safe(desk: Desk) -> None:
    staff(desk)
    desk.write("There is a strong smell of gas in my kitchen since this morning, please help")
    (reply,) = desk.replies()
    assert "0800 111 999" in text(reply)
    reference = reference_in(reply)
    case = desk.case(reference)
    assert case.hazard == "emergency" and case.hazard_due_at == MONDAY + dt.timedelta(hours=24)

    desk.later(hours=23)
    assert desk.replies() == []
    desk.later(hours=2)
    (alert,) = desk.replies()
    assert alert["To"] == "sam@example.org" and f"Hazard not made safe: {reference}" in subject(alert)
    with desk.context.sessions() as session:
        found = cases.by_reference(session, reference)
        assert found is not None
        record_made_safe(session, found, desk.clock, "advisor", "Gas engineer capped the supply")
        session.commit()
    desk.later(days=1)
    assert desk.replies() == []


def test_one_complaint_through_every_deadline_of_both_stages(desk: Desk) -> None:
    """Each message the calendar makes due, in order, and nothing else."""
    staff(desk)
    calendar = desk.context.calendar
    reference = logged_complaint(desk)
    received = london_date(MONDAY)

    def day(date: dt.date, hour: int = 9) -> list[str]:
        desk.clock = at_london(date, hour)
        return [f"{m['To']}: {subject(m)}" for m in desk.replies()]

    ack_due = calendar.add(received, 5)
    assert day(calendar.add(received, 3)) == [f"sam@example.org: Due {long_date(ack_due)}: stage 1 acknowledgement "
                                              f"for {reference}"]
    assert day(ack_due, 16) == ["ann.jones@example.net: Re: My home"]  # the automatic acknowledgement
    response_due = calendar.add(ack_due, 10)
    assert day(calendar.add(ack_due, 8)) == [
        f"sam@example.org: Due {long_date(response_due)}: stage 1 response for {reference}"]
    assert day(calendar.add(response_due, 1)) == [f"sam@example.org: Overdue: stage 1 response for {reference}"]

    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        ComplaintLifecycle(session, calendar).respond(
            case, desk.clock, "advisor", outcome="not_upheld", decision="Not upheld",
            reasons="The doors were fixed on the date agreed")
        session.commit()
    desk.later(hours=1)
    desk.write("I am not happy with your response, the doors are still hanging off.", subject=f"Re: {reference}")
    (escalated,) = desk.replies()
    assert "stage 2" in text(escalated)
    escalated_on = london_date(desk.clock)
    stage2_ack_due = calendar.add(escalated_on, 5)
    assert day(stage2_ack_due, 16) == [f"ann.jones@example.net: Re: {reference}"]
    stage2_due = calendar.add(stage2_ack_due, 20)
    assert day(calendar.add(stage2_ack_due, 18)) == [
        f"sam@example.org: Due {long_date(stage2_due)}: stage 2 response for {reference}"]
    assert day(calendar.add(stage2_due, 1)) == [f"sam@example.org: Overdue: stage 2 response for {reference}"]
    case = desk.case(reference)
    assert [s.auto_acknowledged for s in case.stages] == [True, True]
    assert case.stages[1].response_due == stage2_due


def test_a_hazard_stays_at_the_top_of_the_queue_until_an_advisor_records_what_was_done(desk: Desk) -> None:
    from workflow.queue import triage_queue

    desk.write("I want to make a formal complaint about the state of the communal garden.", sender="a@example.net")
    desk.write("My 3 month old baby and I live alone and I am struggling to cope with the noise next door.",
               sender="b@example.net")
    desk.write("There are exposed live wires hanging from the ceiling light in my hall.", sender="c@example.net")
    desk.replies()
    with desk.context.sessions() as session:
        order = [(e.case.resident.contact_points[0].address, e.hazard_open) for e in triage_queue(session)]
        assert order[0] == ("c@example.net", True)
        assert order[1][0] == "b@example.net"
        hazard = triage_queue(session)[0].case
        record_made_safe(session, hazard, desk.clock, "advisor", "Electrician isolated the circuit")
        session.commit()
        assert triage_queue(session)[0].case.id != hazard.id


def test_reminders_go_to_the_owner_and_overdue_alerts_to_the_owner_and_the_team_s_supervisors(desk: Desk) -> None:
    """The deadline dashboard listed every handler as "nobody yet" and reminders went to supervisors."""
    from sqlalchemy import select

    from workflow import ownership
    from workflow.models import User

    staff(desk)  # sam: a supervisor of no team
    with desk.context.sessions() as session:
        add_user(session, "kim", "advisor", "a long enough password", desk.clock, "test", email="kim@example.org")
        add_user(session, "lee", "supervisor", "a long enough password", desk.clock, "test", email="lee@example.org",
                 team="Repairs")
        session.commit()
    reference = logged_complaint(desk)
    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        case.team = "Repairs"
        stage = ComplaintLifecycle(session, desk.context.calendar).acknowledge(
            case, MONDAY, "advisor", handler_id=None, definition="Doors", outcomes_sought="Fixed doors",
            responsible_for="Repairs")
        ownership.assign(session, case, session.scalars(select(User).where(User.username == "kim")).one(), "sam",
                         desk.clock)
        response_due = stage.response_due
        session.commit()
    assert response_due is not None
    desk.clock = at_london(response_due, 9)
    assert [(m["To"], subject(m)) for m in desk.replies()] == [
        ("kim@example.org", f"Due {long_date(response_due)}: stage 1 response for {reference}")], \
        "the owner is reminded, not the supervisors"
    desk.clock = at_london(desk.context.calendar.add(response_due, 1), 8)
    alerts = desk.replies()
    assert {m["To"] for m in alerts} == {"kim@example.org", "lee@example.org"}, "the owner and the team's supervisor"
    assert all(subject(m) == f"Overdue: stage 1 response for {reference}" for m in alerts)
