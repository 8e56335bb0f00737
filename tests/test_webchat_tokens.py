"""The web chat knows a visitor only by a token it issued and signed itself, and takes a form
only with the form token it derived from that visitor's token: a cookie planted by someone
else (a neighbouring site, a shared computer) is replaced, never adopted. Real app over HTTP."""

from __future__ import annotations

import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.context import Context
from bot.inbound import store_messages
from bot.settings import Settings
from bot.web import create_app
from intake.message import InboundMessage
from intake.webchat.app import VISITOR_COOKIE, address_of
from tests.servers import web_server
from workflow.models import Message

JSON = {"Accept": "application/json"}
OLD_CSRF_COOKIE = "triage_chat_csrf"  # the double-submit cookie the chat once adopted from the browser


@dataclass
class Chat:
    url: str
    context: Context


def context_on(database: Path, data_dir: Path, **settings: object) -> Context:
    return Context(Settings(_env_file=None, database_url=f"sqlite:///{database}", data_dir=data_dir, **settings))


@pytest.fixture
def chat(tmp_path: Path, sqlite_template: Path) -> Iterator[Chat]:
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    context = context_on(database, tmp_path / "data")
    with web_server(create_app(context)) as url:
        yield Chat(url, context)
    context.engine.dispose()


def form_token(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def issued(response: httpx.Response) -> str | None:
    """The visitor token the response sets, if it sets one."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{VISITOR_COOKIE}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


def stored_from(context: Context, address: str) -> int:
    with context.sessions() as session:
        return session.scalar(select(func.count(Message.id)).where(Message.sender == address)) or 0


def test_a_forged_visitor_cookie_is_replaced_and_never_sees_or_writes_that_chat(chat: Chat) -> None:
    forged = secrets.token_urlsafe(30)[:30]
    victim = address_of(forged)  # a conversation held under the planted token, e.g. before this was fixed
    store_messages(chat.context, [InboundMessage(channel="webchat", external_id=f"{victim}-1", sender=victim,
                                                 body_text="My rent account number is 12345",
                                                 new_text="My rent account number is 12345")])
    cookies = {"Cookie": f"{VISITOR_COOKIE}={forged}"}
    with httpx.Client(base_url=chat.url, follow_redirects=False) as browser:
        page = browser.get("/chat", headers=cookies)
        assert "12345" not in page.text
        fresh = issued(page)
        assert fresh is not None and fresh != forged
        assert browser.get("/chat/messages", headers=cookies).json() == {"lines": []}
        posted = browser.post("/chat", headers=cookies | JSON,
                              data={"text": "hello", "nonce": "n1", "csrf": form_token(page)})
        assert posted.status_code == 403
    assert stored_from(chat.context, victim) == 1


def test_a_visitor_keeps_their_conversation_across_a_reload(chat: Chat) -> None:
    with httpx.Client(base_url=chat.url, follow_redirects=False) as browser:
        first = browser.get("/chat")
        token = issued(first)
        assert token is not None
        assert browser.post("/chat", headers=JSON, data={"text": "My sink is blocked", "nonce": "a1",
                                                         "csrf": form_token(first)}).status_code == 200
        again = browser.get("/chat")
        assert "My sink is blocked" in again.text
        assert issued(again) in (None, token), "the same visitor keeps the same token"
        lines = browser.get("/chat/messages").json()["lines"]
        assert [line["text"] for line in lines] == ["My sink is blocked"]
    assert stored_from(chat.context, address_of(token)) == 1


def test_a_form_token_the_attacker_chose_is_refused_even_with_a_matching_cookie(chat: Chat) -> None:
    with httpx.Client(base_url=chat.url, follow_redirects=False) as browser:
        page = browser.get("/chat")
        visitor = issued(page)
        planted = secrets.token_urlsafe(16)
        headers = {"Cookie": f"{VISITOR_COOKIE}={visitor}; {OLD_CSRF_COOKIE}={planted}"} | JSON
        refused = browser.post("/chat", headers=headers, data={"text": "Pay this link", "nonce": "x1", "csrf": planted})
        assert refused.status_code == 403
        accepted = browser.post("/chat", headers=headers, data={"text": "My own words", "nonce": "x2",
                                                                "csrf": form_token(page)})
        assert accepted.status_code == 200
    assert stored_from(chat.context, address_of(visitor)) == 1  # type: ignore[arg-type]


def test_the_form_token_of_one_visitor_does_not_work_for_another(chat: Chat) -> None:
    with httpx.Client(base_url=chat.url) as alice, httpx.Client(base_url=chat.url) as mallory:
        theirs = form_token(mallory.get("/chat"))
        alice.get("/chat")
        assert alice.post("/chat", headers=JSON, data={"text": "hi", "nonce": "m1", "csrf": theirs}).status_code == 403


def test_a_token_signed_with_another_secret_is_replaced(tmp_path: Path, sqlite_template: Path) -> None:
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    elsewhere = context_on(database, tmp_path / "elsewhere")
    here = context_on(database, tmp_path / "data")
    with web_server(create_app(elsewhere)) as other_url, httpx.Client(base_url=other_url) as browser:
        foreign = issued(browser.get("/chat"))
    with web_server(create_app(here)) as url, httpx.Client(base_url=url) as browser:
        replaced = issued(browser.get("/chat", headers={"Cookie": f"{VISITOR_COOKIE}={foreign}"}))
    assert foreign and replaced and replaced != foreign
    for context in (here, elsewhere):
        context.engine.dispose()


def test_the_secret_is_made_once_owner_only_and_shared_by_processes_on_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code = f"from pathlib import Path; from bot.secret_file import secret_in; print(secret_in(Path({str(data / 'webchat.key')!r})).decode())"
    starts = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    made = {start.communicate(timeout=60)[0].strip() for start in starts}  # four processes starting at once
    assert len(made) == 1 and len(made.pop()) >= 32
    assert [p.name for p in data.iterdir()] == ["webchat.key"]  # no half-written drafts left behind
    assert stat.S_IMODE((data / "webchat.key").stat().st_mode) == 0o600
    first, second = context_on(tmp_path / "a.sqlite3", data), context_on(tmp_path / "a.sqlite3", data)
    assert first.chat_secret == second.chat_secret == (data / "webchat.key").read_text().strip().encode()


def test_a_secret_given_in_the_settings_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    given = "x" * 40
    context = context_on(tmp_path / "a.sqlite3", tmp_path / "data", chat_secret=given)
    assert context.chat_secret == given.encode()
    assert given not in repr(context.settings)  # not in a traceback or a log line of the settings
    assert not (tmp_path / "data" / "webchat.key").exists()
