"""The console in a real Chromium, and every route checked for its role over HTTP."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.service import tick
from classifier.model import TriageModel
from tests.desk import Desk
from tests.servers import chromium, unavailable, web_server
from workflow.models import AuditEvent, Case, Message, Review, User
from workflow.users import add_user

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def desk(database_url: str, tmp_path: Path, model: TriageModel) -> Iterator[Desk]:
    """Every console journey on SQLite and on the real PostgreSQL server (conftest's database_url)."""
    desk = Desk(database_url, tmp_path / "data", model)
    yield desk
    desk.context.engine.dispose()


@pytest.fixture
def console(desk: Desk, trained_data_dir: Path) -> Iterator[tuple[str, Desk]]:
    import shutil

    from bot.web import create_app

    model_path = desk.context.settings.model_path  # the current model, as `triage run` would have it
    model_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(trained_data_dir / "model" / "triage.skops", model_path)
    with desk.context.sessions() as session:
        add_user(session, "alex", "advisor", PASSWORD, desk.clock, "test")
        add_user(session, "sam", "supervisor", PASSWORD, desk.clock, "test", email="sam@example.org")
        add_user(session, "ada", "admin", PASSWORD, desk.clock, "test")
        session.commit()
    desk.write("There is a strong smell of gas in my kitchen", sender="gas@example.net")
    desk.write("<script>window.pwned=1</script> Please can you tell me when the bins are collected?",
               sender="bins@example.net")
    desk.write("I want to make a formal complaint about the repairs contractor who damaged my floor.",
               sender="floor@example.net")
    tick(desk.context, desk.model)
    with web_server(create_app(desk.context)) as url:
        yield url, desk


def open_case(browser: Any, url: str, name: str, reference: str, **options: Any) -> tuple[Any, Any]:
    """A fresh browser context (with Playwright's options) signed in as name, on the case's page: (context, page)."""
    context = browser.new_context(**options)
    page = context.new_page()
    sign_in(page, url, name)
    page.goto(f"{url}/console/cases/{reference}")
    return context, page


def sign_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/console/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()  # signed in: the next page has loaded


def test_an_advisor_works_the_queue_and_corrects_a_suggestion_a_supervisor_then_sees_it(
        browser: Any, console: tuple[str, Desk]) -> None:
    url, desk = console
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    first_row = page.locator("tbody tr").first
    assert "emergency hazard" in first_row.inner_text()  # hazards head the queue
    with desk.context.sessions() as session:
        bins = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                              .where(Message.sender == "bins@example.net"))
        assert bins is not None
        reference, suggested = bins.reference, bins.kind
    page.get_by_role("link", name=reference).click()
    assert "<script>window.pwned=1</script>" in page.locator(".record").inner_text()
    assert page.evaluate("window.pwned") is None
    page.get_by_label("Kind").select_option("compliment")  # surely not what the model said about the bins
    page.get_by_label("Theme").select_option("rent")
    page.get_by_role("button", name="Save the correction").click()
    page.get_by_role("status").get_by_text("Saved.").wait_for()
    assert page.get_by_role("link", name="Review corrections").count() == 0  # not for advisors
    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/console/login")

    sign_in(page, url, "sam")
    page.get_by_role("link", name="Review corrections").click()
    table = page.locator("tbody").inner_text()
    assert suggested.replace("_", " ") in table and "compliment, rent" in table and "alex" in table
    page.get_by_label("Advisor").select_option("sam")
    page.get_by_role("button", name="Filter").click()
    assert "No corrections match." in page.locator("tbody").inner_text()
    page.get_by_role("link", name="Agreement").click()
    assert "0 of 1 reviews agreed" in page.locator("main").inner_text()
    assert page.locator(".matrix td.miss").count() >= 1
    page.get_by_role("link", name="Deadlines").click()
    assert "stage 1 acknowledgement" in page.get_by_role("table").filter(has_text="Coming up").inner_text()
    context.close()
    with desk.context.sessions() as session:
        review = session.scalar(select(Review))
        assert review is not None and (review.confirmed_kind, review.confirmed_theme) == ("compliment", "rent")
        case = session.get(Case, review.case_id)
        assert case is not None and case.kind == "compliment" and case.theme == "rent"


def test_a_supervisor_reads_the_complaints_report_for_a_period_and_downloads_it(
        browser: Any, console: tuple[str, Desk]) -> None:
    import datetime as dt

    from workflow.calendar import london_date
    from workflow.models import ComplaintStage

    url, desk = console
    today = london_date(desk.clock)
    with desk.context.sessions() as session:
        stage1 = len(session.scalars(select(ComplaintStage).where(ComplaintStage.number == 1)).all())
        requests = len(session.scalars(select(Case).where(Case.kind == "service_request")).all())
    assert stage1 >= 1  # the formal complaint was logged by the bot
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, url, "sam")
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("From", exact=True).fill((today - dt.timedelta(days=7)).isoformat())
    page.get_by_label("To (included)").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    timescales = page.get_by_role("table").filter(has_text="Complaints received and answered")
    assert timescales.get_by_role("row").nth(1).inner_text().split()[:3] == ["Stage", "1", str(stage1)]
    recorded = page.get_by_role("row", name=re.compile("^Service requests recorded"))
    assert recorded.inner_text().split()[-1] == str(requests)
    assert page.locator("svg.chart").count() == 4
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV for a spreadsheet").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "table,row,value" and f"stages / 1,received,{stage1}" in rows
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Console").is_visible()  # the printout is the report alone
    page.emulate_media(media="screen")
    page.get_by_label("From", exact=True).fill((today - dt.timedelta(days=400)).isoformat())
    page.get_by_label("To (included)").fill((today - dt.timedelta(days=300)).isoformat())
    page.get_by_role("button", name="Show").click()
    assert timescales.get_by_role("row").nth(1).inner_text().split()[:3] == ["Stage", "1", "0"]
    page.goto(f"{url}/console/reports?from=2026-13-01")
    assert "cannot be used" in page.locator("main").inner_text()
    context.close()


