"""The console's pages as modules: every route takes its role check as a parameter, and a page can
be called, or one module of pages served, on its own (workflow/console/page.py)."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.context import Context
from bot.retraining import Retrainer
from bot.settings import Settings
from workflow.console import admin_pages, app as console_app, case_pages, oversight_pages, queue_pages
from workflow.console.auth import signed_in, start_session
from workflow.console.page import CHECKS, COOKIE, Console, Page
from workflow.models import AuditEvent, Message, User
from workflow.users import add_user

PUBLIC = {"stylesheet", "script", "login_page", "login"}  # reached before signing in, by design
PASSWORD = "a long enough password"
NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)


def routes() -> list[tuple[str, APIRoute]]:
    return [(module.__name__, route) for module in console_app.PAGES for route in module.router.routes
            if isinstance(route, APIRoute)]


def test_every_console_page_checks_the_role_and_every_form_its_token_before_it_runs() -> None:
    looking = {checks[0] for checks in CHECKS.values()}
    posting = {checks[1] for checks in CHECKS.values()}
    assert len(routes()) >= 35
    for module, route in routes():
        name = f"{module}.{route.endpoint.__name__}"
        assert inspect.getmodule(route.endpoint).__name__ == module, f"{name} is not a module-level function"
        called = {dependency.call for dependency in route.dependant.dependencies}
        if route.endpoint.__name__ in PUBLIC:
            assert not called & (looking | posting), name
            continue
        wanted = posting if route.methods & {"POST", "PUT", "PATCH", "DELETE"} else looking
        assert len(called & wanted) == 1 and not called & (looking | posting) - wanted, \
            f"{name} ({sorted(route.methods)}) does not take exactly one of the role types of workflow/console/page.py"


@pytest.fixture
def console(database_url: str, tmp_path: Path) -> Iterator[Console]:
    context = Context(Settings(_env_file=None, database_url=database_url, data_dir=tmp_path / "data"),
                      now=lambda: NOW)
    context.migrate()
    with context.sessions() as session:
        add_user(session, "alex", "advisor", PASSWORD, NOW, "test")
        add_user(session, "ada", "admin", PASSWORD, NOW, "test")
        session.commit()
    yield Console(context.sessions, context.now, context.calendar, context.letters, context.settings.team_for,
                  Retrainer(context))
    context.engine.dispose()


def cookie(console: Console, name: str) -> tuple[str, str]:
    """(session cookie, CSRF token) for a user signed in as the sign-in page would."""
    with console.sessions() as session:
        user = session.scalar(select(User).where(User.username == name))
        assert user is not None
        return start_session(session, user, NOW)


def test_a_page_called_alone_with_a_page_made_by_hand(console: Console) -> None:
    token, _ = cookie(console, "ada")
    with console.sessions() as session:
        found = signed_in(session, token, NOW)
        assert found is not None
        page = Page(console, session, *found)
        listed = admin_pages.letter_list(page)
        assert listed.status_code == 200 and b"acknowledgement" in listed.body
        missing = admin_pages.letter_page(page, "no-such-letter")
        assert missing.status_code == 404 and b"No such letter." in missing.body
        step = queue_pages.attention_step(page, 1, "explode")
        assert step.status_code == 404 and b"There is no such step." in step.body
        assert oversight_pages.model_step(page, "bogus").status_code == 404


def served(console: Console, token: str, *pages: ModuleType) -> TestClient:
    """Some of the console's modules of pages on an app of their own, for one visitor."""
    app = FastAPI()
    console_app.install(app, console, pages)
    return TestClient(app, follow_redirects=False, cookies={COOKIE: token} if token else None)


def test_one_module_of_pages_served_alone_keeps_its_checks(console: Console) -> None:
    unsigned = served(console, "", admin_pages).get("/console/letters")
    assert unsigned.headers["location"] == "/console/login"
    refused = served(console, cookie(console, "alex")[0], admin_pages).get("/console/letters")
    assert refused.status_code == 403 and "for supervisors" in refused.text
    admin, csrf = cookie(console, "ada")
    client = served(console, admin, admin_pages)
    assert client.get("/console/letters").status_code == 200
    expired = client.post("/console/letters/acknowledgement",
                          data={"text": "Dear resident,\n\nWe have your message.\n", "csrf": "not-the-token"})
    assert expired.status_code == 403 and "This form had expired" in expired.text
    with console.sessions() as session:
        assert session.query(AuditEvent).filter_by(action="letter_edited").count() == 0
    assert console.letters.source("acknowledgement")[1] is False  # still the shipped letter
    shipped = console.letters.source("acknowledgement")[0]
    saved = client.post("/console/letters/acknowledgement", data={"text": shipped, "csrf": csrf})
    assert saved.status_code == 200 and console.letters.source("acknowledgement")[1] is True


