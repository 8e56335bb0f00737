"""Fault tests (issue 9): SQLite held locked by another process, and the disk full.

In both the SMTP server must answer 451, never 250: a 250 for a message that was not stored
loses it, while a 451 makes the sending server keep it and try again. Once the fault clears,
the retried message is stored once and nothing stored before is damaged.
"""

from __future__ import annotations

import email.message
import email.policy
import os
import smtplib
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.test_crashes import _env, _mail, _start

pytestmark = pytest.mark.slow


def _deliver(port: int, raw: bytes) -> int:
    """The SMTP reply code to the data: 250 stored, 4xx try later."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.sendmail("gateway@example.net", ["housing@example.org"], raw)
        return 250
    except smtplib.SMTPDataError as error:
        return error.smtp_code


def _stored(database: Path) -> Counter[str]:
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return Counter(row[0] for row in connection.execute(
            "SELECT external_id FROM messages WHERE direction = 'inbound'"))


def _large_mail(run: str, size: int) -> tuple[str, bytes]:
    """A letter with a photo attached, the kind that needs new room in the database to store."""
    message = email.message.EmailMessage()
    message["From"] = "tenant@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = "Photos of the mould"
    message["Message-ID"] = message_id = f"<fault-{run}-photo@example.net>"
    message.set_content("Here are the photos of the mould in the back bedroom.")
    message.add_attachment(os.urandom(size), maintype="image", subtype="jpeg", filename="mould.jpg")
    return message_id, message.as_bytes(policy=email.policy.SMTP)


def test_sqlite_locked_past_the_busy_timeout_answers_451_then_stores_the_retry(tmp_path: Path) -> None:
    env = _env(tmp_path, TRIAGE_SQLITE_BUSY_SECONDS="1")
    port = int(env["TRIAGE_SMTP_PORT"])
    database = tmp_path / "data" / "triage.sqlite3"
    before, during = _mail(1, "locked"), _mail(2, "locked")
    process = _start(tmp_path, "smtp", env)
    try:
        assert _deliver(port, before[1]) == 250
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another program (a backup, a careless sqlite3 shell) holds the write lock
        try:
            assert _deliver(port, during[1]) == 451, "a message that could not be stored was refused for now"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert _deliver(port, during[1]) == 250, "the sender's retry is stored once the lock is gone"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert _stored(database) == Counter({before[0]: 1, during[0]: 1})


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB filesystem for the data directory, so the disk can really fill."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _fill(directory: Path) -> Path:
    """Write until the filesystem refuses: what a runaway log or a backup does to a real server."""
    filler = directory / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_disk_full_answers_451_then_stores_the_retry_once_there_is_room(tmp_path: Path, small_disk: Path) -> None:
    env = _env(tmp_path)
    port = int(env["TRIAGE_SMTP_PORT"])
    before = _mail(1, "full")
    photo = _large_mail("full", 2 * 1024 * 1024)
    process = _start(tmp_path, "smtp", env)
    try:
        assert _deliver(port, before[1]) == 250
        filler = _fill(small_disk)
        assert _deliver(port, photo[1]) == 451, "a message the full disk could not hold was refused for now"
        assert process.poll() is None, "the server stays up through the full disk"
        filler.unlink()
        assert _deliver(port, photo[1]) == 250, "the sender's retry is stored once there is room"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert _stored(small_disk / "triage.sqlite3") == Counter({before[0]: 1, photo[0]: 1})
