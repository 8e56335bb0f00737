"""Email parsing on the shapes real mail takes, and on bytes nobody meant to send."""

from __future__ import annotations

import base64
import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from intake.email.html import html_to_text
from intake.email.parse import _POLICY, parse, safe_filename
from intake.email.quotes import split


def mail(headers: str, body: str | bytes) -> bytes:
    head = headers.strip().replace("\n", "\r\n").encode()
    if isinstance(body, str):
        body = body.replace("\n", "\r\n").encode()
    return head + b"\r\n\r\n" + body


BASE = """From: Jo Bloggs <Jo.Bloggs@example.net>
To: Housing <housing@example.org>
Subject: My repair
Message-ID: <abc123@example.net>
Date: Tue, 14 Jul 2026 23:30:00 +0000"""


def test_plain_message_headers_and_body() -> None:
    m = parse(mail(BASE + "\nCc: advocate@example.com", "The back door still won't lock.\n"))
    assert (m.sender, m.subject, m.external_id) == ("jo.bloggs@example.net", "My repair", "<abc123@example.net>")
    assert m.recipients == ["housing@example.org", "advocate@example.com"]
    assert m.sent_at is not None and m.sent_at.isoformat() == "2026-07-14T23:30:00+00:00"
    assert m.new_text == "The back door still won't lock." and not m.automatic and m.defects == []


@pytest.mark.parametrize("body,new", [
    ("Still not fixed.\n\nOn Mon, 3 Nov 2025 at 10:02, Housing <housing@example.org> wrote:\n> Your repair is booked.\n",
     "Still not fixed."),
    ("Still not fixed.\n\nOn Mon, 3 Nov 2025 at 10:02, Housing Services\n<housing@example.org> wrote:\n> Booked.\n",
     "Still not fixed."),
    ("Still not fixed.\n\n-----Original Message-----\nFrom: Housing\nSent: 03 November 2025 10:02\n\nBooked.\n",
     "Still not fixed."),
    ("Still not fixed.\n\n________________________________\nFrom: Housing <housing@example.org>\nSent: Monday\n",
     "Still not fixed."),
    ("Still not fixed.\n\nFrom: Housing <housing@example.org>\nDate: Monday, 3 November 2025\nSubject: Re\n\nBooked",
     "Still not fixed."),
    ("Still not fixed.\n> quoted line\n> another\n", "Still not fixed."),
    ("Still not fixed.\n\n--\nJo Bloggs\n07700 900000\n", "Still not fixed."),
    ("Still not fixed.\n\nSent from my iPhone\n", "Still not fixed."),
    ("From the kitchen ceiling water is dripping.\n", "From the kitchen ceiling water is dripping."),
])
def test_new_text_is_separated_from_history_and_signature(body: str, new: str) -> None:
    assert parse(mail(BASE, body)).new_text == new


def test_a_forward_with_nothing_added_keeps_the_forwarded_text() -> None:
    new, history, _ = split("---------- Forwarded message ---------\nFrom: Mum\n\nThe lift is broken.")
    assert "The lift is broken." in new and history


def test_html_only_mail_drops_scripts_and_styles_and_marks_quotes() -> None:
    html = ("<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
            "<p>My heating&nbsp;is off.</p><div>Please help<br>today</div>"
            "<blockquote><p>Earlier reply from you</p></blockquote></body></html>")
    m = parse(mail(BASE + "\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8", html))
    assert "alert" not in m.body_text and "color" not in m.body_text
    assert m.new_text == "My heating is off.\nPlease help\ntoday"
    assert "> Earlier reply from you" in m.body_text


def test_multipart_alternative_prefers_plain_text() -> None:
    body = ("--b\nContent-Type: text/plain; charset=utf-8\n\nPlain words\n--b\nContent-Type: text/html\n\n"
            "<p>HTML words</p>\n--b--\n")
    m = parse(mail(BASE + '\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"', body))
    assert m.body_text == "Plain words"


@pytest.mark.parametrize("charset,raw,expected", [
    ("iso-8859-1", "Caf\xe9 ceiling".encode("latin-1"), "Café ceiling"),
    ("windows-1252", "\x93mould\x94 \x80 5".encode("latin-1"), "\u201cmould\u201d \u20ac 5"),
    ("shift_jis", "カビ".encode("shift_jis"), "カビ"),
    ("x-unknown-charset", "naïve".encode("utf-8"), "naïve"),
    ("utf-8", b"bad \xff byte caf\xe9", "bad \xff byte caf\xe9"),
])
def test_charsets_with_fallbacks(charset: str, raw: bytes, expected: str) -> None:
    m = parse(mail(BASE + f"\nMIME-Version: 1.0\nContent-Type: text/plain; charset={charset}", raw))
    assert m.body_text == expected
    if charset in ("x-unknown-charset", "utf-8"):
        assert m.defects, "a charset problem is recorded"


