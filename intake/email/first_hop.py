"""SPF, DKIM and DMARC checked by the product itself, for mail it receives straight from the internet.

authentication.py trusts the Authentication-Results header of a mail gateway in front of the
product. A council whose MX is the product's own SMTP server has no such gateway, and without
these checks anyone could write a resident's address into From. Here the product is that
gateway: it writes the header authentication.py reads, under its own authserv-id.

The cryptography and the SPF macro language are left to dkimpy and pyspf; DMARC (RFC 7489) is a
few lookups and string comparisons, done here because the library that wraps all three
(authheaders) needs an unmaintained copy of the Public Suffix List, ignores a configured resolver
for SPF and reads a DNS time-out as "no DMARC record", which would turn a resolver outage into
"forged". Every lookup goes to the configured resolver, under one deadline per message.

A DNS failure gives temperror, never fail: a sender's domain must not be called forged because
our resolver was down. Nothing logged names a domain or an address: the sender's domain says who
wrote to the council, which is personal data here.

The checks block for up to Dns.total seconds: an asyncio caller runs them in a thread.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from functools import cache
from typing import Any

import dkim
import dkim.util
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import spf
from publicsuffixlist import PublicSuffixList

log = logging.getLogger(__name__)

HEADER_BYTES = 64_000  # the header block read; a longer one is no letter's, and is not checked
ADDRESS_CHARS = 16_000  # of a From field, as in headers.py: the address parser is slow per address
MAX_SIGNATURES = 3  # DKIM signatures verified; each hashes the whole body again (0.7 s for 25 MB)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")  # where dkimpy's parser ends the header block
_DOMAIN = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DMARC_RECORD = re.compile(r"v\s*=\s*DMARC1\s*(?:;|$)")  # RFC 7489 6.3: v= first, exactly DMARC1
_POLICIES = ("none", "quarantine", "reject")
_AUTHSERV_ID = re.compile(r"[^\s;()\"\\]+")


@dataclass(frozen=True)
class Dns:
    """Where the checks' lookups go. Empty nameservers: the system's resolver (/etc/resolv.conf).
    An entry is "host" or "host:port" ("[::1]:5353" for IPv6), an address, not a name: resolving
    the resolver's own name would need a resolver. timeout bounds each query; total bounds all of
    one message's queries together, so a dead resolver holds a letter up for seconds, not minutes.
    """

    nameservers: tuple[str, ...] = ()
    timeout: float = 3.0
    total: float = 8.0

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.total <= 0:
            raise ValueError("DNS timeouts must be positive")
        for entry in self.nameservers:
            _nameserver(entry)  # a mistyped setting fails at start, not on the first letter

    def resolver(self) -> dns.resolver.Resolver:
        if not self.nameservers:
            resolver = dns.resolver.Resolver()  # raises NoResolverConfiguration without resolv.conf
        else:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(*_nameserver(e)) for e in self.nameservers]
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout
        resolver.cache = None
        return resolver


def _nameserver(entry: str) -> tuple[str, int]:
    text = entry.strip()
    host, port = text, "53"
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:  # v4:port; a bare v6 address has several colons
        host, port = text.split(":")
    try:
        number = int(port)
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"a nameserver must be an IP address with an optional port: {entry!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"a nameserver's port must be 1-65535: {entry!r}")
    return host, number


class _Temporary(Exception):
    """A lookup that got no answer: the record may well exist."""


class _Lookups:
    """One message's lookups, all against one deadline, so that SPF's ten lookups, each DKIM key
    and the DMARC records together stay within Dns.total."""

    def __init__(self, config: Dns) -> None:
        self.config = config
        self.deadline = time.monotonic() + config.total
        self.failures = 0
        try:
            self.resolver: dns.resolver.Resolver | None = config.resolver()
        except dns.exception.DNSException as error:
            log.warning("first-hop checks: no DNS resolver configured (%s)", type(error).__name__)
            self.resolver = None

    def records(self, name: str, qtype: str = "TXT", timeout: float | None = None) -> list[Any]:
        """The rdatas at name; [] when the name or the type does not exist (a permanent answer)."""
        remaining = self.deadline - time.monotonic()
        if self.resolver is None or remaining <= 0.05:
            self.failures += 1
            raise _Temporary("no time left" if self.resolver else "no resolver")
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:  # not a name DNS can hold: nothing is published there
            return []
        try:
            lifetime = min(remaining, self.config.timeout, timeout or self.config.timeout)
            answer = self.resolver.resolve(qname, qtype, search=False, raise_on_no_answer=False, lifetime=lifetime)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.DNSException, OSError) as error:  # time-outs, SERVFAIL, REFUSED
            self.failures += 1
            if self.failures == 1:
                log.info("first-hop checks: a DNS lookup failed (%s)", type(error).__name__)
            raise _Temporary(type(error).__name__) from None
        return list(answer.rrset) if answer.rrset is not None else []

    def txt(self, name: str) -> list[bytes]:
        return [b"".join(rdata.strings) for rdata in self.records(name, "TXT")]

    def for_pyspf(self, name: str, qtype: str, timeout: float) -> list[tuple[tuple[str, str], Any]]:
        """What spf.DNSLookup_dnspython returns, asked of this message's resolver."""
        try:
            rdatas = self.records(name, qtype, timeout)
        except _Temporary as error:
            raise spf.TempError(f"DNS {error}") from None
        values: list[tuple[tuple[str, str], Any]] = []
        for rdata in rdatas:
            if qtype in ("A", "AAAA"):
                values.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                values.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                values.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                values.append(((name, qtype), rdata.strings))
        return values


