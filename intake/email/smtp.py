"""The inbound SMTP server: accepts mail for the landlord's domains only, and says 250 only once it is stored.

What is stored before 250 is the raw message under its Message-ID; parsing it (3 ms of Python
for an ordinary letter, far more for a large one) happens after, when the bot handles it, so a
busy sending server is never kept waiting on our parser.

A letter is written to a spool file as it arrives, not gathered in memory line by line: six
25 MB letters at once took the process from 470 to 1,190 MB when each was held as a list of
lines, then joined, then copied again. Only LARGE_AT_ONCE letters over SPOOL_IN_MEMORY are read
back into memory to be stored at any one time; the others wait on disk, their senders a moment
longer for 250.

When the product is the first hop (its SMTP server is the council's MX, with no gateway in
front), it checks SPF, DKIM and DMARC itself (first_hop.py) and writes the result into an
Authentication-Results header above the letter, under its own authserv-id, as a gateway would.

Never an open relay (550 for any other recipient); over the size limit, 552; when storing fails,
451 so the sending server keeps the message and tries again later. Over the connection limits
(overall and per client) 421, and past 100 recipients in one transaction 452, both of which a
sending server answers by trying again later. Nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from intake.channel import Store
from intake.email.first_hop import Dns, authentication_results
from intake.email.parse import envelope as as_received
from intake.message import LARGE_BYTES

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
SPOOL_IN_MEMORY = LARGE_BYTES  # a letter up to this size stays in memory; a larger one goes to a file as it arrives
LARGE_AT_ONCE = 1  # letters over SPOOL_IN_MEMORY read back into memory to be stored at the same time
TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH = "552 Error: Too much mail data"
TRY_LATER = "451 4.3.0 Temporary failure storing the message; please try again later"
GONE = ""


@dataclass(frozen=True)
class FirstHop:
    """The product is the MX: it checks senders itself and signs its findings with this authserv-id."""

    authserv_id: str
    dns: Dns = field(default_factory=Dns)


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
    """aiosmtpd's server, refusing a connection over the limits before it says anything else, and
    spooling each letter to a file as it arrives."""

    def __init__(self, handler: Any, connections: Connections, spool_dir: Path | None = None,
                 **options: Any) -> None:
        super().__init__(handler, **options)
        self.connections = connections
        self.spool_dir = spool_dir
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

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd 1.4's DATA (its checks, answers and dot-unstuffing, RFC 5321 4.5.2), with the
        letter written to a spool file line by line instead of a list of lines joined at the end.
        The handler finds the spool as envelope.spool; content and original_content stay None."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self.spool_dir)  # noqa: SIM115
        try:
            problem = await self._receive(spool)
            if problem == GONE:
                return
            if problem is not None:  # told only once the whole letter is read (RFC 5321 4.2.5), as aiosmtpd does
                self._set_post_data_state()
                await self.push(problem)
                return
            self.envelope.spool = spool  # type: ignore[attr-defined]
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()
            await self.push("250 OK" if status is None or not isinstance(status, str) else status)
        finally:
            spool.close()

    async def _receive(self, spool: IO[bytes]) -> str | None:
        """Read up to the lone dot into spool; the answer to give instead of storing, if any."""
        size, problem, rest_of_long_line = 0, None, False
        limit = self.data_size_limit
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as error:  # a line past the stream's limit: drop it, say 500 at the end
                problem = problem or TOO_LONG
                size += len(await self._reader.read(error.consumed))
                rest_of_long_line = True
                continue
            if rest_of_long_line:  # the end of a line already refused, never the end of the letter
                rest_of_long_line = False
                continue
            if line == b".\r\n":
                return problem
            size += len(line)
            if problem is None and limit and size > limit:
                problem = TOO_MUCH
            elif problem is None and len(line) > self.line_length_limit:
                problem = TOO_LONG
            if problem is None:
                try:
                    spool.write(line[1:] if line.startswith(b".") else line)
                except OSError:  # the spool's disk is full: read on to the dot, then 451, and the sender retries
                    log.warning("could not spool an arriving letter; answering 451")
                    problem = TRY_LATER
        return GONE  # the connection went while the letter was coming: nothing is stored, nobody to tell


class BoundedController(Controller):
    def __init__(self, handler: Any, connections: Connections, spool_dir: Path | None = None,
                 **options: Any) -> None:
        super().__init__(handler, **options)
        self.connections = connections
        self.spool_dir = spool_dir

    def __str__(self) -> str:
        return f"SMTP server on {self.hostname}:{self.port}"

    def factory(self) -> SMTP:
        return BoundedSMTP(self.handler, self.connections, self.spool_dir, **self.SMTP_kwargs)


class InboundHandler:
    def __init__(self, store: Store, accepted: Sequence[str], max_recipients: int = 100,
                 first_hop: FirstHop | None = None, large_at_once: int = LARGE_AT_ONCE,
                 large_slots: threading.Semaphore | None = None) -> None:
        """large_slots, when given, are the process's turns at holding a large letter, shared
        with whatever else holds one (the worker parsing); else this server has large_at_once."""
        self.store = store
        self.accepted = [a.lower() for a in accepted]
        self.max_recipients = max_recipients
        self.first_hop = first_hop
        self.large_slots = large_slots if large_slots is not None else threading.BoundedSemaphore(large_at_once)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:  # RFC 5321 4.5.3.1.10: the sender sends the rest later
            return "452 4.5.3 Too many recipients"
        if not accepts(address, self.accepted):
            return "550 5.7.1 Relaying denied: this server only accepts mail for the landlord"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        spool: IO[bytes] | None = getattr(envelope, "spool", None)
        if spool is None:  # a plain aiosmtpd server in front of this handler
            raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
            return await self._store(raw, session, envelope)
        if spool.tell() <= SPOOL_IN_MEMORY:
            spool.seek(0)
            return await self._store(spool.read(), session, envelope)
        # A turn at holding a large letter, perhaps shared with the worker, which may hold it for a
        # second or two. The loop asks for it every 10 ms rather than waiting in a thread: a wait
        # cancelled (the connection gone) must not leave a turn taken that nobody gives back.
        while not self.large_slots.acquire(blocking=False):
            await asyncio.sleep(0.01)
        try:
            spool.seek(0)
            return await self._store(await asyncio.to_thread(spool.read), session, envelope)
        finally:
            self.large_slots.release()

    async def _store(self, raw: bytes, session: Session, envelope: Envelope) -> str:
        if self.first_hop is not None:
            raw = await self._checked(raw, session, envelope)
        message = as_received(raw)  # identity only: the full parse waits until after 250
        try:
            stored = await asyncio.wrap_future(self.store.submit(message))
        except Exception:  # noqa: BLE001 - any failure to store must make the sender retry
            log.exception("storing message %s failed; answered 451", message.external_id)
            return TRY_LATER
        reference = f"message {stored.message_id}" + ("" if stored.created else " (duplicate)")
        log.info("stored %s as %s", message.external_id, reference)
        return f"250 2.0.0 OK: stored as {reference}"

    async def _checked(self, raw: bytes, session: Session, envelope: Envelope) -> bytes:
        """The letter with this server's SPF, DKIM and DMARC findings above it (RFC 8601 5: the
        topmost header is the one authentication.py reads, so one the sender wrote below it under
        this authserv-id is never believed over ours)."""
        assert self.first_hop is not None
        peer = session.peer
        client_ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        try:
            value = await asyncio.to_thread(authentication_results, raw, client_ip=client_ip,
                                            helo=session.host_name or "", mail_from=envelope.mail_from or "",
                                            authserv_id=self.first_hop.authserv_id, dns=self.first_hop.dns)
        except Exception:  # noqa: BLE001 - a fault in the checks must not lose the letter: stored unchecked
            log.exception("the first-hop sender checks failed; the letter is stored without their findings")
            return raw
        return b"Authentication-Results: " + value.encode("ascii", "replace") + b"\r\n" + raw


def make_controller(store: Store, accepted: Sequence[str], host: str, port: int,
                    max_bytes: int = DEFAULT_MAX_BYTES, tls_cert: str | None = None,
                    tls_key: str | None = None, connections: Connections | None = None,
                    max_recipients: int = 100, first_hop: FirstHop | None = None,
                    spool_dir: Path | None = None, large_at_once: int = LARGE_AT_ONCE,
                    large_slots: threading.Semaphore | None = None) -> Controller:
    """An aiosmtpd Controller; STARTTLS is offered when a certificate and key are configured."""
    options: dict[str, Any] = {"data_size_limit": max_bytes, "decode_data": False}
    if tls_cert and tls_key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        options["tls_context"] = context
    if spool_dir is not None:
        spool_dir.mkdir(parents=True, exist_ok=True)
    return BoundedController(InboundHandler(store, accepted, max_recipients, first_hop, large_at_once, large_slots),
                             connections or Connections(), spool_dir, hostname=host, port=port, **options)