def test_attachments_with_hostile_names_are_made_safe() -> None:
    payload = base64.b64encode(b"\x89PNG fake").decode()
    parts = "".join(
        f'--b\nContent-Type: image/png\nContent-Disposition: attachment; filename="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{payload}\n"
        for name in ("../../etc/passwd", "..\\..\\win.ini", "photo\x00.png", "", ".htaccess"))
    body = "--b\nContent-Type: text/plain\n\nPhotos of the mould attached.\n" + parts + "--b--\n"
    m = parse(mail(BASE + '\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"', body))
    names = [a.filename for a in m.attachments]
    assert names == ["passwd", "win.ini", "photo_.png", "attachment-4.png", "htaccess"]
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)
    assert m.attachments[0].data == b"\x89PNG fake" and m.attachments[0].size == 9
    assert m.new_text == "Photos of the mould attached."


def test_safe_filename_limits_length() -> None:
    assert len(safe_filename("a" * 500 + ".pdf", 1, "application/pdf")) <= 200
    assert safe_filename("a" * 500 + ".pdf", 1, "application/pdf").endswith(".pdf")


@pytest.mark.parametrize("extra,reason", [
    ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
    ("X-Autoreply: yes", "X-Autoreply"),
    ("X-Autorespond: yes", "X-Autorespond"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("Precedence: junk", "Precedence: junk"),
    ("List-Id: <tenants.example.org>", "mailing list"),
    ("Return-Path: <>", "empty Return-Path"),
])
def test_automatic_mail_is_recognised(extra: str, reason: str) -> None:
    m = parse(mail(BASE + "\n" + extra, "I am out of the office until Monday."))
    assert m.automatic and m.automatic_reason == reason


def test_bounces_and_out_of_office_subjects() -> None:
    bounce = mail("From: MAILER-DAEMON@mx.example.net\nTo: housing@example.org\nSubject: Undelivered Mail\n"
                  'Message-ID: <b1@mx>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;'
                  ' boundary="r"', "--r\nContent-Type: text/plain\n\nDelivery failed.\n--r\n"
                  "Content-Type: message/delivery-status\n\nStatus: 5.1.1\n--r--\n")
    m = parse(bounce)
    assert m.automatic and m.automatic_reason == "sent by mailer-daemon"
    ooo = parse(mail(BASE.replace("Subject: My repair", "Subject: Automatic reply: Your case"), "Away."))
    assert ooo.automatic and ooo.automatic_reason == "automatic reply subject"
    assert not parse(mail(BASE + "\nAuto-Submitted: no", "Hello")).automatic


def test_threading_headers() -> None:
    m = parse(mail(BASE + "\nIn-Reply-To: <out-1@example.org>\nReferences: <first@example.org>\n <out-1@example.org>",
                   "Reply"))
    assert m.in_reply_to == "<out-1@example.org>"
    assert m.references == ["<first@example.org>", "<out-1@example.org>"]


def test_malformed_mime_is_read_as_far_as_it_goes() -> None:
    missing_boundary = parse(mail(BASE + "\nMIME-Version: 1.0\nContent-Type: multipart/mixed",
                                  "Text with no boundary at all."))
    assert missing_boundary.defects
    bad_base64 = parse(mail(BASE + "\nMIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: base64",
                            "SGVsbG8gd29ybGQ=!!!not base64***"))
    assert bad_base64.body_text.startswith("Hello world")
    broken_header = parse(b"From: \xff\xfe<<<>>>\r\nSubject: =?utf-8?q?broken\r\nDate: yesterday-ish\r\n\r\nBody")
    assert broken_header.body_text == "Body" and "unreadable Date header" in broken_header.defects


def test_mail_without_message_id_gets_a_stable_id() -> None:
    raw = mail("From: a@example.net\nSubject: hi", "No id here")
    assert parse(raw).external_id == parse(raw).external_id
    assert parse(raw).external_id != parse(raw + b" ").external_id
    assert "no Message-ID" in parse(raw).defects


def test_headers_read_before_are_read_the_same_and_their_store_stays_bounded() -> None:
    """Each message is read with its own charset and sender although most headers are shared."""
    charsets = ("utf-8", "iso-8859-1", "windows-1252")
    for n in range(_POLICY.header_factory.KEEP_HEADERS + 500):
        charset = charsets[n % 3]
        raw = mail(f"From: Resident {n} <r{n}@example.net>\nTo: housing@example.org\nMessage-ID: <m{n}@example.net>\n"
                   f"Subject: Flat {n}\nContent-Type: text/plain; charset={charset}\n"
                   "Content-Transfer-Encoding: 8bit", f"Caf\u00e9 {n}".encode(charset))
        message = parse(raw)
        assert (message.sender, message.subject, message.body_text) == (f"r{n}@example.net", f"Flat {n}",
                                                                        f"Caf\u00e9 {n}")
    assert len(_POLICY.header_factory._read) <= _POLICY.header_factory.KEEP_HEADERS


def test_very_large_body_is_kept_whole() -> None:
    body = ("Line of a very long complaint. " * 40 + "\n") * 5000
    m = parse(mail(BASE, body))
    assert len(m.body_text) > 5_000_000 and m.raw is not None


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>Unclosed <b>bold <script>never closed") == "Unclosed bold"
    assert html_to_text("<<>><p>ok</p>") .endswith("ok")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    m = parse(raw)
    assert m.raw == raw and m.external_id


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["From", "To", "Subject", "Date", "Message-ID", "Content-Type",
                                        "Content-Transfer-Encoding", "In-Reply-To", "Auto-Submitted"]),
                       st.text(max_size=80), max_size=9),
       st.text(max_size=2000))