def login(client: httpx.Client, name: str) -> None:
    page = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/console/login", data={"username": name, "password": PASSWORD, "csrf": token})
    assert response.status_code == 303


def test_every_route_checks_the_role_and_every_form_its_token(console: tuple[str, Desk]) -> None:
    url, desk = console
    with desk.context.sessions() as session:
        reference = session.scalars(select(Case.reference)).first()
    advisors = ["/console/", f"/console/cases/{reference}", "/console/search?q=gas", "/console/attention"]
    supervisors = ["/console/reviews", "/console/agreement", "/console/deadlines", "/console/model",
                   "/console/reports", "/console/reports?format=csv"]
    admins = ["/console/letters", "/console/letters/receipt", "/console/replies"]
    with httpx.Client(base_url=url, follow_redirects=False) as anonymous:
        for path in advisors + supervisors + admins:
            response = anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/console/login", path
        assert anonymous.post(f"/console/cases/{reference}/review", data={"kind": "complaint"}).status_code == 303
    for name, allowed in (("alex", advisors), ("sam", advisors + supervisors), ("ada", advisors + supervisors + admins)):
        with httpx.Client(base_url=url, follow_redirects=False) as client:
            login(client, name)
            for path in advisors + supervisors + admins:
                expected = 200 if path in allowed else 403
                assert client.get(path).status_code == expected, (name, path)
            if name == "alex":
                refused = client.post(f"/console/cases/{reference}/review", data={"kind": "complaint",
                                                                                  "theme": "other"})
                assert refused.status_code == 403  # no CSRF token
                assert client.post("/console/logout", data={"csrf": "guessed"}).status_code == 403
                assert client.post("/console/letters/receipt", data={"text": "x"}).status_code == 403
                assert client.post("/console/replies", data={"title": "x", "text": "x"}).status_code == 403
                for odd in ("/console/?page=abc", "/console/?page=100000000000000000", "/console/?page=99",
                            "/console/?owner=99999999999999999999", "/console/?owner=%C2%B2",
                            f"/console/cases/{reference}?use=99999999999999999999", f"/console/cases/{reference}?use=abc"):
                    answer = client.get(odd)  # these were 500s or FastAPI's JSON, not a page
                    assert answer.status_code in (400, 404) and "text/html" in answer.headers["content-type"], odd
                spoofed = client.get(f"/console/cases/{reference}?done=Call+07700+900123+to+confirm+your+bank")
                assert spoofed.status_code == 200 and "07700 900123" not in spoofed.text, "no status line from the URL"
                assert client.post("/console/bulk", data={"do": "confirm", "cases": reference}).status_code == 403
            if name == "sam":
                for far in ("/console/reports?from=0001-01-01&to=9999-12-31", "/console/reviews?to=9999-12-31",
                            "/console/agreement?from=9999-12-31"):
                    refused = client.get(far)
                    assert refused.status_code == 400 and "between 2000 and 2099" in refused.text, far
            if name == "ada":
                assert client.post("/console/replies", data={"title": "x", "text": "x"}).status_code == 403  # token
    with httpx.Client(base_url=url, follow_redirects=False) as stranger:
        page = stranger.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        bad = stranger.post("/console/login", data={"username": "alex", "password": "wrong password!", "csrf": token})
        assert bad.status_code == 401 and "do not match" in bad.text
    with desk.context.sessions() as session:
        assert session.scalar(select(Review)) is None


def test_an_advisor_acknowledges_and_answers_a_complaint_and_the_resident_gets_each_letter(
        browser: Any, console: tuple[str, Desk]) -> None:
    from tests.desk import text

    url, desk = console
    desk.replies()  # what the bot already sent
    with desk.context.sessions() as session:
        complaint = session.scalar(select(Case).where(Case.kind == "complaint"))
        assert complaint is not None
        reference = complaint.reference
    context, page = open_case(browser, url, "alex", reference)
    assert "working days left" in page.locator(".deadline").inner_text()
    assert "repairs contractor who damaged my floor" in page.get_by_label("Complaint definition").input_value()
    page.get_by_label("Outcomes the resident wants").fill("A new floor and an apology")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    assert "Acknowledged. The response is due by" in page.get_by_role("status").inner_text()
    (acknowledgement,) = [m for m in desk.replies() if m["To"] == "floor@example.net"]
    assert "A new floor and an apology" in text(acknowledgement) and "repairs contractor" in text(acknowledgement)

    page.get_by_label("Decision", exact=True).select_option("upheld")
    page.get_by_label("The decision in words").fill("We agree the contractor damaged your floor.")
    page.get_by_label("The reasons").fill("The photos show the damage after the visit.")
    page.get_by_label("apology").check()
    page.get_by_label("What will be done or paid").fill("A written apology and a new floor")
    page.get_by_label("Outstanding actions, one a line").fill("Lay a new kitchen floor")
    page.get_by_role("button", name="Send the response").click()
    assert "The response has been sent." in page.get_by_role("status").inner_text()
    facts = page.locator(".facts").inner_text()
    assert page.locator(".deadline").count() == 0, "no working days are counted down once the response is sent"
    assert "stage 1 responded" in facts and "acknowledge by 23 November 2026" in facts, facts  # words, GOV.UK dates
    page.reload()
    assert page.get_by_role("status").count() == 0, "the status line is shown once, from the session"
    (response,) = [m for m in desk.replies() if m["To"] == "floor@example.net"]
    body = " ".join(text(response).split())
    for required in ("this is our answer", "What we understood your complaint to be", "We agree with your complaint.",
                     "Why: The photos", "We are sorry.", "Lay a new kitchen floor", "ask us to look again",
                     "This is stage 2"):
        assert required in body, required

    page.get_by_role("button", name="The resident asked for stage 2 (no reasons needed)").click()
    page.get_by_label("Outcomes the resident wants").fill("A review")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    assert "Nothing was changed" in page.locator("main").inner_text()  # 6.13: not the stage 1 handler
    context.close()


