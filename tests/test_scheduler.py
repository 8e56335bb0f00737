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
