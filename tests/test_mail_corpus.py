"""A corpus of mail as it really arrives (tests/fixtures/mail): Outlook, Gmail, Apple Mail and
Outlook on the web replies, HTML-only forms, forwards, hostile attachment names, old charsets,
broken MIME, bounces, out-of-office replies, list mail and a body over a megabyte. Each file's
expectations are in expected.json beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.email.parse import parse

CORPUS = Path(__file__).parent / "fixtures" / "mail"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())


def test_every_file_has_expectations_and_the_corpus_is_not_small() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 60


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_parses_as_a_person_would_read_it(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    expected = EXPECTED[name]
    message = parse(raw)
    assert message.raw == raw, "the raw bytes are always kept"
    assert message.automatic == expected.get("automatic", False), message.automatic_reason
    if "sender" in expected:
        assert message.sender == expected["sender"]
    if "subject" in expected:
        assert message.subject == expected["subject"]
    if "new_contains" in expected:
        assert str(expected["new_contains"]) in " ".join(message.new_text.split())
    if "new_text" in expected:
        assert message.new_text == expected["new_text"]
    if "new_excludes" in expected:
        assert str(expected["new_excludes"]) not in message.new_text
    if "in_reply_to" in expected:
        assert message.in_reply_to == expected["in_reply_to"]
    if expected.get("defects"):
        assert message.defects
    if expected.get("no_date"):
        assert message.sent_at is None
    for address in expected.get("recipients_include", []):  # type: ignore[attr-defined]
        assert address in message.recipients
    if "attachment_count" in expected:
        assert len(message.attachments) == expected["attachment_count"]
    if expected.get("attachments_safe"):
        for attachment in message.attachments:
            assert "/" not in attachment.filename and "\\" not in attachment.filename
            assert not attachment.filename.startswith(".") and attachment.filename
    if "min_body" in expected:
        assert len(message.body_text) >= int(expected["min_body"])  # type: ignore[call-overload]
    if expected.get("fallback_id"):
        assert message.external_id.endswith("@no-message-id.invalid>") or "no-message-id" in message.external_id