# pyspf looks every name up through its module-level DNSLookup, with no parameter for a resolver.
# It is replaced once by a function that asks the resolver of the message being checked in this
# thread or task, and does what pyspf did before for anyone else in the process.
_spf_lookups: ContextVar[_Lookups | None] = ContextVar("first_hop_spf_lookups", default=None)


def _pyspf_lookup(name: str, qtype: str, strict: Any = True, timeout: float = 30) -> Any:
    lookups = _spf_lookups.get()
    if lookups is None:
        return spf.DNSLookup_dnspython(name, qtype, strict, timeout)
    return lookups.for_pyspf(name, qtype, timeout)


spf.DNSLookup = _pyspf_lookup


class _Quiet(logging.Logger):
    """dkimpy logs each failure with the signing domain and selector: kept out of the logs."""

    def __init__(self) -> None:
        super().__init__("first_hop.dkimpy", logging.CRITICAL + 1)
        self.propagate = False
        self.addHandler(logging.NullHandler())


_QUIET = _Quiet()


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the copy bundled with the package: no download, 70 ms once


def _organisational(domain: str) -> str:
    """RFC 7489 3.2: the registered domain; a public suffix itself (gov.uk) stands for itself."""
    return _suffixes().privatesuffix(domain) or domain


def _domain(text: str) -> str | None:
    """A lower-case A-label domain of two or more labels, or None: also what makes a domain safe
    to write into the header, where a "; dmarc=pass" in a sender's text must not become a result."""
    name = text.strip().rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return name if _DOMAIN.fullmatch(name) else None


def _aligned(domain: str | None, from_domain: str, mode: str) -> bool:
    if domain is None:
        return False
    if mode == "s":
        return domain == from_domain
    return _organisational(domain) == _organisational(from_domain)


@dataclass(frozen=True)
class _Spf:
    result: str
    identity: str  # "mailfrom" or "helo" (null reverse-path: RFC 7208 2.4 checks the HELO name)
    domain: str | None


@dataclass(frozen=True)
class _Signature:
    result: str
    domain: str | None  # d=, when readable


@dataclass(frozen=True)
class _Dmarc:
    result: str | None  # None: the domain publishes no DMARC record
    policy: str | None
    from_domain: str | None


def _split(raw: bytes) -> tuple[bytes, int] | None:
    """The header block (with its blank line) and where the body starts; None when the header
    block does not end within HEADER_BYTES, so it cannot be read whole and is not checked."""
    end = _BLANK_LINE.search(raw, 0, HEADER_BYTES)
    if end is not None:
        return raw[:end.end()], end.end()
    if len(raw) <= HEADER_BYTES:  # headers only, no body
        return raw, len(raw)
    return None


def _from_domain(header: bytes) -> str | None:
    """The one domain of From; None when there is no From, several From fields, addresses of
    several domains or an unusable domain. RFC 7489 6.6.1 leaves such mail to local policy; here
    it gets dmarc=permerror, which is not "forged": it is no claim to be anyone's, and a letter
    without a usable From is shown to staff anyway."""
    try:
        fields = BytesHeaderParser(policy=compat32).parsebytes(header).get_all("From", [])
    except Exception:  # noqa: BLE001 - an unreadable header block has no usable From
        return None
    if len(fields) != 1:
        return None
    addresses = [address for _, address in getaddresses([str(fields[0])[:ADDRESS_CHARS]]) if address]
    domains = {_domain(address.rpartition("@")[2]) if "@" in address else None for address in addresses}
    if len(domains) != 1:
        return None
    return domains.pop()


