"""The product as first hop: real DKIM signatures, real SPF and DMARC records, served by a real DNS
server on loopback, and the header read back by authentication.verdict()."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import dkim
import pytest

from intake.email import authentication
from intake.email.first_hop import Dns, authentication_results
from tests.dns_standin import DnsStandIn, closed_port, silent_port

SERVER = "mx.council.example"
SENDER_IP = "192.0.2.10"  # example.net's outbound server
STRANGER_IP = "198.51.100.7"  # listed by nobody


@dataclass(frozen=True)
class Key:
    private: bytes  # PKCS#1 PEM, as dkimpy signs with
    record: str  # the selector's TXT record


def _key() -> Key:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make DKIM keys (.ci/run installs it)")
    private = subprocess.run([openssl, "genrsa", "-traditional", "2048"], check=True, capture_output=True).stdout
    public = subprocess.run([openssl, "rsa", "-pubout", "-outform", "DER"], input=private, check=True,
                            capture_output=True).stdout
    return Key(private, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode())


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {"example.net": _key(), "example.org": _key()}


def _zone(keys: dict[str, Key], **dmarc: str) -> dict[str, list[str]]:
    """example.net sends from SENDER_IP and signs with selector s1; example.org signs too; the
    DMARC records are the test's (domain=record)."""
    txt = {
        "example.net": [f"v=spf1 ip4:{SENDER_IP} -all"],
        "s1._domainkey.example.net": [keys["example.net"].record],
        "example.org": ["v=spf1 ip4:203.0.113.5 -all"],
        "s1._domainkey.example.org": [keys["example.org"].record],
    }
    for domain, record in dmarc.items():
        txt[f"_dmarc.{domain.replace('_', '.')}"] = [record]
    return txt


def letter(from_: str = "Resident <resident@example.net>", body: bytes = b"My boiler is broken.\r\n") -> bytes:
    return (f"From: {from_}\r\nTo: repairs@council.example\r\nSubject: Repair\r\n"
            f"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\n").encode() + body


