"""Learning from complaints in the console (Code 9.1, 8.1): a handler records what went wrong and the
improvement it leads to on the case page; a supervisor manages it, looks for patterns, enters the
Ombudsman's findings and completes the self-assessment; the annual report shows all of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.desk import Desk
from tests.test_console import axe_js, axe_violations, browser, console, desk, login, open_case, sign_in  # noqa: F401
from workflow.models import AuditEvent, Case, ComplaintLearning, Improvement

pytestmark = pytest.mark.browser


def complaint_reference(desk: Desk) -> str:
    """The console fixture's one complaint (the damaged floor)."""
    with desk.context.sessions() as session:
        reference = session.scalar(select(Case.reference).where(Case.kind == "complaint"))
    assert reference is not None
    return reference


def _uphold(page: Any) -> None:
    page.get_by_label("Outcomes the resident wants").fill("A new floor")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    page.get_by_label("Decision", exact=True).select_option("upheld")
    page.get_by_label("The decision in words").fill("We agree the contractor damaged your floor.")
    page.get_by_label("The reasons").fill("The photos show the damage after the visit.")
    page.get_by_label("apology").check()
    page.get_by_label("What will be done or paid").fill("A written apology")
    page.get_by_role("button", name="Send the response").click()
    assert "The response has been sent." in page.get_by_role("status").inner_text()


def test_a_lesson_and_an_improvement_recorded_on_a_complaint_are_in_the_report_and_the_self_assessment(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:  # noqa: F811
    url, desk = console
    reference = complaint_reference(desk)
    context, page = open_case(browser, url, "alex", reference, bypass_csp=True)  # axe is an injected script
    assert page.get_by_role("heading", name="Learning from this complaint (Code 9.1)").count() == 1
    assert "once a stage is answered upheld" in page.locator("main").inner_text()
    _uphold(page)

    assert "Stage 1 was upheld: what went wrong?" in page.locator("main").inner_text()
    page.get_by_label("Did not do what we said we would").check()
    page.get_by_label("In your own words").fill("The contractor left without checking the floor.")
    page.get_by_role("button", name="Record what went wrong").click()
    assert "Recorded what went wrong at stage 1" in page.get_by_role("status").inner_text()
    assert page.get_by_label("Did not do what we said we would").is_checked(), "the page shows what was recorded"
    page.get_by_label("Block or street it is about").fill("Flat 4, Elm Court")
    page.get_by_role("button", name="Record the block").click()
    assert "Recorded the block: Elm Court." in page.get_by_role("status").inner_text()

    page.get_by_label("What will change").fill("Contractors photograph the floor before they leave")
    page.get_by_label("Due by").fill("2027-01-29")
    page.get_by_role("button", name="Record the improvement").click()
    told = page.get_by_role("status").inner_text()
    assert re.search(r"Recorded the service improvement IMP-2026-\d{5}, prompted by this complaint", told), told
    improvement = re.search(r"IMP-2026-\d{5}", told).group(0)  # type: ignore[union-attr]
    assert f"{improvement}: Contractors photograph the floor" in page.locator("main").inner_text()
    assert axe_violations(page, axe_js) == []
    context.close()

    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, url, "sam")
    page.get_by_role("link", name="Improvements").click()
    row = page.locator("tbody tr").filter(has_text=improvement)
    assert reference in row.inner_text() and "planned" in row.inner_text() and "29 January 2027" in row.inner_text()
    assert axe_violations(page, axe_js) == []
    row.get_by_role("link", name=improvement).click()
    page.get_by_label("Now").select_option("done")
    page.get_by_role("button", name="Record the status").click()
    assert "Nothing was changed: the evidence that the improvement was made is required." in page.locator(
        "main").inner_text(), "done needs its evidence"
    page.get_by_label("Now").select_option("done")
    page.get_by_label("Evidence it was made").fill("Checklist v2 in use from November; 14 jobs signed off with photos")
    page.get_by_role("button", name="Record the status").click()
    assert f"{improvement} is now done." in page.get_by_role("status").inner_text()
    assert axe_violations(page, axe_js) == []

    page.get_by_role("link", name="Reports").click()
    made = page.get_by_role("table", name="Improvements made in the period")
    assert improvement in made.inner_text() and reference in made.inner_text() and "Checklist v2" in made.inner_text()
    learned = page.get_by_role("table", name="What went wrong, by theme").inner_text()
    assert "Did not do what we said we would (1)" in learned, learned

    page.get_by_role("link", name="Patterns").click()
    assert "1 stage 1 complaint from" in page.locator("main").inner_text()
    assert axe_violations(page, axe_js) == []

    page.get_by_role("link", name="Self-assessment").click()
    article = page.locator("#p9\\.1")
    assert improvement in article.inner_text() or "1 service improvement" in article.inner_text(), article.inner_text()
    policy = page.locator("#p5\\.1")
    policy.locator("summary").click()
    policy.get_by_label("Evidence in your words").fill("Complaints policy v3, section 4, approved by the board")
    policy.get_by_role("button", name="Save 5.1").click()
    assert "Saved 5.1." in page.get_by_role("status").inner_text()
    page.locator("#p5\\.1 summary").click()
    assert page.locator("#p5\\.1").get_by_label("Evidence in your words").input_value().startswith("Complaints policy v3")
    assert axe_violations(page, axe_js) == []
    printable = page.request.get(f"{url}/console/self-assessment?year=2026&format=html")
    assert printable.ok and "Complaints policy v3, section 4" in printable.text()
    context.close()

    with desk.context.sessions() as session:
        lesson = session.scalar(select(ComplaintLearning))
        assert lesson is not None and lesson.causes == ["promise_broken"] and lesson.recorded_by == "alex"
        made_row = session.scalar(select(Improvement))
        assert made_row is not None and made_row.status == "done" and made_row.owner_id is not None
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"learning_recorded", "block_recorded", "improvement_created", "improvement_linked",
                "improvement_status", "self_assessment_entry_set"} <= actions