def _spf(lookups: _Lookups, client_ip: str, helo: str, mail_from: str) -> _Spf:
    """pyspf's result for the envelope sender, or for the HELO name when the sender is null."""
    if mail_from:
        identity = "mailfrom"
        domain = _domain(mail_from.split("@", 1)[1] if "@" in mail_from else mail_from)  # as pyspf splits
    else:
        identity, domain = "helo", _domain(helo)
    if domain is None:  # RFC 7208 4.3: a malformed domain, or an address literal, gives none
        return _Spf("none", identity, None)
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        log.warning("first-hop checks: the client address is not an IP address; SPF not checked")
        return _Spf("permerror", identity, domain)
    remaining = lookups.deadline - time.monotonic()
    token = _spf_lookups.set(lookups)
    try:
        result, _ = spf.check2(client_ip, mail_from, helo, timeout=lookups.config.timeout,
                               querytime=max(remaining, 0.01))
    except Exception as error:  # noqa: BLE001 - a library fault is no verdict on the sender
        log.warning("first-hop checks: SPF check failed (%s)", type(error).__name__)
        result = "temperror"
    finally:
        _spf_lookups.reset(token)
    return _Spf(str(result).lower(), identity, domain)


def _signature_domain(value: bytes) -> str | None:
    try:
        return _domain(dkim.util.parse_tag_value(value)[b"d"].decode("ascii"))
    except Exception:  # noqa: BLE001 - a signature without a readable d=
        return None


def _dkim(raw: bytes, split: tuple[bytes, int] | None, lookups: _Lookups, from_domain: str | None) -> list[_Signature]:
    """Each verified signature's result, passes first (RFC 8601 allows any order; authentication.py
    reads the first). Signatures that could count for DMARC are verified before the others."""
    if split is None:
        return [_Signature("permerror", None)] if b"dkim-signature" in raw[:HEADER_BYTES].lower() else []
    header, body_at = split
    if b"dkim-signature" not in header.lower():
        return []
    try:
        verifier = dkim.DKIM(header, logger=_QUIET, timeout=lookups.config.timeout)
    except Exception:  # noqa: BLE001 - dkimpy cannot read the header block: no signature is checkable
        return [_Signature("permerror", None)]
    values = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    if not values:
        return []
    # dkimpy reads the header block we give it; the body is handed over as dkimpy's own parser
    # would leave it (lines ending CRLF). Its parser splits all 25 MB into lines, which costs
    # 0.5 s; this costs a count when the body already ends its lines with CRLF.
    body = raw[body_at:]
    if body.count(b"\n") != body.count(b"\r\n"):
        body = re.sub(rb"\r?\n", b"\r\n", body)
    verifier.body = body
    domains = [_signature_domain(value) for value in values]
    order = sorted(range(len(values)), key=lambda i: not (from_domain and _aligned(domains[i], from_domain, "r")))
    results = [_Signature(_verify(verifier, index, lookups), domains[index]) for index in order[:MAX_SIGNATURES]]
    return sorted(results, key=lambda signature: signature.result != "pass")


def _verify(verifier: dkim.DKIM, index: int, lookups: _Lookups) -> str:
    fetched: dict[str, bool] = {}

    def key(name: bytes, timeout: float = 5) -> bytes | None:
        try:
            found = lookups.txt(name.decode("ascii"))
        except _Temporary as error:
            fetched["temporary"] = True
            raise dkim.DnsTimeoutError(str(error)) from None
        except UnicodeDecodeError:
            found = []
        fetched["found"] = bool(found)
        return found[0] if found else None

    try:
        verifier.verify_headerprep(index)
    except Exception:  # noqa: BLE001 - RFC 8601 2.7.1: a signature that cannot be processed
        return "neutral"
    try:
        valid = verifier.verify(idx=index, dnsfunc=key)
    except dkim.DKIMException:  # body hash mismatch, a key too short for the signature
        return "fail"
    except Exception as error:  # noqa: BLE001
        log.warning("first-hop checks: DKIM verification failed (%s)", type(error).__name__)
        return "neutral"
    if valid:
        return "pass"
    if fetched.get("temporary"):
        return "temperror"
    if not fetched.get("found"):
        return "permerror"  # RFC 6376 6.1.2: no key published for the selector
    return "fail"


def _policy_record(lookups: _Lookups, domain: str) -> dict[str, str] | None:
    """The DMARC record at _dmarc.domain as tags; None when there is none, or several (RFC 7489
    6.6.3: several records mean no policy)."""
    texts = [text.decode("ascii", "replace") for text in lookups.txt(f"_dmarc.{domain}")]
    records = [text for text in texts if _DMARC_RECORD.match(text)]
    if len(records) != 1:
        return None
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        name, _, value = part.partition("=")
        tags.setdefault(name.strip().lower(), value.strip().lower())
    return tags