def test_a_handler_replies_notes_and_takes_a_repair_from_report_to_done_and_back(
        browser: Any, console: tuple[str, Desk]) -> None:
    """Only the Code's fixed letters could be sent, and nothing at all on a service request; a repair
    could not be started, finished or closed, so every repair stayed open for ever."""
    from tests.desk import reference_in, text

    url, desk = console
    written = desk.write("My kitchen tap has been dripping for a week, please send a plumber.", sender="tap@example.net")
    (receipt,) = [m for m in desk.replies() if m["To"] == "tap@example.net"]
    reference = reference_in(receipt)
    assert desk.case(reference).kind == "service_request"
    context, page = open_case(browser, url, "alex", reference)

    page.get_by_label("Your reply, sent where they last wrote from").fill("The plumber is booked for Monday morning.")
    page.get_by_role("button", name="Send the reply").click()
    assert "Sent to the resident." in page.get_by_role("status").inner_text()
    (reply,) = desk.replies()
    assert reply["To"] == "tap@example.net" and reply["In-Reply-To"] == written
    assert "The plumber is booked for Monday morning." in text(reply) and reference in text(reply)

    page.get_by_label("A note for staff (never sent to the resident)").fill("She works nights: ring after 2pm.")
    page.get_by_role("button", name="Add the note").click()
    assert "Noted. Notes are never sent." in page.get_by_role("status").inner_text()
    assert "She works nights: ring after 2pm." in page.locator("section", has_text="Private notes").inner_text()
    assert desk.replies() == [], "a note is never sent"

    page.get_by_role("button", name="Start work on it").click()
    assert desk.case(reference).status == "in_progress"
    page.get_by_label("What was done, in words the resident will read (optional)").fill(
        "The plumber fitted a new washer to the kitchen tap.")
    page.get_by_role("button", name="Mark it done").click()
    assert "Done. The resident has been told." in page.get_by_role("status").inner_text()
    (done,) = desk.replies()
    assert "We have finished your request" in text(done) and "new washer" in text(done)
    assert desk.case(reference).status == "done" and desk.case(reference).ended_on is not None

    page.get_by_role("button", name="Open it again (it is not done)").click()
    assert "Opened again." in page.get_by_role("status").inner_text()
    assert desk.case(reference).status == "open" and desk.case(reference).ended_on is None
    page.get_by_role("button", name="Mark it done").wait_for()
    page.get_by_label("Do not tell the resident").check()
    page.get_by_role("button", name="Mark it done").click()
    assert "not told" in page.get_by_role("status").inner_text() and desk.replies() == []
    assert page.get_by_role("button", name="Start work on it").count() == 0, "a done request is not started"
    context.close()


def test_a_compliment_is_passed_to_its_team_and_the_resident_thanked(browser: Any, console: tuple[str, Desk]) -> None:
    """A compliment was "passed to the team" in the letter only: nobody in the team ever saw it."""
    from tests.desk import reference_in, text

    url, desk = console
    desk.replies()
    desk.write("I just wanted to say a big thank you to the plumber who fixed our boiler yesterday. He was polite, "
               "tidy and explained everything.", sender="thanks@example.net")
    (receipt,) = desk.replies()
    reference = reference_in(receipt)
    assert desk.case(reference).kind == "compliment"
    context, page = open_case(browser, url, "alex", reference)
    page.get_by_role("button", name="Mark it done").click()
    status = page.get_by_role("status").inner_text()
    assert "so it went to every supervisor (1 person)" in status and "The resident has been told." in status
    letters = {m["To"]: m for m in desk.replies()}
    assert set(letters) == {"thanks@example.net", "sam@example.org"}
    assert "We have passed it to the team it is about" in text(letters["thanks@example.net"])
    assert "polite, tidy and explained everything" in text(letters["sam@example.org"])
    assert desk.case(reference).status == "done"
    page.get_by_role("button", name="Open it again (it is not done)").click()
    page.get_by_label("Do not tell the resident").check()
    page.get_by_role("button", name="Mark it done").click()
    assert "already been passed to" in page.get_by_role("status").inner_text() and desk.replies() == []
    context.close()


def test_a_handler_takes_a_case_a_supervisor_reassigns_it_and_the_queue_shows_whose_it_is(
        browser: Any, console: tuple[str, Desk]) -> None:
    """Nobody owned a case: the deadline dashboard listed every handler as "nobody yet"."""
    url, desk = console
    with desk.context.sessions() as session:
        complaint = session.scalar(select(Case).where(Case.kind == "complaint"))
        assert complaint is not None
        reference = complaint.reference
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    page.goto(f"{url}/console/?view=mine")
    assert reference not in page.locator("main").inner_text()
    page.goto(f"{url}/console/cases/{reference}")
    assert "nobody yet" in page.locator(".facts").inner_text()
    page.get_by_role("button", name="Take it").click()
    assert "It is yours." in page.get_by_role("status").inner_text()
    assert "alex" in page.locator(".facts").inner_text() and page.get_by_role("button", name="Take it").count() == 0
    page.goto(f"{url}/console/?view=mine")
    assert reference in page.locator("main").inner_text()
    page.goto(f"{url}/console/?view=unassigned")
    assert reference not in page.locator("main").inner_text()
    context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "sam")
    page.goto(f"{url}/console/cases/{reference}")
    page.get_by_label("Give it to").select_option(label="ada")
    page.get_by_role("button", name="Assign").click()
    assert "Given to ada." in page.get_by_role("status").inner_text()
    page.goto(f"{url}/console/deadlines")
    assert "ada" in page.locator("tr", has_text=reference).first.inner_text(), "the dashboard names the owner"
    with desk.context.sessions() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.action == "assigned").order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("assigned", "alex"), ("assigned", "sam")]
    page.goto(f"{url}/console/cases/{reference}")
    page.get_by_label("Team", exact=True).select_option("Tenancy services")
    page.get_by_role("button", name="Move to this team").click()
    assert "Moved to Tenancy services." in page.get_by_role("status").inner_text()
    # A forged or stale form naming a team that does not exist used to put the case in a queue nobody works.
    token = page.locator("input[name=csrf]").first.input_value()
    forged = page.request.post(f"{url}/console/cases/{reference}/act/team", form={"csrf": token, "team": "Nobody's queue"})
    assert forged.status == 400 and "there is no team called" in forged.text()
    with desk.context.sessions() as session:
        assert session.scalars(select(Case.team).where(Case.reference == reference)).one() == "Tenancy services"
    context.close()

    with desk.context.sessions() as session:  # ada's address, as `triage users add ada --email ...` gives it
        session.scalars(select(User).where(User.username == "ada")).one().email = "ada@example.org"
        session.commit()
    desk.replies()
    desk.later(days=4)  # Friday: the deadline on Monday is within the reminder's two working days
    tick(desk.context, desk.model)
    reminders = [m["To"] for m in desk.replies() if reference in m["Subject"] and "acknowledgement" in m["Subject"]]
    assert reminders == ["ada@example.org"], "the reminder goes to the owner, not to every supervisor"


