"""`triage users`, run as an IT officer would on the first day: add, list, remove, reset-password.

The commands run through typer's CliRunner on a real SQLite database in a temporary data
directory; sign-ins go through the real console served by uvicorn. A mistake in the arguments
is refused before the password is asked: these tests give no input, so a prompt would show in
the output and end the command with "Aborted!" instead of the one-line error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.context import Context
from bot.settings import Settings
from bot.web import create_app
from tests.servers import web_server
from workflow.models import AuditEvent, User

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The product's settings pointed at a fresh directory, and nothing else from this shell."""
    for name in [name for name in os.environ if name.startswith("TRIAGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    umask = os.umask(0o022)
    os.umask(umask)
    yield tmp_path / "data"
    os.umask(umask)  # `triage` narrows the process's umask for what it writes; pytest's other tests keep theirs


def triage(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def add(name: str, *options: str) -> Result:
    result = triage("users", "add", name, *options, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result) -> str:
    """The one line a refused command writes, after checking it asked for no password."""
    assert "Password" not in result.output and "Aborted" not in result.output, "it asked for a password first"
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def context_of(data_dir: Path) -> Context:
    return Context(Settings(_env_file=None, data_dir=data_dir))


def actions(data_dir: Path) -> list[str]:
    context = context_of(data_dir)
    with context.sessions() as session:
        found = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    context.engine.dispose()
    return found


@pytest.mark.parametrize("options,says", [
    (("--role", "wrong"), "unknown role 'wrong': choose advisor, supervisor or admin"),
    (("--role", "advisor", "--team", "Plumbing"), "unknown team 'Plumbing': the teams are Anti-social behaviour,"),
    (("--role", "advisor", "--email", "alex.example.org"), "'alex.example.org' is not an email address"),
    (("--role", "advisor", "--email", "alex@example"), "'alex@example' is not an email address"),
    (("--role", "advisor", "--email", "alex @example.org"), "is not an email address"),
])
def test_a_mistake_in_users_add_is_told_in_one_line_before_the_password_is_asked(
        data_dir: Path, options: tuple[str, ...], says: str) -> None:
    line = refused(triage("users", "add", "alex", *options))
    assert says in line


def test_a_name_already_taken_is_refused_before_the_password_is_asked(data_dir: Path) -> None:
    add("alex", "--role", "advisor")
    assert "there is already a user called alex" in refused(triage("users", "add", "alex", "--role", "admin"))
    assert "there is already a user called alex" in refused(triage("users", "add", "Alex", "--role", "admin")), \
        "Alex and alex would be one account at the sign-in throttle and two here"


def test_a_team_is_taken_as_the_configuration_spells_it(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_TEAMS", '{"repairs": "Repairs North"}')
    add("kim", "--role", "advisor", "--team", "repairs north", "--email", "Kim@Example.org")
    listed = triage("users", "list", "--json")
    assert listed.stdout.strip() == ('{"name": "kim", "role": "advisor", "team": "Repairs North", '
                                     '"email": "kim@example.org", "active": true}')


def test_users_list_shows_who_can_sign_in_and_never_a_password(data_dir: Path) -> None:
    empty = triage("users", "list")
    assert empty.exit_code == 0 and "triage users add YOUR-NAME --role admin" in empty.stdout
    add("sam", "--role", "supervisor", "--team", "Complaints", "--email", "sam@example.org")
    add("alex", "--role", "advisor")
    add("ada", "--role", "admin")
    assert triage("users", "remove", "ada").exit_code == 0
    listed = triage("users", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line.split("  ") for line in listed.stdout.splitlines()]
    assert [[cell.strip() for cell in row if cell.strip()] for row in rows] == [
        ["name", "role", "team", "email", "active"],
        ["alex", "advisor", "-", "-", "yes"],
        ["sam", "supervisor", "Complaints", "sam@example.org", "yes"],
        ["ada", "admin", "-", "-", "no (removed)"],
    ]
    assert "argon2" not in listed.output and "$" not in listed.output


class Console:
    """The real console on loopback, reading the database the commands write."""

    def __init__(self, url: str) -> None:
        self.url = url

    def sign_in(self, name: str, password: str) -> httpx.Client | None:
        """A browser signed in as name, or None when the console refused the password."""
        browser = httpx.Client(base_url=self.url, follow_redirects=False)
        form = browser.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        answer = browser.post("/console/login", data={"username": name, "password": password, "csrf": csrf})
        if answer.status_code != 303:
            assert "do not match" in answer.text, answer.text
            browser.close()
            return None
        return browser


def still_signed_in(browser: httpx.Client) -> bool:
    """The queue opens for this browser, rather than sending it to the sign-in page."""
    queue = browser.get("/console/")
    if queue.status_code == 303:
        assert queue.headers["location"] == "/console/login"
        return False
    assert queue.status_code == 200 and "Sign out" in queue.text, queue.text
    return True


@pytest.fixture
def console(data_dir: Path) -> Iterator[Console]:
    add("alex", "--role", "advisor")
    context = context_of(data_dir)
    with web_server(create_app(context)) as url:
        yield Console(url)
    context.engine.dispose()


def test_a_removed_user_is_signed_out_at_once_and_cannot_sign_in_again(console: Console, data_dir: Path) -> None:
    browser = console.sign_in("alex", PASSWORD)
    assert browser is not None and still_signed_in(browser)
    removed = triage("users", "remove", "alex")
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.startswith("removed alex: they can no longer sign in (1 console session ended)")
    assert not still_signed_in(browser)
    assert console.sign_in("alex", PASSWORD) is None
    assert actions(data_dir)[-3:] == ["signed_in", "user_removed", "sign_in_failed"]
    again = refused(triage("users", "remove", "alex"))
    assert "alex was removed" in again
    assert "alex was removed and cannot sign in" in refused(triage("users", "reset-password", "alex"))
    assert "there is no user called 'bob'" in refused(triage("users", "remove", "bob"))
    context = context_of(data_dir)
    with context.sessions() as session:
        assert session.scalars(select(User.username)).all() == ["alex"], "kept: cases and the audit trail name them"
    context.engine.dispose()


def test_reset_password_asks_twice_ends_the_old_sessions_and_only_the_new_password_works(
        console: Console, data_dir: Path) -> None:
    assert "there is no user called 'bob'" in refused(triage("users", "reset-password", "bob"))
    browser = console.sign_in("alex", PASSWORD)
    assert browser is not None and still_signed_in(browser)
    short = triage("users", "reset-password", "alex", input="too short\ntoo short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.stderr
    assert still_signed_in(browser), "a refused reset changes nothing"
    reset = triage("users", "reset-password", "alex", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert reset.exit_code == 0, reset.output
    assert reset.output.count("Password") == 1 and "Repeat for confirmation" in reset.output, "asked twice"
    assert "password changed for alex (1 console session ended" in reset.stdout
    assert not still_signed_in(browser)
    assert console.sign_in("alex", PASSWORD) is None
    assert console.sign_in("alex", NEW_PASSWORD) is not None
    context = context_of(data_dir)
    with context.sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    context.engine.dispose()
    assert stored.startswith("$argon2id$") and NEW_PASSWORD not in stored
    assert "password_reset" in actions(data_dir)
