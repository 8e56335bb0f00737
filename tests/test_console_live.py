"""Two advisors at once, a refused form that keeps what was typed, and the keyboard, in Chromium.

The console is server-rendered and works without JavaScript; live.js and keys.js only add to it.
What they add is what an advisor notices: a colleague's name on a case they both have open, a
line saying the case changed, and keys that never fire while they type."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.service import tick
from tests.desk import Desk
from tests.test_console import axe_js, axe_violations, browser, console, desk, login, open_case, sign_in  # noqa: F401
from tests.test_console_learning import complaint_reference
from workflow.models import Case, Review

pytestmark = pytest.mark.browser
WAIT = 20_000  # ms: live.js asks every 5 s


def test_a_second_advisor_sees_who_has_the_case_open_and_an_action_on_a_changed_case_is_refused(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:  # noqa: F811
    url, desk = console
    reference = complaint_reference(desk)
    alex_context, alex = open_case(browser, url, "alex", reference, bypass_csp=True)
    sam_context, sam = open_case(browser, url, "sam", reference)
    assert sam.locator("#viewers").inner_text() == "Also open now: alex."
    alex.get_by_text("Also open now: sam.").wait_for(timeout=WAIT)  # without reloading
    assert axe_violations(alex, axe_js) == []

    sam.get_by_role("button", name="Take it").click()
    assert "It is yours." in sam.get_by_role("status").inner_text()
    changed = alex.locator("#changes")
    changed.get_by_text("Changed since you opened this page: sam: assigned").wait_for(timeout=WAIT)
    assert changed.get_by_role("link", name="Reload to see it").count() == 1

    alex.get_by_label("Outcomes the resident wants").fill("A new floor, laid properly")
    alex.get_by_role("button", name="Acknowledge and send the letter").click()
    refusal = alex.get_by_role("alert")
    assert "this case changed after you opened it" in refusal.inner_text()
    assert "sam: assigned" in refusal.inner_text()
    assert alex.get_by_label("Outcomes the resident wants").input_value() == "A new floor, laid properly"
    assert "Owner\nsam" in alex.locator(".facts").inner_text(), "the page is drawn again as the case is now"
    with desk.context.sessions() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None and case.stage_record(1).acknowledged_on is None, "nothing was done"

    alex.get_by_role("button", name="Acknowledge and send the letter").click()  # now from the page as it is
    assert "Acknowledged. The response is due by" in alex.get_by_role("status").inner_text()
    sam.get_by_text("Changed since you opened this page: alex:").wait_for(timeout=WAIT)
    alex_context.close()
    sam_context.close()


def test_a_refused_response_is_shown_beside_its_form_with_everything_typed_kept(
        browser: Any, console: tuple[str, Desk]) -> None:  # noqa: F811
    """Ticking a remedy without its detail gave a bare 400 page, and the typed decision was lost."""
    url, desk = console
    reference = complaint_reference(desk)
    context, page = open_case(browser, url, "alex", reference)
    page.get_by_label("Outcomes the resident wants").fill("A new floor")
    page.get_by_role("button", name="Acknowledge and send the letter").click()
    page.get_by_label("Decision", exact=True).select_option("partly_upheld")
    page.get_by_label("The decision in words").fill("We agree in part.")
    page.get_by_label("The reasons").fill("The floor was damaged; the skirting was already loose.")
    page.get_by_label("financial").check()
    page.get_by_role("button", name="Send the response").click()
    form = page.locator("form[action$='/act/respond']")
    error = form.get_by_role("alert")
    assert error.inner_text().startswith("Nothing was changed:"), error.inner_text()
    assert page.locator("main").get_by_role("alert").count() == 1, "said once, beside the form"
    assert page.get_by_label("The decision in words").input_value() == "We agree in part."
    assert page.get_by_label("The reasons").input_value().startswith("The floor was damaged")
    assert page.get_by_label("financial").is_checked()
    assert page.get_by_label("Decision", exact=True).input_value() == "partly_upheld"
    page.get_by_label("What will be done or paid").fill("£150 towards a new skirting board")
    page.get_by_role("button", name="Send the response").click()
    assert "The response has been sent." in page.get_by_role("status").inner_text()
    context.close()


def test_keyboard_shortcuts_move_confirm_and_open_forms_and_never_fire_while_typing(
        browser: Any, console: tuple[str, Desk], axe_js: Path) -> None:  # noqa: F811
    url, desk = console
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, url, "alex")
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert help_dialog.is_visible() and "write a reply" in help_dialog.inner_text()
    assert axe_violations(page, axe_js) == []
    page.keyboard.press("Escape")
    assert not help_dialog.is_visible()

    rows = page.locator("tr[data-case]")
    order = [rows.nth(i).get_attribute("data-case") for i in range(rows.count())]
    assert len(order) == 3
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert rows.nth(1).get_attribute("class") == "current"
    page.keyboard.press("k")
    assert rows.nth(0).get_attribute("class") == "current"
    page.keyboard.press("x")
    assert rows.nth(0).locator("input[type=checkbox]").is_checked()
    page.keyboard.press("c")  # the first row's suggestion, confirmed from the queue
    page.get_by_role("heading", name="Triage queue").wait_for()
    with desk.context.sessions() as session:
        confirmed = session.scalars(select(Case.reference).join(Review, Review.case_id == Case.id)).all()
    assert confirmed == [order[0]]
    order = [rows.nth(i).get_attribute("data-case") for i in range(rows.count())]  # as the queue is now

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/console/cases/{order[1]}")
    page.keyboard.press("r")
    reply = page.get_by_label(re.compile("Your reply"))
    assert reply.evaluate("node => node === document.activeElement")
    page.keyboard.type("no c or n or j here")
    assert reply.input_value().endswith("no c or n or j here")
    assert page.url.endswith(order[1]), "j typed in the reply did not move to the next case"
    with desk.context.sessions() as session:
        assert len(session.scalars(select(Review)).all()) == 1, "c typed in the reply confirmed nothing"
    page.locator("h1").click()  # out of the box
    page.keyboard.press("n")
    assert page.get_by_label("A note for staff").evaluate("node => node === document.activeElement")
    page.locator("h1").click()
    page.keyboard.press("j")
    page.wait_for_url(f"**/console/cases/{order[2]}")
    page.keyboard.press("k")
    page.wait_for_url(f"**/console/cases/{order[1]}")
    context.close()


def test_the_queue_says_when_new_messages_arrive_and_the_live_answers_check_the_role(
        browser: Any, console: tuple[str, Desk]) -> None:  # noqa: F811
    url, desk = console
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "alex")
    desk.write("The lift in Elm Court has been broken for a week and my mum cannot get out.",
               sender="lift@example.net")
    tick(desk.context, desk.model)
    notice = page.locator("#changes")
    notice.get_by_text("1 new message").wait_for(timeout=WAIT)
    notice.get_by_role("link", name="Reload to see it").click()
    assert page.locator("tr[data-case]").count() == 4
    context.close()
    reference = complaint_reference(desk)
    with httpx.Client(base_url=url, follow_redirects=False) as anonymous:
        assert anonymous.get(f"/console/cases/{reference}/live").status_code == 303
        assert anonymous.get("/console/live").status_code == 303
    with httpx.Client(base_url=url, follow_redirects=False) as alex:
        login(alex, "alex")
        news = alex.get(f"/console/cases/{reference}/live", params={"seen": "0.0"}).json()
        assert news["viewers"] == [] and news["changes"], "everything is news to a page from before"
        assert any(c["who"] == "the resident" and c["what"].startswith("wrote again: \u201c") for c in news["changes"])
        assert alex.get("/console/cases/CMP-2099-99999/live").status_code == 404
        assert set(alex.get("/console/live", params={"seen": "junk"}).json()) == {"messages", "cases"}


def test_an_advisor_keeps_a_view_of_their_own_with_its_count_and_the_case_page_shows_why_it_was_flagged(
        console: tuple[str, Desk]) -> None:  # noqa: F811
    url, desk = console
    desk.write("I am disabled and since my stroke I cannot manage the stairs. The lift has been broken for weeks.",
               sender="stairs@example.net")
    tick(desk.context, desk.model)
    with desk.context.sessions() as session:
        gas = session.scalar(select(Case.reference).where(Case.hazard != "none"))
        flagged = session.scalar(select(Case.reference).where(Case.vulnerable.is_(True)))
    assert gas is not None and flagged is not None
    with httpx.Client(base_url=url, follow_redirects=False) as alex:
        login(alex, "alex")
        page = alex.get(f"/console/cases/{gas}").text
        assert "Words that raised the flags" in page and re.search(r'class="cue">[^<]*: [^<]*gas', page), page
        assert "May be vulnerable" in alex.get(f"/console/cases/{flagged}").text
        queue = alex.get("/console/", params={"kind": "complaint"}).text
        token = re.search(r'name="csrf" value="([^"]+)"', queue).group(1)  # type: ignore[union-attr]
        assert 'name="query" value="view=all&amp;kind=complaint"' in queue
        held = re.search(r"All open cases: (\d+)", queue).group(1)  # type: ignore[union-attr]
        assert alex.post("/console/views", data={"name": "Complaints", "query": "view=all&kind=complaint"}
                         ).status_code == 403, "the form's token is checked"
        saved = alex.post("/console/views", data={"csrf": token, "name": "  My   complaints ",
                                                  "query": "view=all&kind=complaint&evil=%3Cscript%3E"})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/?view=all&kind=complaint"
        shown = alex.get("/console/").text
        assert f'href="/console/?view=all&amp;kind=complaint">My complaints: {held}</a>' in shown, shown
        assert "evil" not in shown
        bad = alex.post("/console/views", data={"csrf": token, "name": "Broken", "query": "theme=no_such_theme"})
        assert bad.status_code == 303
        shown = alex.get("/console/").text
        assert "Broken (its filters no longer hold)" in shown
        view_id = re.search(r'action="/console/views/(\d+)/remove"', shown).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=url, follow_redirects=False) as sam:
        login(sam, "sam")
        mine = sam.get("/console/").text
        assert "My complaints" not in mine, "a saved view is its advisor's own"
        token = re.search(r'name="csrf" value="([^"]+)"', mine).group(1)  # type: ignore[union-attr]
        assert sam.post(f"/console/views/{view_id}/remove", data={"csrf": token}).status_code == 303
        assert "Nothing was removed: there is no such saved view." in sam.get("/console/").text
    with httpx.Client(base_url=url, follow_redirects=False) as alex:
        login(alex, "alex")
        token = re.search(r'name="csrf" value="([^"]+)"', alex.get("/console/").text).group(1)  # type: ignore[union-attr]
        assert alex.post(f"/console/views/{view_id}/remove", data={"csrf": token}).status_code == 303
        assert "Removed the view" in alex.get("/console/").text