def signed(raw: bytes, key: Key, domain: str, canonicalize: tuple[bytes, bytes] = (b"relaxed", b"relaxed")) -> bytes:
    signature: bytes = dkim.sign(raw, b"s1", domain.encode(), key.private, canonicalize=canonicalize,
                                 include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


def check(raw: bytes, nameserver: str, *, client_ip: str = SENDER_IP, mail_from: str = "bounce@example.net",
          dns: Dns | None = None) -> tuple[str, authentication.Verdict]:
    value = authentication_results(raw, client_ip=client_ip, helo="mail.example.net", mail_from=mail_from,
                                   authserv_id=SERVER, dns=dns or Dns(nameservers=(nameserver,), timeout=1, total=3))
    header = b"Authentication-Results: " + value.encode() + b"\r\n"
    return value, authentication.verdict(header + raw, [SERVER])


def test_a_signed_letter_from_the_senders_own_server_passes(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(signed(letter(), keys["example.net"], "example.net"), nameserver)
    assert value == (f"{SERVER}; spf=pass smtp.mailfrom=example.net; dkim=pass header.d=example.net; "
                     "dmarc=pass (p=reject) header.from=example.net")
    assert verdict.checked_by == SERVER
    assert verdict.results == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert not verdict.forged


@pytest.mark.parametrize("policy", ["reject", "quarantine"])
@pytest.mark.parametrize("signer", [None, "example.org"])
def test_a_forged_from_with_a_strict_policy_is_forged(keys: dict[str, Key], policy: str, signer: str | None) -> None:
    raw = letter()
    if signer:  # signed, but by the forger's own domain: a pass that is not aligned with From
        raw = signed(raw, keys[signer], signer)
    with DnsStandIn(_zone(keys, example_net=f"v=DMARC1; p={policy}")) as nameserver:
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP, mail_from="x@example.org")
    assert "spf=fail smtp.mailfrom=example.org" in value
    assert ("dkim=pass header.d=example.org" if signer else "dkim=none") in value
    assert f"dmarc=fail (p={policy}) header.from=example.net" in value
    assert verdict.results["dmarc"] == "fail"
    assert verdict.forged


def test_a_forged_from_whose_domain_only_monitors_is_not_forged(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=none; rua=mailto:d@example.net")) as nameserver:
        value, verdict = check(letter(), nameserver, client_ip=STRANGER_IP, mail_from="x@example.org")
    assert "dmarc=fail (p=none) header.from=example.net" in value
    assert not verdict.forged


@pytest.mark.parametrize("record", ["v=DMARC1; p=reject; pct=50", "v=DMARC1; p=quarantine; t=y", "v=DMARC1; p=bogus"])
def test_a_policy_on_trial_or_unreadable_is_applied_milder(keys: dict[str, Key], record: str) -> None:
    with DnsStandIn(_zone(keys, example_net=record)) as nameserver:
        value, verdict = check(letter(), nameserver, client_ip=STRANGER_IP, mail_from="x@example.org")
    policy = "quarantine" if "reject" in record else "none"
    assert f"dmarc=fail (p={policy})" in value
    assert verdict.forged == (policy == "quarantine")


def test_a_body_altered_after_signing_fails_dkim(keys: dict[str, Key]) -> None:
    raw = signed(letter(), keys["example.net"], "example.net")
    raw = raw.replace(b"My boiler is broken.", b"My boiler is fine, click here")
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP)
    assert "dkim=fail header.d=example.net" in value
    assert "dmarc=fail (p=reject)" in value
    assert verdict.forged
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(raw, nameserver)  # from example.net's own server: SPF still aligns
    assert "dkim=fail" in value and "dmarc=pass" in value
    assert not verdict.forged


def test_a_key_that_is_not_published_is_a_permerror(keys: dict[str, Key]) -> None:
    zone = _zone(keys)
    del zone["s1._domainkey.example.net"]
    with DnsStandIn(zone) as nameserver:
        value, _ = check(signed(letter(), keys["example.net"], "example.net"), nameserver)
    assert "dkim=permerror header.d=example.net" in value


def test_without_dmarc_a_hard_spf_fail_is_forged(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys)) as nameserver:
        value, verdict = check(letter(), nameserver, client_ip=STRANGER_IP)
    assert value == f"{SERVER}; spf=fail smtp.mailfrom=example.net; dkim=none"
    assert verdict.forged
    with DnsStandIn(_zone(keys)) as nameserver:
        value, verdict = check(letter(), nameserver)
    assert value == f"{SERVER}; spf=pass smtp.mailfrom=example.net; dkim=none"
    assert not verdict.forged


@pytest.mark.parametrize("resolver", [closed_port, silent_port])
def test_a_resolver_that_does_not_answer_gives_temperror_within_the_bound(
        keys: dict[str, Key], resolver: Callable[[], AbstractContextManager[str]]) -> None:
    raw = signed(letter(), keys["example.net"], "example.net")
    with resolver() as nameserver:
        started = time.monotonic()
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP,
                               dns=Dns(nameservers=(nameserver,), timeout=0.4, total=1.0))
        elapsed = time.monotonic() - started
    assert value == (f"{SERVER}; spf=temperror smtp.mailfrom=example.net; dkim=temperror header.d=example.net; "
                     "dmarc=temperror header.from=example.net")
    assert not verdict.forged
    assert elapsed < 1.5


def test_a_failing_dmarc_lookup_is_a_temperror_not_forged(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys), failing=["_dmarc.example.net"]) as nameserver:
        value, verdict = check(letter(), nameserver, client_ip=STRANGER_IP)
    assert "spf=fail" in value and "dmarc=temperror header.from=example.net" in value
    assert not verdict.forged


def test_a_subdomain_uses_the_organisational_domains_record_and_its_sp(keys: dict[str, Key]) -> None:
    zone = _zone(keys, example_net="v=DMARC1; p=none; sp=reject")
    with DnsStandIn(zone) as nameserver:
        value, verdict = check(letter(from_="News <news@news.example.net>"), nameserver, client_ip=STRANGER_IP,
                               mail_from="x@example.org")
    assert "dmarc=fail (p=reject) header.from=news.example.net" in value
    assert verdict.forged
    server = DnsStandIn(zone)
    with server as nameserver:  # signed by the organisational domain: relaxed alignment passes
        raw = signed(letter(from_="news@news.example.net"), keys["example.net"], "example.net")
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP, mail_from="x@example.org")
        standin_asked = server.asked
    assert "dkim=pass header.d=example.net" in value and "dmarc=pass (p=reject)" in value
    assert not verdict.forged
    assert ("_dmarc.news.example.net", "TXT") in standin_asked and ("_dmarc.example.net", "TXT") in standin_asked