def test_letters_and_texts_that_were_not_delivered_are_in_front_of_a_person(console: Console) -> None:
    """Before, an outbox item the outbox gave up on, or a text Notify could not deliver, was an audit
    row and a log line only: the attention page, the queue and the case page now say so."""
    import socket

    from workflow import cases, outbox
    from workflow.models import OutboxItem
    from workflow.vocabulary import DeliveryStatus, Kind

    with console.sessions() as session:
        case = cases.open_case(session, Kind.COMPLAINT, NOW, "test", channel="email", theme="repairs",
                               team="Repairs")
        by_mail = outbox.enqueue(session, channel="email", address="ann@example.net", at=NOW, case=case,
                                 text="We have logged your complaint.", subject="Your complaint")
        by_text = outbox.enqueue(session, channel="sms", address="+447700900123", at=NOW, case=case,
                                 text="We have logged your complaint.")
        session.commit()
        reference = case.reference
        key = session.get_one(Message, by_text).external_id

    with socket.socket() as probe:  # a port nothing listens on: the mail server is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def refused(delivery: outbox.Delivery) -> None:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

    clock = [NOW]
    for _ in range(outbox.MAX_ATTEMPTS):  # every retry, each after its back-off
        outbox.deliver_due(console.sessions, {"email": refused}, lambda: clock[0])
        clock[0] += outbox.BACKOFF_CAP
    with console.sessions() as session:
        assert outbox.record_receipt(session, "sms", key, "permanent-failure", delivered=False, failed=True, at=NOW)
        session.commit()

    advisor, csrf = cookie(console, "alex")
    lists = served(console, advisor, queue_pages)
    page = lists.get("/console/attention")
    assert page.status_code == 200
    assert "ann@example.net" in page.text and "ConnectionRefusedError" in page.text and "tried 10 times" in page.text
    assert "+447700900123" in page.text and "permanent-failure" in page.text and reference in page.text
    assert "2 letters or texts to residents could not be delivered" in lists.get("/console/").text
    record = served(console, advisor, case_pages).get(f"/console/cases/{reference}")
    assert record.text.count("Not delivered.") == 2

    with console.sessions() as session:
        mail_item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == by_mail))
        text_item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == by_text))
        assert mail_item is not None and text_item is not None
        mail_id, text_id = mail_item.id, text_item.id
    assert lists.post(f"/console/attention/deliveries/{mail_id}/send-again", data={"csrf": "stale"}).status_code == 403
    assert lists.post(f"/console/attention/deliveries/{mail_id}/send-again", data={"csrf": csrf}).status_code == 303
    again = lists.post(f"/console/attention/deliveries/{mail_id}/send-again", data={"csrf": csrf})
    assert again.status_code == 409 and "not waiting to be delivered" in again.text
    assert lists.post(f"/console/attention/deliveries/{text_id}/set-aside", data={"csrf": csrf}).status_code == 303

    sent: list[str] = []
    assert outbox.deliver_due(console.sessions, {"email": lambda d: sent.append(d.address)}, lambda: clock[0]) == 1
    assert sent == ["ann@example.net"]  # sent again, with its retries renewed
    with console.sessions() as session:
        assert session.get_one(OutboxItem, text_id).status == DeliveryStatus.SET_ASIDE.value
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "alex")))
        assert {"delivery_retried", "delivery_set_aside"} <= actions
    page = lists.get("/console/attention")
    assert "ann@example.net" not in page.text and "+447700900123" not in page.text
    assert "could not be delivered" not in lists.get("/console/").text


def test_what_an_action_did_is_shown_on_the_next_page_even_when_a_live_poll_comes_first(console: Console) -> None:
    """live.js polls every few seconds; a poll landing between a form and the page it leads to
    took the message ("Saved the view …"), so the advisor never saw what their action did."""
    advisor, csrf = cookie(console, "alex")
    lists = served(console, advisor, queue_pages)
    saved = lists.post("/console/views", data={"name": "Hazards", "query": "view=all&hazard=1", "csrf": csrf})
    assert saved.status_code == 303
    assert lists.get("/console/live", params={"seen": ""}).status_code == 200  # the other tab's poll
    shown = lists.get(saved.headers["location"])
    assert "Saved the view Hazards." in shown.text
    assert "Saved the view Hazards." not in lists.get("/console/").text  # shown once
