"""Bytes of one email to an InboundMessage, as far as the bytes allow, never raising.

Malformed mail is the normal case at scale: bad base64, missing boundaries, charsets nobody has
heard of, headers that break every rule. Each problem is recorded as a defect and parsing goes
on; the raw bytes are always kept, so nothing a resident sent is lost to a parser's opinion.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import re
import unicodedata
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from intake.email.headers import kept_policy
from intake.email.html import html_to_text
from intake.email.quotes import split
from intake.message import InboundAttachment, InboundMessage

FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_AUTO_SUBJECT = re.compile(r"^(automatic reply|auto(matic)?[- ]?response|out of (the )?office|undeliverable|"
                           r"delivery status notification|mail delivery (failed|subsystem)|returned mail)\b", re.I)


_POLICY = kept_policy()


def _header(message: Message, name: str, defects: list[str]) -> str:
    """A header as text; a header the parser cannot read is recorded and read raw."""
    try:
        value = message.get(name)
    except Exception as error:  # noqa: BLE001 - any header may be malformed in any way
        defects.append(f"unreadable {name} header: {type(error).__name__}")
        raw = [v for k, v in message.raw_items() if k.lower() == name.lower()]  # unparsed, cannot raise
        value = str(raw[0]) if raw else None
    return "" if value is None else str(value).strip()


def _addresses(text: str, defects: list[str]) -> list[str]:
    """The addresses in a header, once each; a header the address parser chokes on (`Cc: ((((…`
    recursed until Python gave up) is a defect, not a failed parse."""
    try:
        found = getaddresses([text])
    except (RecursionError, ValueError, IndexError) as error:
        defects.append(f"unreadable address list: {type(error).__name__}")
        return []
    return list(dict.fromkeys(addr.lower() for _, addr in found if "@" in addr))


def _decode(part: Message, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset()
    for charset in ((declared,) if declared else ()) + FALLBACK_CHARSETS:
        try:
            text = payload.decode(charset)
        except LookupError:
            defects.append(f"unknown charset {declared}")
            continue
        except UnicodeDecodeError:
            if charset == declared:
                defects.append(f"text not valid in its declared charset {declared}")
            continue
        return text
    return payload.decode("latin-1")


def safe_filename(name: str | None, index: int, content_type: str) -> str:
    """A name that is only a name: no folders, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip().lstrip(".").strip()
    if not name:
        extension = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}.get(content_type, ".bin")
        name = f"attachment-{index}{extension}"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:190] + dot + extension[:9]) if dot and len(extension) <= 9 else name[:200]
    return name


def _automatic(message: Message, sender: str | None, defects: list[str]) -> str | None:
    """Why this mail was sent by a machine (RFC 3834 and common practice), or None."""
    auto_submitted = _header(message, "Auto-Submitted", defects).lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(message, name, defects):
            return name
    precedence = _header(message, "Precedence", defects).lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if _header(message, "List-Id", defects) or _header(message, "List-Unsubscribe", defects):
        return "mailing list"
    if _header(message, "Return-Path", defects).replace(" ", "") == "<>":
        return "empty Return-Path"
    local = (sender or "").split("@", 1)[0]
    if local in {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}:
        return f"sent by {local}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if _AUTO_SUBJECT.match(_header(message, "Subject", defects)):
        return "automatic reply subject"
    return None


_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64)