def test_strict_alignment_wants_the_same_domain(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject; adkim=s; aspf=s")) as nameserver:
        raw = signed(letter(from_="news@news.example.net"), keys["example.net"], "example.net")
        value, verdict = check(raw, nameserver)
    assert "spf=pass" in value and "dkim=pass" in value and "dmarc=fail (p=reject)" in value
    assert verdict.forged


@pytest.mark.parametrize("from_", ["a@example.net, b@example.org", None])
def test_no_from_or_several_domains_is_a_permerror_not_forged(keys: dict[str, Key], from_: str | None) -> None:
    raw = letter(from_ or "x").replace(b"From: x\r\n", b"")
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject", example_org="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP)
    assert value.endswith("; dmarc=permerror")
    assert not verdict.forged


def test_a_senders_text_cannot_write_a_result(keys: dict[str, Key]) -> None:
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(letter(), nameserver, client_ip=STRANGER_IP, mail_from="x@example.org;dmarc=pass")
    assert value.count("dmarc=") == 1 and "dmarc=fail" in value
    assert verdict.forged


def test_a_25_mb_letter_is_hashed_within_a_second(keys: dict[str, Key]) -> None:
    attachment = base64.encodebytes(os.urandom(18_000_000)).replace(b"\n", b"\r\n")  # 24 MB of base64 lines
    raw = signed(letter(body=attachment), keys["example.net"], "example.net")
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        started = time.monotonic()
        value, _ = check(raw, nameserver)
        elapsed = time.monotonic() - started
    assert "dkim=pass" in value
    assert elapsed < 1.5  # about 0.7 s here, on a machine shared with other work


def test_spf_follows_include_and_a_through_the_configured_resolver(keys: dict[str, Key]) -> None:
    zone = _zone(keys) | {"example.net": ["v=spf1 include:_spf.example.com -all"],
                          "_spf.example.com": ["v=spf1 a:out.example.com -all"]}
    server = DnsStandIn(zone, a={"out.example.com": [STRANGER_IP]})
    with server as nameserver:
        value, _ = check(letter(), nameserver, client_ip=STRANGER_IP)
    assert value.startswith(f"{SERVER}; spf=pass smtp.mailfrom=example.net;")
    assert ("out.example.com", "A") in server.asked


def test_a_header_block_too_long_to_read_is_not_judged(keys: dict[str, Key]) -> None:
    raw = signed(letter(), keys["example.net"], "example.net")
    raw = raw.replace(b"Subject:", b"X-Padding: " + b"x" * 70_000 + b"\r\nSubject:")
    with DnsStandIn(_zone(keys, example_net="v=DMARC1; p=reject")) as nameserver:
        value, verdict = check(raw, nameserver, client_ip=STRANGER_IP)
    assert "dkim=permerror" in value and value.endswith("; dmarc=permerror")
    assert not verdict.forged


def test_nothing_logged_names_a_domain(keys: dict[str, Key], caplog: pytest.LogCaptureFixture) -> None:
    zone = _zone(keys, example_net="v=DMARC1; p=reject")
    del zone["s1._domainkey.example.org"]
    raw = signed(signed(letter(), keys["example.net"], "example.net"), keys["example.org"], "example.org")
    raw = raw.replace(b"broken", b"mended")
    caplog.set_level(logging.DEBUG)
    with DnsStandIn(zone, failing=["example.org"]) as nameserver:
        value, _ = check(raw, nameserver, client_ip=STRANGER_IP, mail_from="x@example.org")
    assert "dkim=fail header.d=example.net" in value and "dkim=permerror header.d=example.org" in value
    assert "first-hop checks: spf=temperror dkim=fail,permerror dmarc=fail" in caplog.text
    assert "example" not in caplog.text.lower() and "resident" not in caplog.text.lower()


def test_nameserver_settings() -> None:
    assert Dns(nameservers=("127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353")).nameservers
    for wrong in ("resolver.example", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(ValueError):
            Dns(nameservers=(wrong,))
