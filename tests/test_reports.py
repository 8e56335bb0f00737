"""The annual report (Code 8.1, 9.7) on a year of cases whose every figure was counted by hand.

The year is the council financial year 1 April 2026 to 31 March 2027. Each complaint below is
written with its dates as working-day offsets, so whether it was on time is known by
construction; the expected numbers beside each test were counted from this table, not by
running the code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from workflow.calendar import WorkingCalendar
from workflow.cases import open_case, raise_complaint_about_request
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Case, Classification, Message, User
from workflow.report_formats import to_csv, to_html, to_text
from workflow.reports import Period, build_report
from workflow.reviews import record_review
from workflow.vocabulary import Kind, RefusalReason

YEAR = Period(dt.date(2026, 4, 1), dt.date(2027, 3, 31))
CAL = WorkingCalendar()
OMBUDSMAN = "Housing Ombudsman Service, PO Box 1484, Preston PR2 0ET, 0300 111 3000"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), dt.UTC)


@dataclass
class Spec:
    """One complaint: received date, then working-day offsets from the step before."""

    received: dt.date
    team: str
    theme: str
    channel: str
    ack: int | None = None  # working days after receipt
    extend: int = 0  # agreed the day after acknowledgement
    respond: int | None = None  # working days after acknowledgement
    outcome: str = "not_upheld"
    remedies: list[str] = field(default_factory=list)
    escalate: int | None = None  # working days after the stage 1 response
    ack2: int | None = None
    respond2: int | None = None
    outcome2: str = "not_upheld"
    remedies2: list[str] = field(default_factory=list)
    refuse: str | None = None  # refused two working days after the last step
    withdraw: bool = False
    log: bool = True


D = dt.date
COMPLAINTS = {
    "c1": Spec(D(2026, 3, 25), "Repairs", "repairs", "email", ack=3, respond=8, outcome="upheld"),  # crosses 1 April
    "c2": Spec(D(2026, 5, 5), "Repairs", "damp_mould", "email", ack=2, extend=10, respond=15, outcome="partly_upheld",
               remedies=["apology", "financial"]),  # late, but inside its agreed extension
    "c3": Spec(D(2026, 6, 1), "Repairs", "repairs", "webchat", ack=5, respond=12),  # late, no extension
    "c4": Spec(D(2026, 7, 6), "ASB", "asb", "telegram", ack=1, extend=5, respond=17, outcome="upheld",
               remedies=["apology"]),  # late even after its extension
    "c5": Spec(D(2026, 8, 3), "Tenancy", "tenancy", "email", ack=5, respond=10),
    "c6": Spec(D(2026, 9, 7), "Rents", "rent", "email", ack=2, respond=6, escalate=4, ack2=5, respond2=20,
               outcome2="partly_upheld", remedies2=["explanation"]),
    "c7": Spec(D(2026, 10, 5), "Repairs", "repairs", "email", ack=1, respond=9, outcome="upheld", escalate=2, ack2=7,
               respond2=22, outcome2="upheld"),  # stage 2 acknowledged late and answered late
    "c8": Spec(D(2026, 11, 2), "Communal", "communal", "webchat", ack=3, withdraw=True),
    "c9": Spec(D(2026, 12, 1), "Repairs", "damp_mould", "email", refuse="legal_proceedings"),
    "c10": Spec(D(2027, 1, 11), "Leasehold", "leasehold", "email", refuse="over_twelve_months", log=False),
    "c11": Spec(D(2027, 3, 25), "Leasehold", "leasehold", "email", ack=2, respond=8),  # answered after 31 March
    "c12": Spec(D(2027, 2, 1), "Allocations", "allocations", "letter", ack=7),  # acknowledged late, still open
    "c20": Spec(D(2026, 4, 13), "Repairs", "repairs", "email", ack=2, respond=5, escalate=3,
                refuse="legal_proceedings"),  # escalation refused: court papers filed
}
# Complaints about service requests (1.5), by the request they are about: the requests are opened
# in September and October 2026, and (c19) in February 2026, before the year.
ABOUT_REQUESTS = {
    "c17": (0, Spec(D(2026, 9, 21), "Repairs", "repairs", "email", ack=2, respond=5)),
    "c18": (1, Spec(D(2026, 10, 12), "Repairs", "repairs", "email")),
    "c19": (-1, Spec(D(2026, 4, 20), "Repairs", "repairs", "email", ack=1, respond=3, outcome="upheld",
                     remedies=["financial"])),
}


def _play(session: Session, life: ComplaintLifecycle, case: Case, spec: Spec, handlers: tuple[User, User]) -> None:
    day = spec.received
    if spec.log:
        life.log_stage1(case, at(day), at(day), "advisor")
    if spec.ack is not None:
        day = CAL.add(day, spec.ack)
        life.acknowledge(case, at(day), "advisor", handler_id=handlers[0].id, definition="The complaint",
                         outcomes_sought="Put it right", responsible_for="The service")
        acknowledged = day
        if spec.extend:
            life.extend(case, at(CAL.add(day, 1)), "advisor", days=spec.extend, reason="Waiting for a survey",
                        ombudsman_details=OMBUDSMAN)
        if spec.withdraw:
            life.withdraw(case, at(CAL.add(day, 4)), "advisor", note="The resident withdrew by phone")
            return
        if spec.respond is not None:
            day = CAL.add(acknowledged, spec.respond)
            remedy = {"remedy_detail": "As set out"} if spec.remedies else {}
            life.respond(case, at(day), "advisor", outcome=spec.outcome, decision="Decided", reasons="Because",
                         remedies=spec.remedies, **remedy)
    if spec.escalate is not None:
        day = CAL.add(day, spec.escalate)
        life.request_escalation(case, at(day), "resident")
        if spec.ack2 is not None:
            day = CAL.add(day, spec.ack2)
            life.acknowledge(case, at(day), "advisor", handler_id=handlers[1].id, definition="Stage 2",
                             outcomes_sought="Review", responsible_for="The service")
            acknowledged = day
            if spec.respond2 is not None:
                day = CAL.add(acknowledged, spec.respond2)
                remedy = {"remedy_detail": "As set out"} if spec.remedies2 else {}
                life.respond(case, at(day), "advisor", outcome=spec.outcome2, decision="Decided", reasons="Because",
                             remedies=spec.remedies2, handler_id=handlers[1].id, **remedy)
    if spec.refuse:
        life.refuse(case, at(CAL.add(day, 2)), "advisor", reason=RefusalReason(spec.refuse),
                    explanation="Evidence on file")


def _review(session: Session, reviewer: User, day: dt.date, suggested: tuple[str, str],
            confirmed: tuple[str, str]) -> None:
    case = open_case(session, Kind(suggested[0]), at(day), "bot", channel="email", theme=suggested[1], team="Repairs")
    message = Message(channel="email", direction="inbound", body_text="text", received_at=at(day), case_id=case.id)
    session.add(message)
    session.flush()
    classification = Classification(message_id=message.id, case_id=case.id, model_version="m1", kind=suggested[0],
                                    theme=suggested[1], offer_choice=False)
    session.add(classification)
    session.flush()
    record_review(session, CAL, case, classification, reviewer, kind=confirmed[0], theme=confirmed[1], team="Repairs",
                  at=at(day))


@pytest.fixture
def year(session: Session) -> Session:
    life = ComplaintLifecycle(session, CAL)
    first, second = User(username="ann", password_hash="x", role="advisor"), User(username="bo", password_hash="x",
                                                                                   role="supervisor")
    session.add_all([first, second])
    session.flush()
    for spec in COMPLAINTS.values():
        case = open_case(session, Kind.COMPLAINT, at(spec.received), "bot", channel=spec.channel, theme=spec.theme,
                         team=spec.team)
        _play(session, life, case, spec, (first, second))
    # The choice to complain (1.3): two chose a complaint, one a request, one has not answered yet.
    for offered, answer, theme, team, channel in [
        (D(2026, 6, 15), "complaint", "repairs", "Repairs", "telegram"),  # c13: acknowledged +3, answered +10
        (D(2026, 7, 13), "complaint", "tenancy", "Tenancy", "webchat"),  # c14: logged, nothing since
        (D(2026, 8, 10), "request", "repairs", "Repairs", "email"),
        (D(2027, 3, 30), None, "repairs", "Repairs", "email"),
    ]:
        case = open_case(session, Kind.COMPLAINT, at(offered), "bot", channel=channel, theme=theme, team=team)
        life.offer_choice(case, at(offered), "bot")
        if answer == "request":
            life.decline(case, at(offered + dt.timedelta(days=1)), "resident")
        elif answer == "complaint":
            life.log_stage1(case, at(offered), at(offered + dt.timedelta(days=1)), "resident")
            if channel == "telegram":
                acknowledged = CAL.add(offered, 3)
                life.acknowledge(case, at(acknowledged), "advisor", handler_id=first.id, definition="d",
                                 outcomes_sought="o", responsible_for="r")
                life.respond(case, at(CAL.add(acknowledged, 10)), "advisor", outcome="upheld", decision="d",
                             reasons="r")
    # Service requests (1.4, 1.5): five in the year, complaints made about two of them (c17, c18),
    # and a complaint in the year about a request from before it (c19's request, below).
    requests = [open_case(session, Kind.SERVICE_REQUEST, at(day), "bot", channel="email", theme="repairs",
                          team="Repairs")
                for day in (D(2026, 9, 14), D(2026, 10, 5), D(2026, 11, 9), D(2027, 1, 4), D(2027, 3, 1))]
    old_request = open_case(session, Kind.SERVICE_REQUEST, at(D(2026, 2, 2)), "bot", channel="email",
                            theme="repairs", team="Repairs")
    for index, spec in ABOUT_REQUESTS.values():
        request = requests[index] if index >= 0 else old_request
        complaint = raise_complaint_about_request(session, request, at(spec.received - dt.timedelta(days=1)), "advisor")
        _play(session, life, complaint, spec, (first, second))
    for day, team in ((D(2026, 5, 1), "Repairs"), (D(2026, 12, 24), "Repairs"), (D(2027, 2, 14), "ASB")):
        open_case(session, Kind.COMPLIMENT, at(day), "bot", channel="email", theme="repairs", team=team)
    open_case(session, Kind.ENQUIRY, at(D(2026, 6, 2)), "bot", channel="webchat", theme="rent", team="Rents")
    open_case(session, Kind.FEEDBACK, at(D(2026, 6, 3)), "bot", channel="email", theme="other", team="Repairs")
    open_case(session, Kind.COMPLIMENT, at(D(2027, 4, 1)), "bot", channel="email", theme="repairs", team="Repairs")
    # Advisors' reviews: two agree, one corrects the theme, one the kind; one is from before the year.
    _review(session, first, D(2026, 5, 11), ("complaint", "repairs"), ("complaint", "repairs"))
    _review(session, first, D(2026, 5, 12), ("service_request", "repairs"), ("service_request", "repairs"))
    _review(session, first, D(2026, 6, 8), ("complaint", "repairs"), ("complaint", "damp_mould"))
    _review(session, second, D(2026, 7, 9), ("service_request", "asb"), ("complaint", "asb"))
    _review(session, first, D(2026, 3, 20), ("enquiry", "rent"), ("complaint", "rent"))
    session.commit()
    return session


def report(session: Session) -> dict:
    return build_report(session, YEAR, CAL, homes_owned=2000, landlord="Example Housing")


def test_ch01_and_ch02_including_the_year_boundary_and_an_answer_late_inside_its_extension(year: Session) -> None:
    r = report(year)
    # Stage 1 received in the year: c2-c9, c11, c12, c13, c14, c17-c20 = 16; c1 was received in March,
    # c10 was refused before it was logged, and the two offers not taken up were never logged.
    assert r["stages"]["1"]["received"] == 16 and r["stages"]["2"]["received"] == 3
    assert r["ch01"] == {"stage1_per_1000_homes": 8.0, "stage2_per_1000_homes": 1.5}
    # Answered in the year: c1 (received in March, answered in April), c2-c7, c13, c17, c19, c20 = 11;
    # c11 is answered in April 2027. Within 10 working days of acknowledgement: all but c2, c3, c4.
    # c2 was answered on day 15 of an extension to 20, so it counts once extensions are counted.
    one = r["stages"]["1"]
    assert (one["responded"], one["within_timescale"], one["within_timescale_with_extensions"]) == (11, 8, 9)
    assert r["ch02"] == {"stage1_within_timescale_share": 0.7273,
                         "stage1_within_timescale_with_extensions_share": 0.8182,
                         "stage2_within_timescale_share": 0.5, "stage2_within_timescale_with_extensions_share": 0.5}
    assert one["extended"] == 2
    assert r["timescales_table"] == [
        {"stage": "Stage 1", "received": 16, "responded": 11, "within_timescale": 8, "within_timescale_share": 0.7273,
         "within_timescale_with_extensions": 9},
        {"stage": "Stage 2", "received": 3, "responded": 2, "within_timescale": 1, "within_timescale_share": 0.5,
         "within_timescale_with_extensions": 1},
    ]


def test_acknowledgement_and_response_times_in_working_days(year: Session) -> None:
    one, two = report(year)["stages"]["1"], report(year)["stages"]["2"]
    # Acknowledged in the year: c2-c8, c11, c12, c13, c17, c19, c20 (c1 was acknowledged in March).
    assert (one["acknowledged"], one["acknowledged_within_5_working_days"]) == (13, 12)
    assert one["average_working_days_to_acknowledge"] == round(36 / 13, 1) == 2.8
    assert one["average_working_days_to_respond"] == round(100 / 11, 1) == 9.1
    assert (two["acknowledged"], two["acknowledged_within_5_working_days"]) == (2, 1)
    assert (two["average_working_days_to_acknowledge"], two["average_working_days_to_respond"]) == (6.0, 21.0)


def test_outcomes_remedies_and_outcomes_by_service_area(year: Session) -> None:
    one, two = report(year)["stages"]["1"], report(year)["stages"]["2"]
    assert one["outcomes"] == {"upheld": 5, "partly_upheld": 1, "not_upheld": 5, "withdrawn": 1}
    assert two["outcomes"] == {"upheld": 1, "partly_upheld": 1, "not_upheld": 0, "withdrawn": 0}
    assert {k: v for k, v in one["remedies"].items() if v} == {"apology": 2, "financial": 2}
    assert {k: v for k, v in two["remedies"].items() if v} == {"explanation": 1}
    assert one["outcomes_by_team"] == {
        "ASB": {"upheld": 1, "partly_upheld": 0, "not_upheld": 0, "withdrawn": 0},
        "Communal": {"upheld": 0, "partly_upheld": 0, "not_upheld": 0, "withdrawn": 1},
        "Rents": {"upheld": 0, "partly_upheld": 0, "not_upheld": 1, "withdrawn": 0},
        "Repairs": {"upheld": 4, "partly_upheld": 1, "not_upheld": 3, "withdrawn": 0},
        "Tenancy": {"upheld": 0, "partly_upheld": 0, "not_upheld": 1, "withdrawn": 0},
    }


def test_volumes_by_theme_team_channel_and_month(year: Session) -> None:
    by = report(year)["complaints_by"]
    assert by["theme"] == {"repairs": 7, "damp_mould": 2, "asb": 1, "tenancy": 2, "rent": 1, "allocations": 1,
                           "communal": 1, "leasehold": 1, "staff_conduct": 0, "complaint_handling": 0, "other": 0}
    assert by["team"] == {"Repairs": 9, "Tenancy": 2, "ASB": 1, "Allocations": 1, "Communal": 1, "Leasehold": 1,
                          "Rents": 1}
    assert by["channel"] == {"email": 10, "webchat": 3, "telegram": 2, "letter": 1}
    assert by["month"] == {"2026-04": 2, "2026-05": 1, "2026-06": 2, "2026-07": 2, "2026-08": 1, "2026-09": 2,
                           "2026-10": 2, "2026-11": 1, "2026-12": 1, "2027-01": 0, "2027-02": 1, "2027-03": 1}


def test_refusals_requests_choices_compliments_and_agreement(year: Session) -> None:
    r = report(year)
    assert r["refused"] == {"total": 3, "by_reason": {"legal_proceedings": 2, "over_twelve_months": 1},
                            "by_stage": {"before logging": 1, "stage 1": 1, "stage 2": 1},
                            "by_theme": {"damp_mould": 1, "leasehold": 1, "repairs": 1}}
    # Complaints opened in the year: c2-c20 (19) and the three reviewed cases confirmed as complaints.
    assert r["contacts"]["by_kind"] == {"complaint": 22, "service_request": 6, "enquiry": 1, "compliment": 3,
                                        "feedback": 1}
    assert r["contacts"]["by_channel"] == {"email": 26, "webchat": 4, "telegram": 2, "letter": 1}
    assert r["contacts"]["by_month"]["2026-06"] == {"complaint": 3, "service_request": 0, "enquiry": 1,
                                                    "compliment": 0, "feedback": 1}  # c3, c13 and a review
    for kind, total in r["contacts"]["by_kind"].items():
        assert sum(month[kind] for month in r["contacts"]["by_month"].values()) == total
    assert r["service_requests"] == {"recorded": 6, "became_complaints": 2, "became_complaints_share": 0.3333,
                                     "by_team": {"Repairs": 6}}
    # four offered by the bot, and the July request an advisor corrected to a complaint: offered the choice too
    assert r["choice_offered"] == {"offered": 5, "chose_complaint": 2, "chose_request": 1, "no_answer_yet": 2}
    assert r["compliments"] == {"total": 3, "by_team": {"Repairs": 2, "ASB": 1}}
    agreement = r["model_agreement"]
    assert {k: v for k, v in agreement.items() if k != "by_month"} == {
        "reviews": 4, "kind_agreed": 3, "kind_share": 0.75, "theme_agreed": 3, "theme_share": 0.75,
        "both_agreed": 2, "both_share": 0.5}
    assert agreement["by_month"]["2026-05"] == {"reviews": 2, "both_agreed": 2, "share": 1.0}
    assert agreement["by_month"]["2026-06"] == {"reviews": 1, "both_agreed": 0, "share": 0.0}
    assert agreement["by_month"]["2026-08"] == {"reviews": 0, "both_agreed": 0, "share": None}


def test_a_day_either_side_of_the_period_moves_the_counts(year: Session) -> None:
    """The bounds are London dates, both included: 31 March 2027 counts, 1 April 2027 does not."""
    march = build_report(year, Period(D(2027, 3, 25), D(2027, 3, 31)), CAL, homes_owned=0, landlord="x")
    assert march["stages"]["1"]["received"] == 1 and march["ch01"]["stage1_per_1000_homes"] is None
    assert march["compliments"]["total"] == 0 and march["choice_offered"]["offered"] == 1
    april = build_report(year, Period(D(2027, 4, 1), D(2027, 4, 30)), CAL, homes_owned=0, landlord="x")
    assert april["compliments"]["total"] == 1 and april["stages"]["1"]["responded"] == 1  # c11, answered in April


def test_renderings_carry_the_same_numbers(year: Session) -> None:
    r = report(year)
    rows = list(csv.DictReader(io.StringIO(to_csv(r))))
    table = {(row["table"], row["row"]): row["value"] for row in rows}
    assert table[("ch02", "stage1_within_timescale_share")] == "0.7273"
    assert table[("stages / 1 / outcomes_by_team / Repairs", "upheld")] == "4"
    assert table[("timescales_table / Stage 2", "within_timescale")] == "1"
    html = to_html(r)
    assert html.count("<svg") == 4 and "72.7%" in html and "81.8%" in html
    assert re.search(r"<th scope=\"row\">legal proceedings</th><td class=\"num\">2</td>", html)
    text = to_text(r)
    assert "72.7%" in text and "refused: 3" in text


def test_names_in_the_report_are_escaped(session: Session) -> None:
    open_case(session, Kind.COMPLIMENT, at(D(2026, 5, 1)), "bot", channel="email", team="<script>alert(1)</script>")
    session.commit()
    html = to_html(build_report(session, YEAR, CAL, homes_owned=10, landlord="<b>Landlord</b>"))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Landlord" not in html


def test_the_command_prints_json_csv_and_html(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import app

    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'triage.db'}")
    monkeypatch.setenv("TRIAGE_HOMES_OWNED", "4000")
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--from", "2026-04-01", "--to", "2027-03-31", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["homes_owned"] == 4000 and figures["stages"]["1"]["received"] == 0
    assert figures["period"] == {"from": "2026-04-01", "to": "2027-03-31"}
    result = runner.invoke(app, ["report", "--from", "2026-04-01", "--to", "2027-03-31", "--csv"])
    assert result.exit_code == 0 and result.output.startswith("table,row,value\n")
    result = runner.invoke(app, ["report", "--from", "2026-04-01", "--to", "2027-03-31", "--html"])
    assert result.exit_code == 0 and result.output.lstrip().startswith("<!doctype html>")
    result = runner.invoke(app, ["report", "--from", "2027-04-01", "--to", "2026-04-01"])
    assert result.exit_code == 2 and "ends" in result.output


# -- The report's sections on learning, service improvements and the Ombudsman's findings (8.1 c, d) --


def _complaint(session: Session, received: dt.date) -> Case:
    from sqlalchemy import select

    return session.scalars(select(Case).where(Case.received_on == received)).one()


@pytest.fixture
def improved(year: Session) -> Session:
    from workflow import improvements
    from workflow.findings import record_finding
    from workflow.learning import record_learning

    c1, c7, c4 = (_complaint(year, COMPLAINTS[name].received) for name in ("c1", "c7", "c4"))
    c19 = _complaint(year, ABOUT_REQUESTS["c19"][1].received)
    bo = year.query(User).filter_by(username="bo").one()
    texts = improvements.create(year, title="Text residents the day before a <repair> appointment", team="Repairs",
                                owner_id=bo.id, due_on=D(2026, 11, 30), actor="bo", at=at(D(2026, 10, 20)),
                                complaints=[c1, c7, c19])
    improvements.set_status(year, texts, "done", "bo", at(D(2026, 12, 1)), evidence="Texts sent since 1 December")
    improvements.create(year, title="ASB case reviews every two weeks", team="ASB", owner_id=None,
                        due_on=D(2027, 6, 30), actor="bo", at=at(D(2026, 8, 1)), complaints=[c4])
    for case, stage, causes in ((c1, 1, ["repair_not_done"]), (c7, 1, ["appointment_missed", "contractor"]),
                                (c7, 2, ["appointment_missed"]), (c4, 1, ["reports_not_acted_on"])):
        record_learning(year, case, stage, causes, "", "bo", at(D(2027, 3, 1)))
    record_finding(year, bo, at(D(2026, 11, 25)), ombudsman_reference="202612345", decided_on=D(2026, 11, 20),
                   finding="non_compliance", provisions=["6.2", "6.3"], summary="Late acknowledgements", case=c7)
    record_finding(year, bo, at(D(2027, 4, 25)), ombudsman_reference="202700001", decided_on=D(2027, 4, 20),
                   finding="maladministration", summary="After the year")
    year.commit()
    return year


def test_an_improvement_from_three_complaints_appears_once_with_all_three(improved: Session) -> None:
    refs = [_complaint(improved, day).reference for day in (COMPLAINTS["c1"].received, COMPLAINTS["c7"].received,
                                                            ABOUT_REQUESTS["c19"][1].received)]
    r = report(improved)
    made = r["improvements"]["made"]
    assert list(made) == ["IMP-2026-00001"] and made["IMP-2026-00001"]["complaints"] == refs
    assert made["IMP-2026-00001"]["done_on"] == "2026-12-01" and made["IMP-2026-00001"]["status"] == "done"
    assert list(r["improvements"]["planned"]) == ["IMP-2026-00002"]
    assert (r["improvements"]["made_total"], r["improvements"]["planned_total"],
            r["improvements"]["complaints_behind_them"]) == (1, 1, 4)
    html = to_html(r)
    assert html.count("IMP-2026-00001") == 1 and ", ".join(refs) in html
    assert "&lt;repair&gt;" in html and "<repair>" not in html
    rows = [row for row in csv.DictReader(io.StringIO(to_csv(r)))
            if row["table"] == "improvements / made / IMP-2026-00001 / complaints"]
    assert [row["value"] for row in rows] == refs


def test_learning_by_theme_and_the_ombudsmans_findings_in_every_form(improved: Session) -> None:
    r = report(improved)
    # Upheld or partly upheld answers in the year: c1, c2, c4, c7, c13, c19 at stage 1, c6 and c7 at stage 2.
    assert (r["learning"]["upheld_stages"], r["learning"]["recorded"]) == (8, 4)
    assert len(r["learning"]["not_recorded"]) == 4
    assert r["learning"]["by_theme"] == {
        "repairs": {"stages": 3, "causes": {"Appointment missed or not made": 2, "Contractor's work or conduct": 1,
                                            "Repair not done": 1}},
        "asb": {"stages": 1, "causes": {"Reports not acted on": 1}}}
    found = r["ombudsman_findings"]
    assert (found["total"], found["non_compliance"]) == (1, 1)  # the April 2027 one is after the year
    assert found["findings"]["202612345"]["provisions"] == ["6.2", "6.3"]
    assert found["findings"]["202612345"]["complaint"] == _complaint(improved, COMPLAINTS["c7"].received).reference
    html = to_html(r)
    assert re.search(r"<th scope=\"row\">repairs</th><td class=\"num\">3</td><td>Appointment missed or not made "
                     r"\(2\); Contractor&#39;s work or conduct \(1\); Repair not done \(1\)</td>", html)
    assert "202612345" in html and "non compliance" in html and "202700001" not in html
    table = {(row["table"], row["row"]): row["value"] for row in csv.DictReader(io.StringIO(to_csv(r)))}
    assert table[("ombudsman_findings", "non_compliance")] == "1"
    assert table[("learning / by_theme / repairs", "stages")] == "3"
    assert json.loads(json.dumps(r))["learning"]["by_theme"]["asb"]["stages"] == 1


def test_an_improvement_done_after_the_year_shows_as_it_stood_at_the_years_end(improved: Session) -> None:
    from workflow import improvements

    asb = improvements.by_reference(improved, "IMP-2026-00002")
    assert asb is not None
    improvements.set_status(improved, asb, "in_progress", "bo", at(D(2027, 1, 5)))
    improvements.set_status(improved, asb, "done", "bo", at(D(2027, 4, 20)), evidence="Reviews every fortnight")
    improved.commit()
    planned = report(improved)["improvements"]["planned"]["IMP-2026-00002"]
    assert (planned["status"], planned["done_on"], planned["evidence"]) == ("in_progress", None, None)
    april = build_report(improved, Period(D(2027, 4, 1), D(2027, 4, 30)), CAL, homes_owned=0, landlord="x")
    assert list(april["improvements"]["made"]) == ["IMP-2026-00002"]