@example({"From": "<", "Message-ID": "<"}, "")  # the stdlib's header parser raised on these: found by this test
def test_arbitrary_headers_and_text_never_crash(headers: dict[str, str], body: str) -> None:
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("utf-8", "surrogateescape") + b"\r\n" + \
        body.encode("utf-8", "surrogatepass")
    m = parse(raw)
    assert m.raw == raw


def test_an_address_list_the_parser_chokes_on_is_a_defect_not_a_failed_parse() -> None:
    """`Cc: ((((…` made the standard address parser recurse until Python raised RecursionError."""
    raw = (b"From: a@example.net\r\nTo: housing@example.org\r\nCc: " + b"(" * 5000
           + b"\r\nSubject: Leak\r\nMessage-ID: <paren@example.net>\r\n\r\nThe roof is leaking.\r\n")
    message = parse(raw)
    assert (message.sender, message.recipients, message.new_text) == (
        "a@example.net", ["housing@example.org"], "The roof is leaking.")
    assert "unreadable address list: RecursionError" in message.defects


@pytest.mark.parametrize("size", [2**20 + 1, 2**20 + 2, 3 * 2**20])
def test_a_large_attachment_is_measured_without_being_decoded_whole_and_reads_back_the_same(size: int) -> None:
    """Decoding a 25 MB attachment whole took 108 MB at its peak, for bytes that stay in the letter."""

    from workflow.inbox import attachment_bytes
    from workflow.models import Attachment, Message as Stored

    data = os.urandom(size)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Message-ID"] = "jo@example.net", "housing@example.org", "<big@example.net>"
    mail.set_content("The photos.")
    mail.add_attachment(data, maintype="application", subtype="pdf", filename="photos.pdf")
    raw = mail.as_bytes()
    [attachment] = parse(raw).attachments
    assert attachment.data == b"" and attachment.fingerprint == (size, hashlib.sha256(data).hexdigest())
    stored = Attachment(filename="photos.pdf", content_type="application/pdf", size=size,
                        sha256=attachment.fingerprint[1], path="", part=attachment.part)
    stored.message = Stored(raw=raw)
    assert attachment_bytes(stored, Path("/nonexistent")) == data


def test_a_large_attachment_with_stray_characters_is_decoded_the_usual_way() -> None:
    data = b"\x00\x01" * 2**20
    encoded = base64.encodebytes(data).decode()
    raw = ("From: jo@example.net\r\nMessage-ID: <odd@example.net>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPhotos.\r\n"
           "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
           "Content-Disposition: attachment; filename=a.pdf\r\n\r\n"
           + encoded[:1000] + "!" + encoded[1000:] + "\r\n--b--\r\n").encode()
    [attachment] = parse(raw).attachments
    assert attachment.fingerprint is None and attachment.data == data
