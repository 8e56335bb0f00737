"""The inbound SMTP server: accepts mail for the landlord's domains only, and says 250 only once it is stored.

What is stored before 250 is the raw message under its Message-ID; parsing it (3 ms of Python
for an ordinary letter, far more for a large one) happens after, when the bot handles it, so a
busy sending server is never kept waiting on our parser.

Never an open relay (550 for any other recipient); over the size limit, 552; when storing fails,
451 so the sending server keeps the message and tries again later. Over the connection limits
(overall and per client) 421, and past 100 recipients in one transaction 452, both of which a
sending server answers by trying again later. Nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass
class Connections:
    """Open connections, overall and by client address: 3,000 at once from one client were accepted.

    Counted on the server's event loop only, so no lock. Over a limit the client is told 421 (RFC
    5321 3.8: the server may close with 421) and tries again later, as mail servers do."""

    overall: int = 200
    per_client: int = 20
    open: Counter[str] = field(default_factory=Counter)

    def admit(self, client: str) -> bool:
        if self.open.total() >= self.overall or self.open[client] >= self.per_client:
            return False
        self.open[client] += 1
        return True

    def release(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


class BoundedSMTP(SMTP):
    """aiosmtpd's server, refusing a connection over the limits before it says anything else."""

    def __init__(self, handler: Any, connections: Connections, **options: Any) -> None:
        super().__init__(handler, **options)
        self.connections = connections
        self.client: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # a new connection, not the TLS layer after STARTTLS
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if peer else "unknown"
            if not self.connections.admit(client):
                log.warning("refused a connection over the limits (%d open)", self.connections.open.total())
                transport.write(b"421 4.7.0 Too many connections; please try again later\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self.client = client
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.client is None:  # refused above: aiosmtpd never started on it
            return
        self.connections.release(self.client)
        self.client = None
        super().connection_lost(error)


class BoundedController(Controller):
    def __init__(self, handler: Any, connections: Connections, **options: Any) -> None:
        super().__init__(handler, **options)
        self.connections = connections

    def factory(self) -> SMTP:
        return BoundedSMTP(self.handler, self.connections, **self.SMTP_kwargs)


class InboundHandler:
    def __init__(self, store: Store, accepted: Sequence[str], max_recipients: int = 100) -> None:
        self.store = store
        self.accepted = [a.lower() for a in accepted]
        self.max_recipients = max_recipients

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:  # RFC 5321 4.5.3.1.10: the sender sends the rest later
            return "452 4.5.3 Too many recipients"
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
                    tls_key: str | None = None, connections: Connections | None = None,
                    max_recipients: int = 100) -> Controller:
    """An aiosmtpd Controller; STARTTLS is offered when a certificate and key are configured."""
    options: dict[str, Any] = {"data_size_limit": max_bytes, "decode_data": False}
    if tls_cert and tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        options["tls_context"] = context
    return BoundedController(InboundHandler(store, accepted, max_recipients), connections or Connections(),
                             hostname=host, port=port, **options)