def _applied_policy(record: dict[str, str], subdomain: bool) -> str:
    """p, or sp for a subdomain that has no record of its own. An invalid p or sp reads as none
    (RFC 7489 6.6.3 step 6). pct below 100 and DMARCbis's t=y (a domain still trying its policy
    out) give the next milder policy: the product cannot sample, and calling a letter forged that
    the domain did not yet ask to be refused is the worse mistake."""
    policy = record.get("sp", record.get("p")) if subdomain else record.get("p")
    if policy not in _POLICIES:
        return "none"
    pct = record.get("pct", "100")
    if record.get("t") == "y" or (pct.isdigit() and int(pct) < 100):
        policy = _POLICIES[max(_POLICIES.index(policy) - 1, 0)]
    return policy


def _dmarc(lookups: _Lookups, from_domain: str | None, spf_check: _Spf, signatures: Sequence[_Signature]) -> _Dmarc:
    if from_domain is None:
        return _Dmarc("permerror", None, None)
    organisational = _organisational(from_domain)
    try:
        record = _policy_record(lookups, from_domain)
        subdomain = False
        if record is None and organisational != from_domain:
            record, subdomain = _policy_record(lookups, organisational), True
    except _Temporary:
        return _Dmarc("temperror", None, from_domain)
    if record is None:
        return _Dmarc(None, None, from_domain)
    policy = _applied_policy(record, subdomain)
    aspf, adkim = record.get("aspf", "r"), record.get("adkim", "r")
    spf_aligned = _aligned(spf_check.domain, from_domain, aspf)
    if (spf_check.result == "pass" and spf_aligned) or any(
            s.result == "pass" and _aligned(s.domain, from_domain, adkim) for s in signatures):
        return _Dmarc("pass", policy, from_domain)
    if (spf_check.result == "temperror" and spf_aligned) or any(
            s.result == "temperror" and (s.domain is None or _aligned(s.domain, from_domain, adkim))
            for s in signatures):
        return _Dmarc("temperror", policy, from_domain)  # an aligned pass might have been missed
    return _Dmarc("fail", policy, from_domain)


def _header(authserv_id: str, spf_check: _Spf, signatures: Sequence[_Signature], dmarc: _Dmarc) -> str:
    parts = [authserv_id]
    identity = "smtp.mailfrom" if spf_check.identity == "mailfrom" else "smtp.helo"
    parts.append(f"spf={spf_check.result}" + (f" {identity}={spf_check.domain}" if spf_check.domain else ""))
    if not signatures:
        parts.append("dkim=none")
    for signature in signatures:
        parts.append(f"dkim={signature.result}" + (f" header.d={signature.domain}" if signature.domain else ""))
    # A domain with no DMARC record gets no dmarc result at all, rather than RFC 8601's dmarc=none:
    # authentication.py reads an absent DMARC result as "no policy", and then lets SPF's hard fail
    # alone call the letter forged, which a dmarc=none would stop.
    if dmarc.result is not None:
        policy = f" (p={dmarc.policy})" if dmarc.policy else ""
        origin = f" header.from={dmarc.from_domain}" if dmarc.from_domain else ""
        parts.append(f"dmarc={dmarc.result}{policy}{origin}")
    return "; ".join(parts)


def authentication_results(raw: bytes, *, client_ip: str, helo: str, mail_from: str, authserv_id: str,
                           dns: Dns) -> str:
    """The Authentication-Results value this server, as the letter's first hop, writes for it:
    read back by authentication.verdict() under authserv_id, like a gateway's. client_ip, helo and
    mail_from are the SMTP session's, which only the receiving server knows."""
    if not _AUTHSERV_ID.fullmatch(authserv_id):
        raise ValueError("an authserv-id is one token, without spaces, semicolons or parentheses")
    started = time.monotonic()
    lookups = _Lookups(dns)
    split = _split(raw)
    from_domain = _from_domain(split[0]) if split is not None else None
    spf_check = _spf(lookups, client_ip, helo, mail_from)
    signatures = _dkim(raw, split, lookups, from_domain)
    dmarc = _dmarc(lookups, from_domain, spf_check, signatures)
    log.info("first-hop checks: spf=%s dkim=%s dmarc=%s in %.2f s", spf_check.result,
             ",".join(s.result for s in signatures) or "none", dmarc.result or "no policy",
             time.monotonic() - started)
    return _header(authserv_id, spf_check, signatures, dmarc)