def test_a_correction_of_kind_goes_through_the_lifecycle_and_the_resident_is_told(
        browser: Any, console: tuple[str, Desk]) -> None:
    """An enquiry corrected to a complaint showed "allowed actions: nothing" and could not be logged; the
    resident was never offered the choice. (The bins question is taken for a request or an enquiry.)"""
    from tests.desk import text

    url, desk = console
    desk.replies()
    with desk.context.sessions() as session:
        enquiry = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                                 .where(Message.sender == "bins@example.net", Case.kind != "complaint"))
        complaint = session.scalar(select(Case).where(Case.kind == "complaint"))
        assert enquiry is not None and complaint is not None
        enquiry_ref, complaint_ref = enquiry.reference, complaint.reference
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    page.goto(f"{url}/console/cases/{enquiry_ref}")
    page.get_by_label("Kind").select_option("complaint")
    page.get_by_role("button", name="Save the correction").click()
    assert "offered the choice" in page.get_by_role("status").inner_text()
    (offer,) = desk.replies()
    assert offer["To"] == "bins@example.net" and "COMPLAINT or REQUEST" in text(offer) and enquiry_ref in text(offer)
    assert desk.case(enquiry_ref).status == "choice_offered"
    assert page.get_by_role("button", name="Refuse and tell the resident").count() == 1, "complaint actions now"
    desk.write("Complaint please", sender="bins@example.net", answering=offer)
    (logged,) = desk.replies()
    assert enquiry_ref in text(logged) and desk.case(enquiry_ref).status == "stage1_logged", "the same reference"

    page.goto(f"{url}/console/cases/{complaint_ref}")
    page.get_by_label("Kind").select_option("service_request")
    page.get_by_role("button", name="Save the correction").click()
    assert "the complaint has ended and the resident has been told" in page.get_by_role("status").inner_text()
    (told,) = desk.replies()
    assert told["To"] == "floor@example.net" and "not a complaint" in text(told) and complaint_ref in text(told)
    corrected = desk.case(complaint_ref)
    assert (corrected.kind, corrected.status, corrected.stages) == ("service_request", "open", [])
    assert page.get_by_role("button", name="Start work on it").count() == 1, "request actions now"
    context.close()


def test_the_code_s_records_are_made_in_the_console_and_honoured(browser: Any, console: tuple[str, Desk]) -> None:
    """Restrictions, adjustments, disclosures, agreed update intervals and outstanding actions existed as
    tables and scheduler code, but were created only in tests."""
    from workflow.models import ComplaintStage, OutstandingAction

    url, desk = console
    desk.replies()
    with desk.context.sessions() as session:
        complaint = session.scalar(select(Case).where(Case.kind == "complaint"))
        assert complaint is not None
        reference = complaint.reference
    context, page = open_case(browser, url, "alex", reference)
    panel = page.get_by_role("region", name="The resident", exact=True)
    assert "email: floor@example.net" in panel.inner_text()

    page.get_by_label("What they told us").fill("Uses a wheelchair; the kitchen floor is her route out")
    page.get_by_role("button", name="Record what they told us").click()
    assert "Recorded what they told us." in page.get_by_role("status").inner_text()
    page.get_by_label("Which adjustment").select_option("large_print")
    page.get_by_label("What was agreed, in a few words").fill("Letters in large print")
    page.get_by_label("Review on").first.fill("2027-05-01")
    page.get_by_role("button", name="Record the adjustment").click()
    assert "large print" in panel.inner_text() and "Letters in large print" in panel.inner_text()
    assert "Uses a wheelchair" in panel.inner_text()

    # acknowledged first: an update interval is agreed when the response will be late
    page.get_by_label("Outcomes the resident wants").fill("A new floor")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    page.get_by_label("Updates agreed with the resident every how many days").fill("3")
    page.get_by_role("button", name="Record the agreed interval").click()
    assert "Updates agreed every 3 working days" in page.get_by_role("status").inner_text()
    with desk.context.sessions() as session:
        stage = session.scalars(select(ComplaintStage).join(Case).where(Case.reference == reference)).one()
        assert stage.update_every_days == 3 and stage.next_update_on is not None
        session.add(OutstandingAction(case_id=stage.case_id, stage_number=1, description="Lay a new floor"))
        session.commit()

    page.goto(f"{url}/console/cases/{reference}")
    page.get_by_role("button", name="Mark done: Lay a new floor").click()
    assert "Marked done." in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Mark done: Lay a new floor").count() == 0, "it left the list"

    page.get_by_label("What is restricted").fill("Phone calls to the repairs line")
    page.get_by_label("How the bot treats their messages").select_option("no_automated_replies")
    page.get_by_label("Why it is restricted").fill("Abusive calls to staff on three occasions")
    page.get_by_label("Review on").last.fill("2030-01-01")
    page.get_by_role("button", name="Record the restriction").click()
    assert "within six months" in page.locator("main").inner_text(), "a review date too far off is refused"
    page.go_back()
    page.get_by_label("Review on").last.fill((desk.clock + dt.timedelta(days=90)).date().isoformat())
    page.get_by_role("button", name="Record the restriction").click()
    assert "The bot follows it from now on." in page.get_by_role("status").inner_text()
    desk.replies()
    desk.write("When will the floor be done?", sender="floor@example.net", subject="Floor")
    assert desk.replies() == [], "under a no-automated-replies restriction the bot sends nothing"
    context.close()
    desk.later(days=3)  # Thursday: three working days after the interval was agreed
    updates = [m["To"] for m in desk.replies() if m["Subject"] == f"Update due to the resident: {reference}"]
    assert updates == ["sam@example.org"], "the agreed interval's reminder (its handler has no address: a supervisor)"


