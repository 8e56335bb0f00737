"""The web chat in a real headless Chromium: a conversation, a reload, the keyboard, no
JavaScript at all, hostile text and a flood, against the real app, service and model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.context import Context
from bot.service import Service
from bot.settings import Settings
from bot.web import create_app
from classifier.model import TriageModel
from tests.servers import chromium, web_server
from workflow.models import Case, Message
from workflow.vocabulary import ComplaintStatus

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def site(tmp_path: Path, trained_data_dir: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Context]]:
    template: Path = request.getfixturevalue("sqlite_template")
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(template.read_bytes())
    context = Context(Settings(_env_file=None, database_url=f"sqlite:///{database}", data_dir=tmp_path))
    service = Service(context, TriageModel.load(trained_data_dir / "model" / "triage.skops"), interval=0.2)
    service.start()
    with web_server(create_app(context)) as url:
        yield url, context
    service.stop()
    context.engine.dispose()


@pytest.fixture
def page(browser: Any, site: tuple[str, Context]) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def conversation(page: Any) -> Any:
    return page.locator("#conversation")


def test_a_resident_chats_chooses_a_complaint_with_a_button_and_the_chat_survives_a_reload(
        page: Any, site: tuple[str, Context]) -> None:
    url, context = site
    page.goto(f"{url}/chat")
    page.get_by_label("Your message").fill("My repair still has not been done after five weeks, I am fed up.")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Make a complaint").click()
    conversation(page).get_by_text("is logged").wait_for()

    page.reload()
    assert "My repair still has not been done" in conversation(page).inner_text()
    assert "is logged" in conversation(page).inner_text()
    with context.sessions() as session:
        complaint = session.scalar(select(Case).where(Case.kind == "complaint"))
        assert complaint is not None and complaint.status == ComplaintStatus.STAGE1_LOGGED


def test_the_chat_can_be_used_with_the_keyboard_alone(page: Any, site: tuple[str, Context]) -> None:
    url, _ = site
    page.goto(f"{url}/chat")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the message box"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "message"
    page.keyboard.type("When are the bins collected on Elm Road?")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send"
    page.keyboard.press("Enter")
    conversation(page).get_by_text("Your reference is").wait_for()


def test_every_control_has_a_label_and_the_page_declares_its_language(page: Any, site: tuple[str, Context]) -> None:
    url, _ = site
    page.goto(f"{url}/chat")
    assert page.evaluate("document.documentElement.lang") == "en"
    unlabelled = page.evaluate("""[...document.querySelectorAll('textarea, input:not([type=hidden]), select')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""")
    assert unlabelled == 0
    assert page.locator("[aria-live=polite]").count() == 1


def test_it_works_without_javascript(browser: Any, site: tuple[str, Context]) -> None:
    url, _ = site
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{url}/chat")
    page.get_by_label("Your message").fill("My boiler is broken again and nobody came last time, this is a joke.")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Make a complaint").click()
    assert "is logged" in page.locator("#conversation").inner_text()
    context.close()


def test_script_in_a_message_is_shown_as_text_and_never_run(page: Any, site: tuple[str, Context]) -> None:
    url, _ = site
    page.goto(f"{url}/chat")
    hostile = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> my sink is blocked"
    page.get_by_label("Your message").fill(hostile)
    page.get_by_role("button", name="Send").click()
    conversation(page).get_by_text("Your reference is").wait_for()
    page.reload()
    assert hostile in conversation(page).inner_text()
    assert page.evaluate("window.pwned") is None


def test_a_flood_from_one_visitor_is_refused_clearly_and_nothing_accepted_is_lost(
        page: Any, site: tuple[str, Context]) -> None:
    url, context = site
    page.goto(f"{url}/chat")
    for n in range(12):
        page.get_by_label("Your message").fill(f"hello {n}")
        page.get_by_role("button", name="Send").click()
        shown = page.locator("#conversation .resident").filter(has_text=f"hello {n}")
        shown.or_(page.get_by_role("alert")).first.wait_for()
    assert "wait a minute" in page.get_by_role("alert").inner_text()
    with context.sessions() as session:
        stored = session.scalar(select(func.count(Message.id)).where(Message.channel == "webchat",
                                                                      Message.direction == "inbound"))
    assert stored == 10
