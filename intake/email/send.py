"""Outbound mail that threads in the resident's mail program, over SMTP or into a folder of .eml files.

Every message carries its own Message-ID (the outbox's idempotency key becomes its left part, so
a retry never creates a second identity), In-Reply-To and References to the resident's message,
the case reference in the subject, and `Auto-Submitted: auto-replied` when no person wrote it
(RFC 3834), so that other robots do not answer it.

Without an SMTP server the messages go into a folder, one .eml file each, named so that an IT
officer listing it sees when each was written and for which case:
`20261202-093012_CMP-2026-00007_out-<hex>.eml` (the time in UTC, the case reference, the outbox
key). The key makes the name unique and lets a retry, or `triage purge`, find the copy.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from intake.email.headers import kept_policy

_POLICY = kept_policy()  # most headers of our letters repeat: From, Auto-Submitted, the MIME lines


@dataclass(frozen=True)
class OutboundEmail:
    key: str  # idempotency key from the outbox; becomes the Message-ID's left part
    to: str
    subject: str
    text: str
    reference: str | None = None  # the case reference, shown in the subject
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automatic: bool = True


def build(mail: OutboundEmail, sender: str, sender_name: str, now: dt.datetime) -> EmailMessage:
    domain = sender.rsplit("@", 1)[-1]
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((sender_name, sender))
    message["To"] = mail.to
    subject = " ".join(mail.subject.split())
    if mail.reference and mail.reference not in subject:
        subject = f"{subject} [{mail.reference}]"
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{_key_part(mail.key)}@{domain}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
        chain = [r for r in mail.references if r != mail.in_reply_to] + [mail.in_reply_to]
        message["References"] = " ".join(chain)
    if mail.automatic:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(mail.text)
    # a boundary of our own: the standard one is checked against the whole text with a regular
    # expression made for each message; 122 random bits cannot be in a letter written before them
    message.make_alternative(boundary=f"=_{uuid.uuid4().hex}")
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in mail.text.split("\n\n"))
    message.add_alternative(f"<!doctype html><html><body style=\"font-family:sans-serif;font-size:16px\">"
                            f"{paragraphs}</body></html>", subtype="html")
    return message


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")  # in a Message-ID's left part and in a file name
_UNSAFE_REFERENCE = re.compile(r"[^A-Za-z0-9.-]")  # no "_": it separates the parts of a file name
_STAMP = "%Y%m%d-%H%M%S"
_DROPPED = re.compile(r"\d{8}-\d{6}_[A-Za-z0-9.-]+_(?P<key>[A-Za-z0-9._-]+)\.eml")
NO_CASE = "no-case"  # in the name of a letter written before, or without, a case


def _key_part(key: str) -> str:
    """The outbox key as it appears in the Message-ID and in the file name: the same in both."""
    return _UNSAFE.sub("-", key)


def dropped_name(key: str, reference: str | None, at: dt.datetime) -> str:
    """Time first, so a listing sorts by when; UTC, so the autumn's repeated hour does not reorder it."""
    stamp = at.astimezone(dt.UTC).strftime(_STAMP)
    case = _UNSAFE_REFERENCE.sub("-", reference)[:40] if reference else NO_CASE
    return f"{stamp}_{case}_{_key_part(key)}.eml"


def dropped_copies(drop_dir: Path, key: str) -> list[Path]:
    """The folder's copies of the message with this outbox key, in either naming: files written
    before names began with the time were called `<key>_<domain>.eml`."""
    part = _key_part(key)
    named = [path for path in drop_dir.glob(f"*_{part}.eml")
             if (found := _DROPPED.fullmatch(path.name)) is not None and found["key"] == part]
    return sorted(set(named) | set(drop_dir.glob(f"{part}_*.eml")))


def remove_dropped(drop_dir: Path, keys: list[str]) -> int:
    """Delete the folder copies of these messages (by their outbox keys), as `triage purge` must:
    a copy left in the folder kept a resident's letter past the retention period."""
    removed = 0
    for key in keys:
        for path in dropped_copies(drop_dir, key):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class PlainAuthRefused(smtplib.SMTPException):
    """The relay would have had the password in clear: no TLS, and plain authentication not allowed."""


class Sender:
    """Delivers built messages: to an SMTP server when a URL is configured, else to a folder of .eml files.

    A password is sent only inside TLS (smtps://, or STARTTLS on smtp://) unless allow_plain_auth
    says the relay is on a network the council trusts: a relay that offered AUTH without STARTTLS
    used to get the password in clear."""

    def __init__(self, url: str | None, drop_dir: Path, timeout: float = 30.0, allow_plain_auth: bool = False) -> None:
        self.url = urlsplit(url) if url else None
        self.drop_dir = drop_dir
        self.timeout = timeout
        self.allow_plain_auth = allow_plain_auth
        if self.url and self.url.scheme not in ("smtp", "smtps"):
            raise ValueError(f"outbound mail URL must start smtp:// or smtps://, not {self.url.scheme}://")

    def send(self, message: EmailMessage, reference: str | None = None) -> None:
        """Raises on any failure, so the outbox can retry; a message is never half-sent into the folder.

        reference, the case's, goes into the folder copy's name; over SMTP it is in the subject already."""
        if self.url is None:
            self._drop(message, reference)
            return
        host, port = self.url.hostname or "localhost", self.url.port
        context = ssl.create_default_context()
        if self.url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(host, port or 587, timeout=self.timeout)
        with client:
            client.ehlo()
            encrypted = self.url.scheme == "smtps"
            if self.url.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                encrypted = True
            if self.url.username and not encrypted and not self.allow_plain_auth:
                raise PlainAuthRefused(f"the mail relay {host}:{port or 587} offers no STARTTLS: refusing to send its "
                                       "password in clear (TRIAGE_OUTBOUND_SMTP_ALLOW_PLAIN_AUTH=true allows it)")
            if self.url.username:
                client.login(unquote(self.url.username), unquote(self.url.password or ""))
            client.send_message(message)

    def _drop(self, message: EmailMessage, reference: str | None) -> None:
        """Written whole under a temporary name, then renamed. A retry of a message already in the
        folder (the worker died between writing it and recording it as sent) writes nothing: its
        name holds the time, so writing again would leave the resident's letter there twice."""
        self.drop_dir.mkdir(parents=True, exist_ok=True)
        key = str(message["Message-ID"]).strip().strip("<>").rsplit("@", 1)[0]
        if dropped_copies(self.drop_dir, key):
            return
        name = dropped_name(key, reference, _written_at(message))
        for stale in self.drop_dir.glob(f"*_{_key_part(key)}.eml.partial"):  # a write cut short before
            stale.unlink(missing_ok=True)
        partial = self.drop_dir / (name + ".partial")
        with open(partial, "wb") as handle:
            handle.write(message.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.drop_dir / name)


def _written_at(message: EmailMessage) -> dt.datetime:
    """The letter's own Date, so the name and the header agree; now, for a message without one."""
    try:
        return parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        return dt.datetime.now(dt.UTC)
