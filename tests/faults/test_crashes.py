"""Fault tests (issue 9): the product killed or its database restarted in the middle of real work.

Each test runs the installed `triage run` as a process of its own and talks to it only over
SMTP, as a council's mail gateway would; what was lost or doubled is read from the database.
"""

from __future__ import annotations

import email
import signal
import smtplib
import subprocess
import threading
import time
from collections import Counter
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.servers import TRIAGE, PostgresCluster, empty_database, free_port, triage_env, wait_for_port

pytestmark = pytest.mark.slow


def _mail(number: int, run: str) -> tuple[str, bytes]:
    message_id = f"<fault-{run}-{number}@example.net>"
    return message_id, (f"From: tenant{number}@example.net\r\nTo: housing@example.org\r\nMessage-ID: {message_id}\r\n"
                        f"Subject: Bins\r\n\r\nWhen are the bins collected at {number} Elm Road?\r\n").encode()


def _start(tmp_path: Path, roles: str, env: dict[str, str]) -> subprocess.Popen[str]:
    log = tmp_path / "triage.log"  # a file, not a pipe: nobody reads a pipe mid-test, and a full one blocks
    process = subprocess.Popen([TRIAGE, "run", "--only", roles], cwd=tmp_path, env=env, text=True,
                               stdout=log.open("a"), stderr=subprocess.STDOUT)
    wait_for_port(int(env["TRIAGE_SMTP_PORT"]),
                  lambda: None if process.poll() is None else f"triage run stopped: {log.read_text()[-3000:]}")
    return process


def _send(port: int, raw: bytes) -> bool:
    """One delivery attempt; True only when the server answered 250 to the data."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("gateway@example.net", ["housing@example.org"], raw)
        return True
    except (smtplib.SMTPException, OSError):
        return False


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data"), TRIAGE_SMTP_PORT=str(free_port()), **extra)


def test_killed_during_an_smtp_burst_every_accepted_message_is_stored_exactly_once(tmp_path: Path) -> None:
    env = _env(tmp_path)
    port = int(env["TRIAGE_SMTP_PORT"])
    mails = [_mail(n, "kill") for n in range(400)]
    accepted: list[str] = []
    lock = threading.Lock()

    def sender(share: list[tuple[str, bytes]]) -> None:
        for message_id, raw in share:
            if not _send(port, raw):
                return  # the server is gone; the gateway keeps the rest queued
            with lock:
                accepted.append(message_id)

    process = _start(tmp_path, "smtp", env)
    threads = [threading.Thread(target=sender, args=(mails[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    while len(accepted) < 40:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # no chance to flush, close or say goodbye
    process.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    seen = list(accepted)
    assert 40 <= len(seen) < len(mails), "the kill landed in the middle of the burst"

    process = _start(tmp_path, "smtp", env)  # the gateway retries everything it was not sure of
    try:
        for message_id, raw in mails:
            if message_id not in seen:
                assert _send(port, raw), message_id
    finally:
        process.terminate()
        process.wait(timeout=30)
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'triage.sqlite3'}")
    with engine.connect() as connection:
        stored = Counter(connection.execute(text(
            "SELECT external_id FROM messages WHERE direction = 'inbound'")).scalars())
    assert set(stored) == {m for m, _ in mails}, "nothing accepted before the kill, or after, was lost"
    assert max(stored.values()) == 1, "nothing was stored twice"


def test_postgresql_restarted_mid_run_loses_and_doubles_nothing(tmp_path: Path, trained_data_dir: Path) -> None:
    import shutil

    cluster = PostgresCluster()
    cluster.start()
    process = None
    try:
        database = empty_database(cluster.url, "triage")
        (tmp_path / "data" / "model").mkdir(parents=True)
        shutil.copyfile(trained_data_dir / "model" / "triage.skops", tmp_path / "data" / "model" / "triage.skops")
        env = _env(tmp_path, TRIAGE_DATABASE_URL=database)
        port = int(env["TRIAGE_SMTP_PORT"])
        process = _start(tmp_path, "smtp,worker,outbox", env)
        mails = [_mail(n, "pg") for n in range(60)]
        refused = 0
        for number, (message_id, raw) in enumerate(mails):
            if number == 20:
                cluster.restart()  # every pooled connection in the product is now dead
            deadline = time.monotonic() + 60
            while not _send(port, raw):  # 451 while the database is away: the gateway tries again
                refused += 1
                assert time.monotonic() < deadline, f"{message_id} was never accepted"
                time.sleep(0.2)
        outgoing = tmp_path / "data" / "outgoing"
        deadline = time.monotonic() + 120
        answered: Counter[str] = Counter()
        while time.monotonic() < deadline:
            answered = Counter(email.message_from_bytes(path.read_bytes(), policy=policy.default)["In-Reply-To"]
                               for path in outgoing.glob("*.eml"))
            if len(answered) >= len(mails):
                break
            time.sleep(0.5)
        engine = create_engine(database)
        with engine.connect() as connection:
            stored = Counter(connection.execute(text(
                "SELECT external_id FROM messages WHERE direction = 'inbound'")).scalars())
        engine.dispose()
        assert set(stored) == {m for m, _ in mails} and max(stored.values()) == 1
        assert set(answered) == {m for m, _ in mails}, "every resident got their receipt after the restart"
        assert max(answered.values()) == 1, "and nobody got it twice"
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        cluster.remove()
