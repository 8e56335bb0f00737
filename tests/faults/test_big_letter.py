"""Fault test (hardening issue, item 5): one letter crafted for the regex engine must not stall the bot.

A letter just under the SMTP size limit whose every line was a worst case for the old text
handling (the foreign attribution pattern alone took minutes over it; cleaning the text for the
model and looking up the reference on every line added more) goes into the real `triage run`
over SMTP, then an ordinary letter. On SQLite one worker handles messages in turn, so how soon
the ordinary letter is answered shows how long the crafted one held everybody up.
"""

from __future__ import annotations

import email.policy
import queue
import shutil
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.faults.test_crashes import _env, _mail, _send, _start
from tests.mail_sink import Mailbox, sink
from tests.servers import free_port

pytestmark = pytest.mark.slow

ANSWERED_WITHIN = 5.0  # seconds from sending the ordinary letter to its answer reaching the resident's provider
# "Le <digits> schrieb schrieb ...": the old pattern tried every place for its three .{0,200};
# "<script" with no ">" after it and a reference on every line cost the old code more again.
CRAFTED_LINE = "Le " + "1" * 190 + " schrieb" * 40 + " <script <br CMP-2026-00001 can you"


def crafted_letter(max_bytes: int) -> tuple[str, bytes]:
    """(Message-ID, bytes) of a plain-text letter of crafted lines, as big as the SMTP server accepts."""
    message = EmailMessage()
    message["From"] = "crafty@example.net"
    message["To"] = "housing@example.org"
    message["Subject"] = "My letter"
    message["Message-ID"] = message_id = "<crafted-letter@example.net>"
    lines = (max_bytes - 4096) // (len(CRAFTED_LINE) + 2)  # room for the headers; each line ends in CRLF
    message.set_content("Hello >\n" + "\n".join([CRAFTED_LINE] * lines), cte="7bit")
    raw = message.as_bytes(policy=email.policy.SMTP)
    assert max_bytes - 8192 < len(raw) <= max_bytes, len(raw)
    return message_id, raw


def answered(mailbox: Mailbox, message_id: str, sent: float, within: float, answers: dict[str, float]) -> bool:
    """Collect replies (In-Reply-To -> seconds after `sent`) until one answers message_id; False once
    `within` seconds after `sent` have passed without it."""
    while message_id not in answers:
        left = sent + within - time.monotonic()
        try:
            reply = mailbox.next(timeout=max(left, 0.0))
        except queue.Empty:
            return False
        answers[str(reply["In-Reply-To"])] = time.monotonic() - sent
    return True


def test_an_ordinary_letter_is_answered_within_seconds_of_a_crafted_25_mb_one(tmp_path: Path,
                                                                                trained_data_dir: Path) -> None:
    mailbox = Mailbox()
    provider = sink(mailbox, free_port())
    provider.start()
    (tmp_path / "data" / "model").mkdir(parents=True)
    shutil.copyfile(trained_data_dir / "model" / "triage.skops", tmp_path / "data" / "model" / "triage.skops")
    env = _env(tmp_path, TRIAGE_OUTBOUND_SMTP_URL=f"smtp://127.0.0.1:{provider.port}")
    port = int(env["TRIAGE_SMTP_PORT"])
    crafted_id, crafted = crafted_letter(Settings.model_fields["smtp_max_bytes"].default)
    ordinary_id, ordinary = _mail(1, "after-the-crafted-letter")
    process = _start(tmp_path, "smtp,worker,outbox", env)
    try:
        assert _send(port, crafted), "the crafted letter is within the size limit, so it is accepted"
        sent = time.monotonic()
        assert _send(port, ordinary)
        answers: dict[str, float] = {}
        assert answered(mailbox, ordinary_id, sent, ANSWERED_WITHIN, answers), (
            f"the ordinary letter was not answered within {ANSWERED_WITHIN:.0f} s; answers so far: {answers}")
        assert answered(mailbox, crafted_id, sent, 60.0, answers), "the crafted letter is answered as any other"
    finally:
        process.terminate()
        process.wait(timeout=30)
        provider.stop()
