"""The inbound SMTP server: accepts mail for the landlord's domains only, and says 250 only once it is stored.

What is stored before 250 is the raw message under its Message-ID; parsing it (3 ms of Python
for an ordinary letter, far more for a large one) happens after, when the bot handles it, so a
busy sending server is never kept waiting on our parser.

Never an open relay (550 for any other recipient); over the size limit, 552; when storing fails,
451 so the sending server keeps the message and tries again later. Nothing is lost either way.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.email.parse import envelope as as_received
from intake.message import InboundMessage

log = logging.getLogger(__name__)

Store = Callable[[InboundMessage], Awaitable[str]]  # returns a reference for the log, raises on failure
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


def accepts(address: str, accepted: Sequence[str]) -> bool:
    """True for a recipient at an accepted domain, or an accepted address given in full."""
    address = address.strip().lower()
    domain = address.rsplit("@", 1)[-1]
    return any(address == item or (("@" not in item) and domain == item) for item in accepted)


class InboundHandler:
    def __init__(self, store: Store, accepted: Sequence[str]) -> None:
        self.store = store
        self.accepted = [a.lower() for a in accepted]

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not accepts(address, self.accepted):
            return "550 5.7.1 Relaying denied: this server only accepts mail for the landlord"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        message = as_received(raw)  # identity only: the full parse waits until after 250
        try:
            reference = await self.store(message)
        except Exception:  # noqa: BLE001 - any failure to store must make the sender retry
            log.exception("storing message %s failed; answered 451", message.external_id)
            return "451 4.3.0 Temporary failure storing the message; please try again later"
        log.info("stored %s as %s", message.external_id, reference)
        return f"250 2.0.0 OK: stored as {reference}"


def make_controller(store: Store, accepted: Sequence[str], host: str, port: int,
                    max_bytes: int = DEFAULT_MAX_BYTES, tls_cert: str | None = None,
                    tls_key: str | None = None) -> Controller:
    """An aiosmtpd Controller; STARTTLS is offered when a certificate and key are configured."""
    options: dict[str, Any] = {"data_size_limit": max_bytes, "decode_data": False}
    if tls_cert and tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        options["tls_context"] = context
    return Controller(InboundHandler(store, accepted), hostname=host, port=port, **options)