def _base64_fingerprint(part: Message) -> tuple[int, str] | None:
    """(size, SHA-256) of a well-formed base64 part, decoded a megabyte at a time.

    Decoding a 25 MB attachment whole (what get_payload(decode=True) does) took 108 MB at its
    peak, for bytes that are then only hashed: they stay in the raw letter. The result is the
    same as that decode's for any part made only of base64 characters and line breaks with
    padding at the end; any other part returns None and is decoded the usual way."""
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64":
        return None
    payload = part.get_payload()
    if not isinstance(payload, str) or len(payload) < _CHUNK:
        return None  # small: decoding it whole costs nothing worth saving
    digest, size, carry = hashlib.sha256(), 0, b""
    for at in range(0, len(payload), _CHUNK):
        piece = carry + payload[at:at + _CHUNK].encode("ascii", "surrogateescape").translate(None, b"\r\n")
        last = at + _CHUNK >= len(payload)
        body = piece.rstrip(b"=") if last else piece
        if len(piece) - len(body) > 2 or body.translate(None, _NOT_BASE64) != body:
            return None  # stray characters or padding inside: not for this shortcut
        cut = len(piece) if last else len(piece) - len(piece) % 4
        if last and len(piece) % 4:
            piece += b"==="[:4 - len(piece) % 4]  # as email's decoder pads a short tail
            cut = len(piece)
        try:
            decoded = binascii.a2b_base64(piece[:cut], strict_mode=True)
        except binascii.Error:
            return None
        digest.update(decoded)
        size += len(decoded)
        carry = piece[cut:]
    return size, digest.hexdigest()


def _walk(message: Message, defects: list[str]) -> tuple[str, str, list[InboundAttachment]]:
    plain, html, attachments = [], [], []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        try:
            disposition = (part.get_content_disposition() or "").lower()
            filename = part.get_filename()
        except Exception as error:  # noqa: BLE001
            defects.append(f"unreadable part headers: {type(error).__name__}")
            disposition, filename = "attachment", None
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
        if is_body_text:
            (plain if content_type == "text/plain" else html).append(_decode(part, defects))
            continue
        if content_type in ("message/delivery-status", "message/rfc822") and not filename:
            continue
        name = safe_filename(filename, len(attachments) + 1, content_type)
        fingerprint = _base64_fingerprint(part)
        if fingerprint is not None:
            attachments.append(InboundAttachment(name, content_type, b"", index, fingerprint))
            continue
        data = part.get_payload(decode=True)
        kept_in_raw = isinstance(data, bytes)  # what a reader of the raw letter decodes again, byte for byte
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "replace")
        attachments.append(InboundAttachment(name, content_type, data, index if kept_in_raw else None))
    text = "\n\n".join(p.strip() for p in plain if p.strip())
    if not text and html:
        text = "\n\n".join(html_to_text(h) for h in html if h.strip())
    return text, "\n".join(html), attachments


# The headers that say which letter this is. Trace headers (Received, Delivered-To, Return-Path,
# Authentication-Results) are left out: the same letter reaching us by SMTP and by IMAP differs in them.
_IDENTIFYING = ("From", "To", "Cc", "Date", "Subject", "Message-ID")


def identity(raw: bytes) -> tuple[str, str]:
    """(Message-ID, content digest) from the headers alone, in well under a millisecond.

    The SMTP server stores the raw bytes under this identity before it answers 250 and leaves the
    full parse for later; every path uses this one function, so the same mail arriving by SMTP,
    IMAP or import is recognised as the same message. The digest is what makes it the same: real
    mailers reuse a Message-ID for a different letter, and that letter must not be lost as a
    duplicate.
    """
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    try:  # the header block alone: parsing all of a 25 MB letter's headers-only would decode the body too
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:min(ends) + 1] if ends else raw)
        found = _MESSAGE_ID.findall(str(headers.get("Message-ID", "")))
        named = [f"{name}: {' '.join(str(value).split())}" for name in _IDENTIFYING
                 for value in headers.get_all(name, [])]
    except Exception:  # noqa: BLE001 - any header the parser cannot read: fall back to the bytes
        found, named = [], []
    digest = hashlib.sha256()
    digest.update("\n".join(named).encode("utf-8", "surrogateescape"))
    digest.update(b"\n\n")
    _digest_body(raw, min(ends) if ends else None, digest)
    return (found[0] if found else _fallback_id(raw)), digest.hexdigest()


_LEADING_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.strip() removes
_CHUNK = 1 << 20
_FEED = 64 * 1024


