"""What every channel hands to the bot: one message, as received, with everything needed to store it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# A message over this many bytes is large: the SMTP server spools it to a file as it arrives, and
# the server and the worker take turns at holding one in memory (bot/inbound.py).
LARGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class InboundAttachment:
    filename: str  # sanitised: safe to use as a file name, never a path
    content_type: str
    data: bytes  # b"" when fingerprint is set: the bytes stay in the raw letter, read from there on request
    part: int | None = None  # email: its index in a walk() of the raw letter, where its bytes stay
    fingerprint: tuple[int, str] | None = None  # (size, SHA-256) of the decoded bytes, when data is left out

    @property
    def size(self) -> int:
        return self.fingerprint[0] if self.fingerprint else len(self.data)


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    external_id: str  # Message-ID for email; with content_digest, unique per channel, so a duplicate is recognised
    sender: str | None
    content_digest: str = ""  # email: a digest of the letter (a mailer may reuse a Message-ID); others: ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    sent_at: dt.datetime | None = None  # what the sender's clock said; never trusted for deadlines
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    body_text: str = ""  # the whole readable body
    new_text: str = ""  # the body without quoted history or signature: what the resident wrote now
    attachments: list[InboundAttachment] = field(default_factory=list)
    automatic: bool = False  # an auto-reply, bounce or list mail: stored, never answered (RFC 3834)
    automatic_reason: str | None = None
    defects: list[str] = field(default_factory=list)
    raw: bytes | None = None
    parsed: bool = True  # False: only raw and external_id are set; the bot parses it before handling
