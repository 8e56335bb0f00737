"""The command-line contract, run as a user would: the installed `triage` program in a subprocess."""

from __future__ import annotations

import re
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from tests.servers import TRIAGE, empty_database, triage_env
from workflow import db
from workflow.models import AuditEvent, User

def triage(*args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, *args], cwd=cwd, input=input, capture_output=True, text=True,
                          env=triage_env(**(env or {})),
                          timeout=120)


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = triage("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("workdays", "run", "db", "users"):
        assert command in result.stdout


@pytest.mark.parametrize("args,expected", [
    (("2025-12-23", "5"), "2026-01-02"),
    (("2026-04-02", "1"), "2026-04-07"),
    (("2026-04-02", "1", "--nation", "scotland"), "2026-04-06"),
    (("2026-03-16", "1", "--nation", "northern-ireland"), "2026-03-18"),
])
def test_workdays(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = triage("workdays", *args, cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_workdays_reads_closure_days_from_the_environment(tmp_path: Path) -> None:
    result = triage("workdays", "2025-12-23", "5", cwd=tmp_path, env={"TRIAGE_CLOSURE_DAYS": "2025-12-29..2025-12-31"})
    assert result.stdout.strip() == "2026-01-07"


def test_workdays_rejects_bad_input_clearly(tmp_path: Path) -> None:
    result = triage("workdays", "23/12/2025", "5", cwd=tmp_path)
    assert result.returncode != 0 and "23/12/2025" in result.stderr
    result = triage("workdays", "2025-12-23", "5", "--nation", "france", cwd=tmp_path)
    assert result.returncode != 0 and "france" in result.stderr


def test_users_add_hashes_the_password_and_creates_the_database(tmp_path: Path) -> None:
    password = "correct horse battery staple"
    result = triage("users", "add", "alice", "--role", "supervisor", cwd=tmp_path, input=f"{password}\n{password}\n")
    assert result.returncode == 0, result.stderr
    assert "added alice (supervisor)" in result.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}")
    with Session(engine) as session:
        user = session.scalars(select(User)).one()
        assert (user.username, user.role) == ("alice", "supervisor")
        assert password not in user.password_hash and user.password_hash.startswith("$argon2id$")
        assert session.scalars(select(AuditEvent.action)).all() == ["user_added"]
    again = triage("users", "add", "alice", "--role", "advisor", cwd=tmp_path, input=f"{password}\n{password}\n")
    assert again.returncode == 2 and "already a user called alice" in again.stderr
    short = triage("users", "add", "bob", "--role", "advisor", cwd=tmp_path, input="short\nshort\n")
    assert short.returncode == 2 and "at least 12" in short.stderr
    bad_role = triage("users", "add", "carol", "--role", "king", cwd=tmp_path, input=f"{password}\n{password}\n")
    assert bad_role.returncode == 2 and "king" in bad_role.stderr


def test_db_upgrade_uses_the_configured_database(tmp_path: Path) -> None:
    result = triage("db", "upgrade", cwd=tmp_path, env={"TRIAGE_DATA_DIR": str(tmp_path / "elsewhere")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "triage.sqlite3").exists()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_processes_started_together_on_a_new_database_take_turns_to_migrate(
        tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    env = {"TRIAGE_DATA_DIR": str(tmp_path / "data")}
    if kind == "postgresql":
        admin_url, _template = request.getfixturevalue("postgres_template")
        env["TRIAGE_DATABASE_URL"] = empty_database(admin_url, "migrate_race")
    starts = [subprocess.Popen([TRIAGE, "db", "upgrade"], cwd=tmp_path, env=triage_env(**env), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [start.communicate(timeout=120)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], outputs
    engine = create_engine(env.get("TRIAGE_DATABASE_URL") or f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}")
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()]
    engine.dispose()


def _mail_to(outgoing: Path, address: str, containing: str, timeout: float = 60.0) -> EmailMessage:
    """The first mail in the .eml drop addressed to address whose text contains a phrase."""
    import email
    import time
    from email import policy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outgoing.glob("*.eml")):
            mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if mail["To"] == address and containing in mail.get_body(("plain",)).get_content():
                return mail  # type: ignore[return-value]
        time.sleep(0.3)
    raise AssertionError(f"no mail to {address} containing {containing!r} in {outgoing}")


@pytest.mark.slow
def test_make_run_then_demo_then_a_resident_emails_and_answers_complaint(tmp_path: Path) -> None:
    """Issue 5's acceptance: `triage run` on its embedded defaults, `triage demo`, then a resident's own mail."""
    import json
    import smtplib
    import time
    import urllib.request

    from tests.servers import free_port

    port, smtp_port = free_port(), free_port()
    env = triage_env(TRIAGE_WEB_PORT=str(port), TRIAGE_SMTP_PORT=str(smtp_port))
    log = tmp_path / "triage.log"  # a file, not a pipe: a pipe nobody reads fills up and blocks the product
    process = subprocess.Popen([TRIAGE, "run"], cwd=tmp_path, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600  # the first start builds the model: 80 s on two idle cores
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"triage run did not serve /healthz: {log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        building = log.read_text()
        assert "building the model: reading" in building, "the first start says what it is doing"
        assert re.search(r"building the model: .+ \(\d+%, about \d+ s left\)", building), "and how long is left"
        assert body == {"status": "ok", "database": "sqlite"}
        said = log.read_text()
        assert f"Console: http://127.0.0.1:{port}/console/" in said and f"Web chat: http://127.0.0.1:{port}/chat" in said
        assert "No console user yet" in said and "triage users add YOUR-NAME --role admin" in said
        assert f"smtp role: started the SMTP server on 127.0.0.1:{smtp_port}" in said, "the log says where mail goes"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            landing = response.read().decode()
        assert 'href="/console/"' in landing and 'href="/chat"' in landing, "/ answered {\"detail\":\"Not Found\"}"
        assert (tmp_path / "data" / "model" / "triage.skops").exists(), "the model is built on first start"

        demo = subprocess.run([TRIAGE, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert demo.returncode == 0, demo.stderr
        assert "sent 22 emails" in demo.stdout and "8 chat messages" in demo.stdout
        said = demo.stdout  # where to look next, and that the queue needs a user to sign in
        assert f"the queue of cases:  http://127.0.0.1:{port}/console/" in said
        assert f"the web chat:        http://127.0.0.1:{port}/chat" in said
        assert f"the replies:         {tmp_path / 'data' / 'outgoing'}/" in said
        assert "No console user yet" in said and ".venv/bin/triage users add YOUR-NAME --role advisor" in said

        outgoing = tmp_path / "data" / "outgoing"
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.sendmail("new.user@example.net", ["housing@example.org"],
                            b"From: new.user@example.net\r\nTo: housing@example.org\r\n"
                            b"Message-ID: <own-1@example.net>\r\nSubject: Repair\r\n\r\n"
                            b"I reported my broken window a month ago and my repair still has not been done.\r\n")
        offer = _mail_to(outgoing, "new.user@example.net", "COMPLAINT or REQUEST")
        answer = (f"From: new.user@example.net\r\nTo: housing@example.org\r\nMessage-ID: <own-2@example.net>\r\n"
                  f"In-Reply-To: {offer['Message-ID']}\r\nSubject: Re: {offer['Subject']}\r\n\r\ncomplaint\r\n")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.sendmail("new.user@example.net", ["housing@example.org"], answer.encode())
        acknowledgement = _mail_to(outgoing, "new.user@example.net", "is logged")
        text = acknowledgement.get_body(("plain",)).get_content()
        assert "Your complaint CMP-" in text
        complaint = re.search(r"CMP-\d{4}-\d{5}", text).group(0)  # type: ignore[union-attr]
        names = sorted(path.name for path in outgoing.glob("*.eml"))
        assert [name for name in names if f"_{complaint}_" in name], f"a listing shows each reply's case: {names}"
        assert all(re.fullmatch(r"\d{8}-\d{6}_[A-Za-z0-9.-]+_out-[0-9a-f]{32}\.eml", name) for name in names), names
        assert " at the latest" in text and "We will contact you by " in text

        engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}")
        with engine.connect() as connection:
            inbound = connection.exec_driver_sql("SELECT count(*) FROM messages WHERE direction = 'inbound'").scalar()
        assert inbound == 32
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_run_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = triage("run", "--only", "smtp,mailman", cwd=tmp_path)
    assert result.returncode == 2 and "unknown role mailman" in result.stderr and "scheduler" in result.stderr
    assert not (tmp_path / "data").exists(), "nothing is started or created for a mistyped role"


def test_roles_split_across_three_processes_share_the_work(tmp_path: Path, trained_data_dir: Path) -> None:
    """Issue 9: `--only smtp,web`, `--only worker,scheduler` and `--only outbox`, one database.

    The SMTP process stores the mail and answers 250; only the worker process may write the reply,
    and it queues it; only the outbox process sends it. The web process serves the health check
    without a model or a worker."""
    import smtplib
    import time
    import urllib.request

    from tests.servers import free_port

    (tmp_path / "data" / "model").mkdir(parents=True)
    shutil.copyfile(trained_data_dir / "model" / "triage.skops", tmp_path / "data" / "model" / "triage.skops")
    port, smtp_port = free_port(), free_port()
    env = triage_env(TRIAGE_WEB_PORT=str(port), TRIAGE_SMTP_PORT=str(smtp_port))

    def start(roles: str) -> subprocess.Popen[str]:
        log = tmp_path / f"triage-{roles.replace(',', '-')}.log"  # a file: an unread pipe fills and blocks
        return subprocess.Popen([TRIAGE, "run", "--only", roles], cwd=tmp_path, env=env, stdout=log.open("a"),
                                stderr=subprocess.STDOUT, text=True)

    def queued_replies() -> int:
        engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}")
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one()
        engine.dispose()
        return count

    processes = [start("smtp,web")]
    try:
        front = processes[0]
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if front.poll() is not None or time.monotonic() > deadline:
                    log = (tmp_path / "triage-smtp-web.log").read_text()[-3000:]
                    raise AssertionError(f"the web role did not start: {log}") from None
                time.sleep(0.2)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.sendmail("split@example.net", ["housing@example.org"],
                            b"From: split@example.net\r\nTo: housing@example.org\r\nMessage-ID: <split-1@example.net>"
                            b"\r\nSubject: Lift\r\n\r\nThe lift in Marlowe Tower has stopped working.\r\n")
        time.sleep(3)  # long enough for any worker in the front process to have answered
        outgoing = tmp_path / "data" / "outgoing"
        assert queued_replies() == 0, "the smtp,web process must not handle or answer mail"
        processes.append(start("worker,scheduler"))
        deadline = time.monotonic() + 90
        while queued_replies() == 0:
            assert time.monotonic() < deadline and processes[1].poll() is None, "the worker never queued the receipt"
            time.sleep(0.3)
        time.sleep(3)  # long enough for an outbox in the worker process to have sent it
        assert not list(outgoing.glob("*.eml")), "the worker queues replies; only an outbox role sends them"
        processes.append(start("outbox"))
        receipt = _mail_to(outgoing, "split@example.net", "reference", timeout=60)
        assert receipt["In-Reply-To"] == "<split-1@example.net>"
        deadline = time.monotonic() + 30  # the file is written first, then the item recorded as sent
        while queued_replies():
            assert time.monotonic() < deadline, "the outbox sent the receipt but never recorded it as sent"
            time.sleep(0.3)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    assert [process.returncode for process in processes] == [0, 0, 0], "each stops cleanly on SIGTERM"


def test_a_second_run_on_the_same_sqlite_directory_stops_with_one_line(tmp_path: Path) -> None:
    """Two processes running the same role on one SQLite directory answered residents twice."""
    import time

    env = triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data"))
    first = subprocess.Popen([TRIAGE, "run", "--only", "outbox"], env=env, cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "data" / "locks" / "outbox.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None, "the first run did not start"
            time.sleep(0.2)
        for roles in ("outbox,scheduler", "smtp,imap,telegram,web,worker,outbox,scheduler"):
            second = subprocess.run([TRIAGE, "run", "--only", roles], env=env, cwd=tmp_path, capture_output=True,
                                    text=True, timeout=60)
            assert second.returncode == 1
            assert second.stderr.strip().splitlines()[-1].startswith("error: another triage process already runs")
            assert "Traceback" not in second.stderr
        other = subprocess.Popen([TRIAGE, "run", "--only", "scheduler"], env=env, cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        assert other.poll() is None  # a different role on the same directory is fine (split roles)
        other.terminate()
        other.wait(timeout=30)
    finally:
        first.terminate()
        first.wait(timeout=30)


@pytest.mark.slow
def test_sigterm_while_the_first_start_builds_the_model_stops_within_seconds(tmp_path: Path) -> None:
    """systemd's stop used to wait until training had finished; now the build is a child process.
    The next start builds the whole model again, from the first step, and the model it leaves is
    the one every later start loads."""
    import signal
    import time

    env = triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen([TRIAGE, "run", "--only", "worker"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "building the model: reading" in line:  # the child is training
                break
        else:
            raise AssertionError("no progress line:\n" + "".join(lines))
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - started < 5
        rest = process.stdout.read()
    finally:
        process.kill()
    assert process.returncode == 0, rest
    assert "stopped while building the model" in rest
    model_dir = tmp_path / "data" / "model"
    assert not model_dir.exists() or not list(model_dir.iterdir()), "nothing half-built is left for a start to load"
    assert "building the model from" in "".join(lines)

    log = tmp_path / "second-start.log"  # a file: an unread pipe fills and blocks the product
    again = subprocess.Popen([TRIAGE, "run", "--only", "worker"], env=env, cwd=tmp_path, stdout=log.open("w"),
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600  # a whole build: about 80 s on two idle cores
        while not re.search(r"model \S+ ready", log.read_text()):
            assert again.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
    finally:
        again.terminate()
        again.wait(timeout=30)
    second = log.read_text()
    assert "building the model: reading" in second and "(0%)" in second, "built from the first step, not resumed"
    assert "building the model: fitting the final model" in second and "model built in" in second
    assert [path.name for path in model_dir.iterdir()] == ["triage.skops"]
    built = (model_dir / "triage.skops").stat().st_mtime_ns
    third = subprocess.run([TRIAGE, "classify", "--json", "The boiler has broken and we have no heating."],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert '"kind": ' in third.stdout
    assert (model_dir / "triage.skops").stat().st_mtime_ns == built, "the model is whole: nothing rebuilt it"


def test_the_access_log_keeps_no_search_terms_and_the_route_list_is_not_public(tmp_path: Path) -> None:
    """An advisor's search for a resident's address was written into the log; /openapi.json listed every route."""
    import time
    import urllib.error
    import urllib.request

    from tests.servers import free_port

    port = free_port()
    env = triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data"), TRIAGE_WEB_PORT=str(port))
    log = tmp_path / "triage.log"
    process = subprocess.Popen([TRIAGE, "run", "--only", "web"], cwd=tmp_path, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        for path in ("/console/search?q=Flat+4+Oak+Road", "/openapi.json", "/docs"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            if path != "/console/search?q=Flat+4+Oak+Road":
                assert status == 404, path
        time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    written = log.read_text()
    assert "/console/search?" in written and "Oak" not in written


def test_a_busy_port_stops_the_start_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    """A busy port ended in a 71-line traceback, and only after the model was built."""
    import socket

    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = subprocess.run([TRIAGE, "run", "--only", "smtp"], cwd=tmp_path, capture_output=True, text=True,
                                env=triage_env(TRIAGE_SMTP_PORT=str(port)), timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: 127.0.0.1:{port} cannot be used") and "set TRIAGE_SMTP_PORT to a free port" in line