def _digest_body(raw: bytes, header_end: int | None, digest: Any) -> None:
    """Hash the bytes after the header block, stripped, with line ends made alike (an export writes
    LF, SMTP CRLF), a megabyte at a time: the whole body copied twice was 50 MB more for each
    25 MB letter arriving."""
    if header_end is None:
        return
    start = _LEADING_SPACE.match(raw, header_end).end()  # type: ignore[union-attr]
    end = len(raw)
    while end > start:
        tail = raw[max(start, end - _CHUNK):end].rstrip()
        if tail:
            end = max(start, end - _CHUNK) + len(tail)
            break
        end = max(start, end - _CHUNK)
    at = start
    while at < end:
        stop = min(at + _CHUNK, end)
        if stop < end and raw[stop - 1] == 13:  # keep a CR with the LF that follows it in the next chunk
            stop -= 1
        digest.update(raw[at:stop].replace(b"\r\n", b"\n"))
        at = stop


def envelope(raw: bytes, channel: str = "email") -> InboundMessage:
    """The raw message with its identity, to be stored now and parsed by `parse` later."""
    external_id, digest = identity(raw)
    return InboundMessage(channel=channel, external_id=external_id, content_digest=digest, sender=None, raw=raw,
                          parsed=False)


def _parsed(raw: bytes) -> Message:
    """BytesParser's result, fed a piece at a time: parsebytes decodes the whole letter into one
    string and copies it into a StringIO (four bytes a character), 185 MB at the peak for a
    25 MB letter against 66 MB this way."""
    parser = BytesFeedParser(policy=_POLICY)
    view = memoryview(raw)
    for at in range(0, len(raw), _FEED):
        parser.feed(bytes(view[at:at + _FEED]))
    return parser.close()


def parse(raw: bytes, channel: str = "email") -> InboundMessage:
    """Parse one message; never raises for any input bytes."""
    defects: list[str] = []
    try:
        message: EmailMessage | Message = _parsed(raw)
    except Exception as error:  # noqa: BLE001 - the stdlib parser is lenient, but not for everything
        defects.append(f"unparseable message: {type(error).__name__}")
        text = raw.decode("utf-8", "replace")
        new_text, _, _ = split(text)
        external_id, digest = identity(raw)
        return InboundMessage(channel=channel, external_id=external_id, content_digest=digest, sender=None,
                              body_text=text, new_text=new_text, defects=defects, raw=raw)
    defects.extend(type(d).__name__ for d in message.defects)
    sender_header = _header(message, "From", defects)
    sender = parseaddr(sender_header)[1].lower() or None
    if not sender:
        defects.append("no sender address")
    recipients = list(dict.fromkeys(a for name in ("To", "Cc", "Delivered-To")
                                    for a in _addresses(_header(message, name, defects), defects)))
    message_ids = _MESSAGE_ID.findall(_header(message, "Message-ID", defects))
    if not message_ids:
        defects.append("no Message-ID")
    sent_at = None
    date_text = _header(message, "Date", defects)
    if date_text:
        try:
            sent_at = parsedate_to_datetime(date_text)
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=dt.UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            defects.append("unreadable Date header")
    try:
        body, _, attachments = _walk(message, defects)
    except Exception as error:  # noqa: BLE001 - keep the raw bytes and what was read
        defects.append(f"unreadable body: {type(error).__name__}")
        body, attachments = "", []
    for part in message.walk():
        if part is not message:
            defects.extend(type(d).__name__ for d in getattr(part, "defects", []))
    new_text, _, _ = split(body)
    in_reply_to = _MESSAGE_ID.findall(_header(message, "In-Reply-To", defects))
    external_id, digest = identity(raw)
    return InboundMessage(
        channel=channel,
        external_id=external_id,
        content_digest=digest,
        sender=sender,
        recipients=recipients,
        subject=" ".join(_header(message, "Subject", defects).split()),
        sent_at=sent_at,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_MESSAGE_ID.findall(_header(message, "References", defects)),
        body_text=body,
        new_text=new_text,
        attachments=attachments,
        automatic=(reason := _automatic(message, sender, defects)) is not None,
        automatic_reason=reason,
        defects=sorted(set(defects)),
        raw=raw,
    )


def _fallback_id(raw: bytes) -> str:
    """A stable id for mail without a Message-ID, so the same bytes are recognised as a duplicate."""
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"
