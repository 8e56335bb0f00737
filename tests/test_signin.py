"""Console sign-in under attack: guessing is throttled per account and per client address in the
database (so every web process sees the same count), every failure is audited, password checks
are bounded per process, and an idle session ends. Real uvicorn, real argon2, the product's clock."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.context import Context
from bot.settings import Settings
from bot.web import create_app
from tests.servers import web_server
from workflow.models import AuditEvent
from workflow.users import add_user

PASSWORD = "a long enough password"
MONDAY = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)


@dataclass
class Site:
    url: str
    context: Context
    clock: list[dt.datetime]

    def later(self, **delta: float) -> None:
        self.clock[0] += dt.timedelta(**delta)


def running(database_url: str, data_dir: Path, clock: list[dt.datetime], **settings: object) -> Context:
    return Context(Settings(_env_file=None, database_url=database_url, data_dir=data_dir, **settings),
                   now=lambda: clock[0])


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    clock = [MONDAY]
    context = running(database_url, tmp_path / "data", clock, console_hash_concurrency=2)
    with context.sessions() as session:
        add_user(session, "Alex", "advisor", PASSWORD, MONDAY, "test")
        session.commit()
    with web_server(create_app(context)) as url:
        yield Site(url, context, clock)
    context.engine.dispose()


def attempt(url: str, name: str, password: str, client: str = "192.0.2.10") -> httpx.Response:
    """One sign-in from a fresh browser at `client` (as the reverse proxy reports it in X-Forwarded-For)."""
    with httpx.Client(base_url=url, follow_redirects=False, headers={"X-Forwarded-For": client}) as browser:
        form = browser.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        response = browser.post("/console/login", data={"username": name, "password": password, "csrf": token})
        response.read()
        return response


def events(context: Context, action: str) -> list[AuditEvent]:
    with context.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_six_wrong_passwords_then_the_right_one_is_refused_with_when_to_try_again(site: Site) -> None:
    for name in ("alex", "ALEX", "Alex", " alex", "aLeX"):  # one account, however it is typed
        assert attempt(site.url, name, "wrong password!").status_code == 401
    sixth = attempt(site.url, "Alex", "wrong password!")
    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "30" and "Try again in 30 seconds" in sixth.text
    checked = site.context.password_checks.done
    right = attempt(site.url, "Alex", PASSWORD)
    assert right.status_code == 429 and "Try again in" in right.text
    assert site.context.password_checks.done == checked, "a refused attempt never reaches argon2"

    site.later(seconds=int(right.headers["Retry-After"]))
    assert attempt(site.url, "Alex", "wrong password!").status_code == 401  # one more try, then a longer wait
    doubled = attempt(site.url, "Alex", PASSWORD)
    assert doubled.status_code == 429 and doubled.headers["Retry-After"] == "60"
    site.later(seconds=60)
    assert attempt(site.url, "Alex", PASSWORD).status_code == 303
    site.later(seconds=1)
    assert attempt(site.url, "alex", "wrong password!").status_code == 401, "a sign-in clears the account's count"


def test_a_name_nobody_has_is_throttled_in_the_same_words(site: Site) -> None:
    """The refusal must not tell an attacker which names are real."""
    for name in ("Alex", "nobody"):
        for _ in range(5):
            attempt(site.url, name, "wrong password!", client=f"198.51.100.{len(name)}")
    real, unknown = (attempt(site.url, name, PASSWORD, client="203.0.113.99") for name in ("Alex", "nobody"))
    assert (real.status_code, real.headers["Retry-After"]) == (unknown.status_code, unknown.headers["Retry-After"])
    assert real.status_code == 429
    assert re.sub(r'value="[^"]*"', "", real.text) == re.sub(r'value="[^"]*"', "", unknown.text)


def test_an_account_is_throttled_from_every_address_and_in_every_process(site: Site, database_url: str,
                                                                        tmp_path: Path) -> None:
    """Another web process on the same database (a second `triage run --only web`) sees the same failures."""
    other = running(database_url, tmp_path / "data", site.clock)
    with web_server(create_app(other)) as other_url:
        for n in range(5):
            url = site.url if n % 2 else other_url
            assert attempt(url, "alex", "wrong password!", client=f"198.51.100.{n}").status_code == 401
        for url in (site.url, other_url):
            assert attempt(url, "Alex", PASSWORD, client="203.0.113.7").status_code == 429
    other.engine.dispose()


def test_one_address_trying_many_names_is_throttled_but_others_are_not(site: Site) -> None:
    for n in range(20):
        assert attempt(site.url, f"guess{n}", "wrong password!", client="198.51.100.66").status_code == 401
    assert attempt(site.url, "Alex", PASSWORD, client="198.51.100.66").status_code == 429
    assert attempt(site.url, "Alex", PASSWORD, client="192.0.2.1").status_code == 303


def test_failed_and_successful_sign_ins_are_audited_without_the_password(site: Site) -> None:
    attempt(site.url, "ALEX", "my secret guess", client="198.51.100.23")
    attempt(site.url, "Alex", PASSWORD, client="198.51.100.24")
    (failed,) = events(site.context, "sign_in_failed")
    assert failed.actor == "anonymous"
    assert failed.detail["username"] == "alex" and failed.detail["address"] == "198.51.100.23"
    assert failed.at == MONDAY
    (signed_in,) = events(site.context, "signed_in")
    assert signed_in.actor == "Alex" and signed_in.detail["address"] == "198.51.100.24"
    with site.context.sessions() as session:
        everything = " ".join(repr((e.actor, e.detail)) for e in session.scalars(select(AuditEvent)))
    assert "my secret guess" not in everything and PASSWORD not in everything


def test_no_more_than_two_passwords_are_checked_at_once(site: Site) -> None:
    """32 sign-ins at once once took 830 MB (argon2 uses 64 MiB each) and slowed mail tenfold."""
    start = threading.Barrier(8)
    statuses: list[int] = []

    def guess(n: int) -> None:
        start.wait()
        statuses.append(attempt(site.url, f"flood{n}", "wrong password!", client=f"198.51.100.{n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    checks = site.context.password_checks
    assert len(statuses) == 8 and set(statuses) <= {401, 503}  # 503: no turn within 2 s on a slow machine
    assert checks.done == statuses.count(401) >= 2 and checks.most_at_once == 2


def test_a_sign_in_that_cannot_get_a_turn_is_told_to_try_again_shortly(site: Site) -> None:
    checks = site.context.password_checks
    with checks.slot() as first, checks.slot() as second:  # two checks already running
        assert first and second
        busy = attempt(site.url, "Alex", PASSWORD)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "busy" in busy.text
    assert attempt(site.url, "Alex", PASSWORD).status_code == 303
    assert events(site.context, "sign_in_failed") == []  # the server being busy is not the user's failure


def test_an_idle_session_ends_and_each_use_extends_it(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as browser:
        form = browser.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert browser.post("/console/login", data={"username": "Alex", "password": PASSWORD,
                                                    "csrf": token}).status_code == 303
        for _ in range(3):  # an hour of work, a page every 20 minutes
            site.later(minutes=20)
            assert browser.get("/console/").status_code == 200
        site.later(minutes=31)
        gone = browser.get("/console/")
        assert gone.status_code == 303 and gone.headers["location"] == "/console/login"


def test_a_session_in_constant_use_still_ends_after_a_working_day(site: Site) -> None:
    with httpx.Client(base_url=site.url, follow_redirects=False) as browser:
        form = browser.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        browser.post("/console/login", data={"username": "Alex", "password": PASSWORD, "csrf": token})
        for _ in range(10 * 3 - 1):
            site.later(minutes=20)
            assert browser.get("/console/").status_code == 200
        site.later(minutes=20)
        assert browser.get("/console/").status_code == 303


def test_the_idle_time_is_a_setting(tmp_path: Path, sqlite_template: Path) -> None:
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    clock = [MONDAY]
    context = running(f"sqlite:///{database}", tmp_path / "data", clock, console_idle_minutes=5)
    with context.sessions() as session:
        add_user(session, "Alex", "advisor", PASSWORD, MONDAY, "test")
        session.commit()
    with web_server(create_app(context)) as url, httpx.Client(base_url=url, follow_redirects=False) as browser:
        form = browser.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        browser.post("/console/login", data={"username": "Alex", "password": PASSWORD, "csrf": token})
        clock[0] += dt.timedelta(minutes=4)
        assert browser.get("/console/").status_code == 200
        clock[0] += dt.timedelta(minutes=6)
        assert browser.get("/console/").status_code == 303
    context.engine.dispose()


@pytest.mark.parametrize("setting", [{"console_idle_minutes": 0}, {"console_idle_minutes": 601},
                                     {"console_hash_concurrency": 0}, {"chat_secret": "too short"}])
def test_settings_out_of_range_stop_the_start(setting: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Settings(_env_file=None, **setting)  # type: ignore[arg-type]


def test_the_sign_in_page_shows_no_words_from_its_address(site: Site) -> None:
    """`/console/login?error=...` put any text on the landlord's own sign-in page: a phishing aid."""
    page = httpx.get(f"{site.url}/console/login", params={"error": "Your account is locked. Call 0800 000 123"})
    assert page.status_code == 200 and "0800 000 123" not in page.text and 'name="csrf"' in page.text