def test_an_admin_saves_a_reply_a_handler_answers_a_web_chat_with_it_and_the_console_s_offer_has_its_buttons(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:
    """Nothing kept the words handlers send every day; a reply reached only email; a choice offered from the
    console reached a chat resident as text without the buttons the bot's own offer has."""
    url, desk = console
    admin_context = browser.new_context(bypass_csp=True)  # axe is an injected script
    admin = admin_context.new_page()
    sign_in(admin, url, "ada")
    admin.get_by_role("link", name="Saved replies").click()
    new = admin.get_by_role("region", name="Add a saved reply")
    new.get_by_label("Title").fill("Repair booked")
    new.get_by_label("Words").fill("Thank you. Your repair {reference} is booked: the operative rings the day before.")
    new.get_by_role("button", name="Add the saved reply").click()
    assert "Saved." in admin.get_by_role("status").inner_text()
    assert axe_violations(admin, axe_js) == []
    admin_context.close()

    resident_context = browser.new_context()
    chat = resident_context.new_page()
    chat.set_default_timeout(20_000)
    chat.goto(f"{url}/chat")
    chat.get_by_label("Your message").fill("The extractor fan in my bathroom has stopped working, can someone fix it?")
    chat.get_by_role("button", name="Send").click()
    chat.locator("#conversation").get_by_text("extractor fan").wait_for()  # stored
    tick(desk.context, desk.model)
    with desk.context.sessions() as session:
        case = session.scalar(select(Case).where(Case.channel == "webchat"))
        assert case is not None and case.kind == "service_request"
        reference = case.reference
    chat.locator("#conversation").get_by_text(reference).first.wait_for()

    context, page = open_case(browser, url, "alex", reference, bypass_csp=True)
    page.get_by_label("Start from a saved reply").select_option(label="Repair booked")
    page.get_by_role("button", name="Use this saved reply").click()
    assert axe_violations(page, axe_js) == []
    reply = page.get_by_label("Your reply, sent where they last wrote from")
    assert reply.input_value() == f"Thank you. Your repair {reference} is booked: the operative rings the day before."
    reply.fill(reply.input_value() + " It is Tuesday morning.")
    page.get_by_role("button", name="Send the reply").click()
    assert "Sent to the resident." in page.get_by_role("status").inner_text()
    chat.locator("#conversation").get_by_text("the operative rings the day before. It is Tuesday morning.").wait_for()

    page.get_by_label("Kind").select_option("complaint")
    page.get_by_role("button", name="Save the correction").click()
    assert "offered the choice" in page.get_by_role("status").inner_text()
    before = chat.locator("#conversation li").count()
    chat.get_by_role("button", name="Make a complaint").click()
    chat.wait_for_function(f"document.querySelectorAll('#conversation li').length > {before}")  # the choice stored
    tick(desk.context, desk.model)
    chat.locator("#conversation").get_by_text("is logged").wait_for()
    assert desk.case(reference).status == "stage1_logged", "the reference the resident was given is kept"
    context.close()
    resident_context.close()


def test_under_a_named_contact_restriction_only_that_officer_writes_to_the_resident(
        browser: Any, console: tuple[str, Desk]) -> None:
    """A reply to a resident under a contact restriction was sent by whoever wrote it (5.14)."""
    from tests.desk import text

    url, desk = console
    desk.replies()
    with desk.context.sessions() as session:
        reference = session.scalars(select(Case.reference).where(Case.kind == "complaint")).one()
    context, page = open_case(browser, url, "alex", reference)
    page.get_by_label("What is restricted").fill("All contact with the repairs team")
    page.get_by_label("How the bot treats their messages").select_option("named_contact")
    page.get_by_label("The named officer or route they use instead").fill("Sam (tenancy officer), 01632 960000")
    page.get_by_label("Why it is restricted").fill("Threats to an operative during a visit")
    page.get_by_label("Review on").last.fill((desk.clock + dt.timedelta(days=90)).date().isoformat())
    page.get_by_role("button", name="Record the restriction").click()
    assert "The bot follows it from now on." in page.get_by_role("status").inner_text()
    assert "all contact goes through Sam (tenancy officer)" in page.get_by_role("region", name="Write to the resident"
                                                                                ).inner_text()
    assert page.get_by_role("button", name="Send the reply").count() == 0, "the console says so before any form"
    token = page.locator("input[name=csrf]").first.input_value()
    forged = page.request.post(f"{url}/console/cases/{reference}/act/reply", form={"csrf": token, "text": "Hello"})
    assert forged.status == 400 and "all contact goes through" in forged.text()
    forged = page.request.post(f"{url}/console/cases/{reference}/act/acknowledge",
                               form={"csrf": token, "outcomes_sought": "A new floor", "definition": "The floor"})
    assert forged.status == 400 and "all contact goes through" in forged.text(), "the Code's letters too"
    assert desk.replies() == []
    context.close()

    context, page = open_case(browser, url, "sam", reference)
    page.get_by_label("Your reply, sent where they last wrote from").fill("I will visit on Thursday with a colleague.")
    page.get_by_role("button", name="Send the reply").click()
    assert "Sent to the resident." in page.get_by_role("status").inner_text()
    (reply,) = desk.replies()
    assert reply["To"] == "floor@example.net" and "visit on Thursday" in text(reply)
    context.close()


def test_search_finds_a_case_by_reference_address_or_words(
        console: tuple[str, Desk]) -> None:
    url, desk = console
    with desk.context.sessions() as session:
        gas = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                             .where(Message.sender == "gas@example.net"))
        assert gas is not None
        reference = gas.reference
    with httpx.Client(base_url=url, follow_redirects=False) as advisor:
        login(advisor, "alex")
        for query in (reference.lower(), "gas@example", "strong smell of GAS"):
            page = advisor.get("/console/search", params={"q": query})
            assert page.status_code == 200 and f">{reference}<" in page.text, query
        assert "0 cases found" in advisor.get("/console/search", params={"q": "100%_nothing"}).text


