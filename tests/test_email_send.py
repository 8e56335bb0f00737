"""Outbound mail: threading headers, RFC 3834 marking, delivery to a real aiosmtpd sink or to .eml files."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from intake.email.parse import parse
from intake.email.send import OutboundEmail, Sender, build
from tests.servers import free_port

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
REPLY = OutboundEmail(key="outbox-42", to="jo@example.net", subject="Re: My repair", reference="CMP-2026-00042",
                      text="We have received your message.\n\nYour reference is CMP-2026-00042.",
                      in_reply_to="<abc@example.net>", references=["<first@example.net>", "<abc@example.net>"])


class Sink:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))  # type: ignore[attr-defined]
        return "250 OK"


def test_built_message_threads_and_is_marked_automatic() -> None:
    message = build(REPLY, "housing@example.org", "Example Housing", NOW)
    assert message["Message-ID"] == "<outbox-42@example.org>"
    assert message["In-Reply-To"] == "<abc@example.net>"
    assert message["References"] == "<first@example.net> <abc@example.net>"
    assert message["Subject"] == "Re: My repair [CMP-2026-00042]"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message.get_body(("plain",)).get_content().startswith("We have received")
    assert "<p>We have received your message.</p>" in message.get_body(("html",)).get_content()
    person = build(OutboundEmail(key="k", to="a@b.c", subject="Reply [CMP-2026-00042]", text="<b>hi</b>",
                                 reference="CMP-2026-00042", automatic=False), "housing@example.org", "H", NOW)
    assert person["Auto-Submitted"] is None and person["Subject"] == "Reply [CMP-2026-00042]"
    assert "&lt;b&gt;hi&lt;/b&gt;" in person.get_body(("html",)).get_content()


def test_our_own_reply_is_recognised_as_automatic_if_it_comes_back() -> None:
    raw = build(REPLY, "housing@example.org", "Example Housing", NOW).as_bytes()
    assert parse(raw).automatic


def test_delivery_to_a_real_smtp_server() -> None:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        Sender(f"smtp://127.0.0.1:{port}", Path("/nonexistent")).send(build(REPLY, "housing@example.org", "H", NOW))
    finally:
        controller.stop()
    [(to, raw)] = sink.received
    delivered = BytesParser(policy=policy.default).parsebytes(raw)
    assert to == ["jo@example.net"] and delivered["Message-ID"] == "<outbox-42@example.org>"


def test_a_refused_connection_raises_so_the_outbox_retries() -> None:
    with pytest.raises(OSError):
        Sender(f"smtp://127.0.0.1:{free_port()}", Path("/nonexistent"), timeout=5).send(
            build(REPLY, "housing@example.org", "H", NOW))


def test_without_a_server_mail_is_written_as_eml_files(tmp_path: Path) -> None:
    Sender(None, tmp_path / "outbox").send(build(REPLY, "housing@example.org", "H", NOW))
    [written] = list((tmp_path / "outbox").iterdir())
    assert written.name == "outbox-42_example.org.eml"
    assert parse(written.read_bytes()).external_id == "<outbox-42@example.org>"


def test_only_smtp_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        Sender("http://mail.example.org", Path("/tmp"))
