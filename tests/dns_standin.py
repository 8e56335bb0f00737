"""A real DNS server on loopback for tests: UDP and TCP on one free port, answering from a dict.

The checks under test use dnspython, pyspf and dkimpy as they would against a council's resolver,
over the network; only the zone is the test's. Names that exist with other types get an empty
NOERROR answer, names that do not exist NXDOMAIN, and names listed in `failing` SERVFAIL, as a
recursive resolver says when the sender's own servers do not answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType

from dnslib import QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

TXT_CHUNK = 255  # the most one character-string of a TXT record holds; DKIM keys are longer


def _name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class _Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self, txt: Mapping[str, Iterable[str]], a: Mapping[str, Iterable[str]],
                 failing: Iterable[str]) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        for kind, table in (("TXT", txt), ("A", a)):
            for name, values in table.items():
                self.records[(_name(name), kind)] = list(values)
        self.failing = {_name(name) for name in failing}
        self.lock = threading.Lock()
        self.asked: list[tuple[str, str]] = []

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name, kind = _name(str(request.q.qname)), QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append((name, kind))
            values = self.records.get((name, kind))
            exists = any(key[0] == name for key in self.records)
        if name in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
        elif values:
            for value in values:
                data = (value.encode()[i:i + TXT_CHUNK] for i in range(0, max(len(value.encode()), 1), TXT_CHUNK))
                rdata = TXT(list(data)) if kind == "TXT" else A(value)
                reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=60))
        elif not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _Silent(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error", logf=lambda *_: None)


class DnsStandIn:
    """Start with `with DnsStandIn(txt={...}) as nameserver:`; nameserver is "127.0.0.1:port",
    for Dns(nameservers=(nameserver,)). asked lists the (name, type) queries received."""

    def __init__(self, txt: Mapping[str, Iterable[str]] | None = None, *,
                 a: Mapping[str, Iterable[str]] | None = None, failing: Iterable[str] = ()) -> None:
        self.zone = _Zone(txt or {}, a or {}, failing)
        self.servers: list[DNSServer] = []
        self.address = ""

    @property
    def asked(self) -> list[tuple[str, str]]:
        with self.zone.lock:
            return list(self.zone.asked)

    def __enter__(self) -> str:
        for _ in range(20):  # the UDP port is free, the same TCP port may not be
            udp = DNSServer(self.zone, address="127.0.0.1", port=0, logger=_Silent())
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.zone, address="127.0.0.1", port=port, tcp=True, logger=_Silent())
            except OSError:
                udp.server.server_close()
                continue
            self.servers = [udp, tcp]
            for server in self.servers:  # a short poll: shutdown() waits for one
                server.thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.02},
                                                 daemon=True)
                server.thread.start()
            self.address = f"127.0.0.1:{port}"
            return self.address
        raise RuntimeError("no free port for both UDP and TCP")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for server in self.servers:
            server.server.shutdown()
            server.server.server_close()
            server.thread.join()
        self.servers = []


@contextmanager
def closed_port() -> Iterator[str]:
    """"127.0.0.1:port" where nothing listens: a resolver that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"127.0.0.1:{port}"


@contextmanager
def silent_port() -> Iterator[str]:
    """"127.0.0.1:port" that takes queries and never answers: a resolver that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sink.getsockname()[1]}"