@pytest.mark.slow
def test_a_supervisor_retrains_with_reviews_compares_the_figures_and_switches(browser: Any,
                                                                             console: tuple[str, Desk]) -> None:
    url, desk = console
    from workflow.reviews import latest_classification, record_review

    with desk.context.sessions() as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
        assert case is not None
        sam = session.scalar(select(User).where(User.username == "sam"))
        suggestion = latest_classification(session, case)
        assert sam is not None and suggestion is not None
        record_review(session, desk.context.calendar, case, suggestion, sam, kind="complaint", theme="repairs",
                      team="Repairs", at=desk.clock)
        session.commit()
    before = desk.context.settings.model_path.read_bytes()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(600_000)  # a bound on the wait, not a target: a build took 2m52s on a slow day
    sign_in(page, url, "sam")
    page.get_by_role("link", name="Retrain").click()
    page.get_by_role("button", name="Train a candidate with the reviews").click()
    assert "Training started" in page.get_by_role("status").first.inner_text()
    from bot.retraining import Retrainer

    assert Retrainer(desk.context).start("another process") is False  # one training at a time
    page.get_by_role("table").wait_for()  # the page refreshes itself until the candidate is measured
    assert page.get_by_role("button", name="Train a candidate with the reviews").is_visible()
    table = page.get_by_role("table").inner_text()
    assert "reviews added: 1" in table and "Current (" in table and "Candidate (" in table
    assert desk.context.settings.model_path.read_bytes() == before  # nothing switched yet
    page.get_by_role("button", name="Switch to the candidate").click()
    assert "Now using model" in page.get_by_role("status").inner_text()
    assert desk.context.settings.model_path.read_bytes() != before
    assert not desk.context.settings.model_path.with_name("candidate.skops").exists()
    context.close()


def test_an_advisor_filters_sorts_and_pages_the_queue_and_bad_filters_are_explained(
        browser: Any, console: tuple[str, Desk]) -> None:
    """The queue was one page of the top 100, with no filters, sorting or counts."""
    url, desk = console
    for number in range(101):
        desk.write(f"The light in flat {number} communal hallway is out again, please fix it.",
                   sender=f"hall{number}@example.net")
    while tick(desk.context, desk.model)["handled"]:  # a pass handles at most a hundred
        pass
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    views = page.get_by_role("navigation", name="Which cases")
    total = int(re.search(r"All open cases: (\d+)", views.inner_text()).group(1))  # type: ignore[union-attr]
    assert total > 100 and f"Unassigned: {total}" in views.inner_text()
    assert page.locator("tbody tr").count() == 100
    assert f"Page 1 of 2 ({total} cases)" in page.locator("main").inner_text()
    page.get_by_role("link", name="Next page").click()
    assert page.locator("tbody tr").count() == total - 100

    page.get_by_label("Kind").select_option("complaint")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "damaged my floor" in rows.inner_text()
    assert "All open cases: 1" in views.inner_text() and page.get_by_label("Kind").input_value() == "complaint"
    page.get_by_role("link", name="Clear the filters").click()
    page.get_by_label("Open hazards only").check()
    page.get_by_role("button", name="Filter").click()
    assert rows.count() == 1 and "smell of gas" in rows.inner_text()
    page.get_by_role("link", name="Clear the filters").click()
    page.get_by_label("Order").select_option("newest")
    page.get_by_role("button", name="Filter").click()
    assert "flat 100 communal" in rows.first.inner_text(), "the newest first"
    page.get_by_role("link", name="Mine: 0").click()
    assert page.get_by_label("Order").input_value() == "newest", "the view keeps the filters"

    page.goto(f"{url}/console/?from=9999-01-01&kind=complaint")
    assert "Those filters cannot be used" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Kind").input_value() == "complaint", "what was chosen is kept"
    assert page.get_by_label("Opened from").input_value() == "9999-01-01"
    context.close()


def test_an_advisor_confirms_and_assigns_ticked_rows_and_a_row_someone_else_reviewed_is_refused_alone(
        browser: Any, console: tuple[str, Desk]) -> None:
    """There was no bulk action: every suggestion was confirmed and every case assigned one at a time."""
    url, desk = console
    with desk.context.sessions() as session:
        by_sender = {m.sender: c.reference for c, m in session.execute(
            select(Case, Message).join(Message, Message.case_id == Case.id).where(Message.direction == "inbound"))}
    gas, bins, floor = (by_sender[f"{who}@example.net"] for who in ("gas", "bins", "floor"))
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    page.get_by_label("Kind").select_option("")  # a filter kept through the bulk action
    page.get_by_label("Order").select_option("oldest")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label(f"Tick {gas}").check()
    page.get_by_label(f"Tick {floor}").check()

    other, theirs = open_case(browser, url, "sam", floor)  # meanwhile a supervisor confirms the complaint
    theirs.get_by_role("button", name="Confirm the suggestion").first.click()
    other.close()

    page.get_by_role("button", name="Confirm the ticked suggestions").click()
    said = page.get_by_role("status").filter(has_text="Confirmed").inner_text()
    assert f"Confirmed 1: {gas}." in said and f"{floor} (someone has already confirmed or corrected it)" in said
    assert page.get_by_label("Order").input_value() == "oldest", "back on the same view of the queue"
    with desk.context.sessions() as session:
        reviews = session.execute(select(Case.reference, User.username).join(Review, Review.case_id == Case.id)
                                  .join(User, User.id == Review.reviewer_id)).all()
    assert sorted(tuple(r) for r in reviews) == sorted([(gas, "alex"), (floor, "sam")])

    page.get_by_label(f"Tick {bins}").check()
    page.get_by_label(f"Tick {gas}").check()
    page.get_by_label("Give the ticked to").select_option(label="sam")
    page.get_by_role("button", name="Assign the ticked").click()
    assert "Given to sam 2" in page.get_by_role("status").filter(has_text="Given").inner_text()
    with desk.context.sessions() as session:
        sam = session.scalars(select(User).where(User.username == "sam")).one()
        assert {desk.case(r).owner_id for r in (bins, gas)} == {sam.id}
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "assigned")) == 2
    context.close()