def test_the_learning_pages_are_for_supervisors_and_a_refused_form_keeps_what_was_typed(
        console: tuple[str, Desk]) -> None:  # noqa: F811
    url, desk = console
    reference = complaint_reference(desk)
    pages = ["/console/improvements", "/console/patterns", "/console/findings", "/console/self-assessment",
             "/console/self-assessment?year=2026&format=csv"]
    with httpx.Client(base_url=url, follow_redirects=False) as anonymous:
        for path in pages:
            assert anonymous.get(path).headers.get("location") == "/console/login", path
    with httpx.Client(base_url=url, follow_redirects=False) as alex:
        login(alex, "alex")
        for path in pages:
            assert alex.get(path).status_code == 403, path
        token = re.search(r'name="csrf" value="([^"]+)"', alex.get("/console/").text).group(1)  # type: ignore[union-attr]
        assert alex.post("/console/findings", data={"csrf": token, "ombudsman_reference": "x"}).status_code == 403
        learned = alex.post(f"/console/cases/{reference}/act/learn",
                            data={"csrf": token, "stage": "1", "causes": "promise_broken"})
        assert learned.status_code == 400 and "was not upheld or partly upheld" in learned.text
    with httpx.Client(base_url=url, follow_redirects=False) as sam:
        login(sam, "sam")
        for path in pages:
            assert sam.get(path).status_code == 200, path
        assert sam.get("/console/self-assessment?year=2026&format=csv").text.startswith("section,provision")
        token = re.search(r'name="csrf" value="([^"]+)"', sam.get("/console/findings").text).group(1)  # type: ignore[union-attr]
        assert sam.post("/console/findings", data={"ombudsman_reference": "202412345"}).status_code == 403
        refused = sam.post("/console/findings", data={
            "csrf": token, "ombudsman_reference": "202412345", "decided_on": "2026-10-01", "finding": "non_compliance",
            "summary": "Stage 1 acknowledged late", "complaint": reference})
        assert refused.status_code == 400 and "names the provisions of the Code" in refused.text
        assert 'value="202412345"' in refused.text and "Stage 1 acknowledged late</textarea>" in refused.text
        entered = sam.post("/console/findings", data={
            "csrf": token, "ombudsman_reference": "202412345", "decided_on": "2026-10-01", "finding": "non_compliance",
            "summary": "Stage 1 acknowledged late", "provisions": "5.6", "complaint": reference})
        assert entered.status_code == 303
        assessment = sam.get("/console/self-assessment?year=2026&format=json").json()
        (row,) = [p for p in assessment["provisions"] if p["provision"] == "5.6"]
        assert row["comply"] == "No" and any(item["note"].startswith("the Ombudsman found") for item in row["listed"])
        for odd in ("/console/patterns?from=9999-12-31", "/console/patterns?from=2026-12-01&to=2026-11-01",
                    "/console/self-assessment?year=abc", "/console/improvements?status=lost"):
            answer = sam.get(odd)
            assert answer.status_code in (200, 400) and "text/html" in answer.headers["content-type"], odd
            assert "cannot be used" in answer.text or "year is written" in answer.text or "no such status" in answer.text
        made = sam.post("/console/improvements", data={"csrf": token, "title": "Photograph floors", "team": "Repairs and maintenance",
                                                        "due_on": "2026-01-01", "complaints": reference})
        assert made.status_code == 400 and "the due date is today or later" in made.text
        assert "Photograph floors</textarea>" in made.text and f'value="{reference}"' in made.text