def test_one_click_confirms_from_the_queue_and_every_console_control_is_labelled(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:
    url, desk = console
    context = browser.new_context(bypass_csp=True)  # axe is an injected script
    page = context.new_page()
    sign_in(page, url, "ada")
    assert axe_violations(page, axe_js) == [], "the queue's Correct links were 27 targets too small (2.5.8)"
    confirms = page.get_by_role("button", name=re.compile("^Confirm the suggestion for"))
    before = confirms.count()
    confirms.first.click()
    page.wait_for_url(f"{url}/console/")
    assert page.get_by_role("button", name=re.compile("^Confirm the suggestion for")).count() == before - 1
    with desk.context.sessions() as session:
        assert session.scalar(select(Review)) is not None
    for path in ("/console/", "/console/search?q=gas", "/console/reviews", "/console/agreement",
                 "/console/deadlines", "/console/model", "/console/reports", "/console/letters/receipt",
                 "/console/replies"):
        page.goto(f"{url}{path}")
        unlabelled = page.evaluate("""[...document.querySelectorAll('textarea, input:not([type=hidden]), select')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""")
        assert unlabelled == 0, path
        assert page.evaluate("document.documentElement.lang") == "en"
    context.close()


def test_an_admin_rewords_a_letter_and_the_next_resident_gets_the_new_words(browser: Any,
                                                                            console: tuple[str, Desk]) -> None:
    url, desk = console
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "ada")
    page.get_by_role("link", name="Letters").click()
    page.get_by_role("link", name="receipt", exact=True).click()
    names = page.get_by_role("region", name="Names you can use").inner_text()
    assert "reference" in names and "team" in names and "ombudsman_phone" in names, "the editor lists the names"
    assert "The same as the shipped letter." in page.get_by_role("region", name="Against the shipped letter").inner_text()
    page.get_by_label("Template").fill("Thanks! Ref {{ reference }}. {{ unknown_name }}")
    page.get_by_role("button", name="Check and save").click()
    assert "Not saved" in page.get_by_role("alert").inner_text()
    page.get_by_label("Template").fill("Thanks, we have your message. Ref {{ reference }}. Ombudsman {{ ombudsman_phone }}")
    page.get_by_role("button", name="Preview").click()
    assert "Not saved yet" in page.locator("main").inner_text()
    assert "Ref CMP-2026-00007" in page.get_by_role("status").inner_text()
    assert "+Thanks, we have your message." in page.get_by_role("region", name="Against the shipped letter").inner_text()
    assert desk.context.letters.source("receipt")[1] is False, "a preview saves nothing"
    page.get_by_role("button", name="Check and save").click()
    assert "Saved." in page.locator("main").inner_text() and "Ref CMP-2026-00007" in page.get_by_role("status").inner_text()
    context.close()
    desk.write("Please could you tell me when my rent is due this month?", sender="rent@example.net")
    (receipt,) = [m for m in desk.replies() if m["To"] == "rent@example.net"]
    from tests.desk import text

    assert text(receipt).startswith("Thanks, we have your message. Ref ")


def test_an_advisor_extends_refuses_and_records_a_hazard_made_safe(browser: Any, console: tuple[str, Desk]) -> None:
    """The other complaint actions, each with the letter the Code asks for (6.5, 2.4)."""
    from tests.desk import text

    url, desk = console
    desk.replies()
    desk.write("I want to make a formal complaint that my fence was never repaired after the storm.",
               sender="fence@example.net")
    desk.replies()
    with desk.context.sessions() as session:
        floor = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                               .where(Message.sender == "floor@example.net"))
        fence = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                               .where(Message.sender == "fence@example.net"))
        gas = session.scalar(select(Case).join(Message, Message.case_id == Case.id)
                             .where(Message.sender == "gas@example.net"))
        assert floor is not None and fence is not None and gas is not None
        floor_ref, fence_ref, gas_ref = floor.reference, fence.reference, gas.reference
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")

    page.goto(f"{url}/console/cases/{floor_ref}")
    page.get_by_label("Outcomes the resident wants").fill("A new floor")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    page.get_by_label("Working days").fill("5")
    page.get_by_label("Why, in words the resident will read").fill("We are waiting for the flooring survey.")
    page.get_by_role("button", name="Extend and tell the resident").click()
    assert "the resident has been told why" in page.get_by_role("status").inner_text()
    letters = [text(m) for m in desk.replies() if m["To"] == "floor@example.net"]
    assert any("waiting for the flooring survey" in t and "0300 111 3000" in t for t in letters)

    page.goto(f"{url}/console/cases/{fence_ref}")
    page.get_by_label("Reason", exact=True).select_option("legal_proceedings")
    page.get_by_label("Explanation for the resident, with the evidence").fill(
        "You have started a claim at the county court about the fence (claim form dated 2 November).")
    page.get_by_role("button", name="Refuse and tell the resident").click()
    assert "Refused" in page.get_by_role("status").inner_text()
    (refusal,) = [m for m in desk.replies() if m["To"] == "fence@example.net"]
    assert "county court" in text(refusal) and "Housing Ombudsman Service" in text(refusal)

    page.goto(f"{url}/console/cases/{gas_ref}")
    page.get_by_label("What was done to make it safe or to inspect it").fill("Gas engineer capped the supply")
    page.get_by_role("button", name="Record it").click()
    assert "Recorded what was done" in page.get_by_role("status").inner_text()
    page.goto(f"{url}/console/")
    assert "hazard" not in page.locator("tbody tr").first.inner_text()
    context.close()


CONTRAST = """() => {
  const parse = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); return m ? m[1].split(',').map(parseFloat) : null; };
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0)) return c; } return [255, 255, 255]; };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!(el instanceof HTMLElement) || el.offsetParent === null) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    const a = lum(parse(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return failures;
}"""
FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea"


def test_every_page_meets_contrast_and_shows_focus_in_document_order(browser: Any, console: tuple[str, Desk]) -> None:
    """WCAG 2.2 AA 1.4.3 (contrast), 2.4.3 (focus order) and 2.4.7 (focus visible), measured in the browser."""
    url, desk = console
    with desk.context.sessions() as session:
        reference = session.scalars(select(Case.reference).where(Case.kind == "complaint")).first()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "ada")
    for path in ("/console/", f"/console/cases/{reference}", "/console/search?q=gas", "/console/attention",
                 "/console/reviews",
                 "/console/agreement", "/console/deadlines", "/console/reports", "/console/model",
                 "/console/letters", "/console/letters/receipt", "/console/replies"):
        page.goto(f"{url}{path}")
        assert page.evaluate(CONTRAST) == [], path
        assert page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count() == 0, path
        in_order = page.evaluate(f"""[...document.querySelectorAll('{FOCUSABLE}')]
            .filter(e => !e.disabled && (e.offsetParent !== null || e.classList.contains('skip')))
            .slice(0, 12).map(e => e.outerHTML.slice(0, 60))""")
        visited = []
        for _ in in_order:
            for _segment in range(4):  # a date field takes a Tab for each of its day, month and year parts
                page.keyboard.press("Tab")
                now_on = page.evaluate("document.activeElement.outerHTML.slice(0, 60)")
                if not visited or now_on != visited[-1]:
                    break
            visited.append(now_on)
            outline = page.evaluate("""(() => { const s = getComputedStyle(document.activeElement);
                return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; })()""")
            assert outline, (path, visited[-1])
        assert visited == in_order, path
    context.close()


@pytest.fixture(scope="session")
def axe_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axe-core from the npm registry, installed into a folder of the test run's own."""
    import shutil
    import subprocess

    if shutil.which("npm") is None:
        unavailable("npm is not installed")
    folder = tmp_path_factory.mktemp("axe")
    result = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", "axe-core@4"],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        unavailable(f"npm could not install axe-core: {result.stderr[-500:]}")
    return folder / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any, axe_js: Path) -> list[str]:
    page.add_script_tag(path=str(axe_js))
    result = page.evaluate('axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]})')
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


@pytest.mark.slow
def test_the_retraining_page_passes_axe_while_idle_training_and_ready(browser: Any, console: tuple[str, Desk],
                                                                      axe_js: Path) -> None:
    url, _ = console
    context = browser.new_context(bypass_csp=True)  # only this context: axe is an injected script
    page = context.new_page()
    page.set_default_timeout(600_000)  # a bound on the wait, not a target: a retraining took 202 s on a slow day
    sign_in(page, url, "sam")
    page.goto(f"{url}/console/model")
    assert axe_violations(page, axe_js) == []
    page.get_by_role("button", name="Train a candidate with the reviews").click()
    page.get_by_role("progressbar").wait_for()
    assert axe_violations(page, axe_js) == []
    page.get_by_role("table").wait_for()  # the page refreshes itself until the candidate is measured
    assert axe_violations(page, axe_js) == []
    context.close()


def test_a_message_the_bot_could_not_handle_is_shown_with_its_reason_and_sent_back_once_fixed(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:
    """It used to be an audit row only: no case, no reply, no page, and a complaint's clock never started."""
    from workflow.letters import SHIPPED

    url, desk = console
    letters = desk.context.letters  # an admin's edit that passes the preview but fails for one team's letters
    letters.save("receipt", '{% if team == "Rents and income" %}{{ rent_line.amount }}{% endif %}'
                 + (SHIPPED / "receipt.txt").read_text(encoding="utf-8"))
    desk.write("When is my rent due this month? I pay by direct debit and want to check.", sender="rent@example.net")
    tick(desk.context, desk.model)
    context = browser.new_context(bypass_csp=True)  # axe is an injected script
    page = context.new_page()
    sign_in(page, url, "alex")
    page.get_by_role("link", name="See it").click()
    row = page.locator("tbody tr").filter(has_text="rent@example.net")
    assert "'rent_line' is undefined" in row.inner_text() and "direct debit" in row.inner_text()
    assert axe_violations(page, axe_js) == []
    letters.restore("receipt")
    row.get_by_role("button", name="back to the bot").click()
    page.get_by_text("Nothing needs attention").wait_for()
    tick(desk.context, desk.model)
    with desk.context.sessions() as session:
        rent = session.scalar(select(Message).where(Message.sender == "rent@example.net"))
        assert rent is not None and rent.case_id is not None and rent.failure is None
    page.goto(f"{url}/console/")
    assert page.get_by_role("link", name="See it").count() == 0
    context.close()


def test_a_case_page_says_why_a_message_was_taken_as_automatic_and_when_its_sender_s_clock_dated_it(
        console: tuple[str, Desk]) -> None:
    """Both were parsed and dropped before: an advisor saw "automatic reply" and never why, nor a
    letter's own date when it is far from when it reached us."""
    from tests.desk import reference_in

    url, desk = console
    desk.replies()  # the fixture's residents' replies
    desk.write("Please could you fix my front door lock, it is stiff.", sender="lock@example.net",
               headers={"Date": "Mon, 02 Mar 2026 09:00:00 +0000"})
    (receipt,) = desk.replies()
    desk.write("I am out of the office until Monday.", sender="lock@example.net", answering=receipt,
               headers={"Auto-Submitted": "auto-replied"})
    assert desk.replies() == []
    with httpx.Client(base_url=url) as client:
        login(client, "alex")
        page = client.get(f"/console/cases/{reference_in(receipt)}").text
    assert "automatic reply (Auto-Submitted: auto-replied)" in page
    assert "dated 2 March 2026, 9:00am by the sender's clock" in page
