"""Whether an email's sender is who its From header says: read from the Authentication-Results
header (RFC 8601) that the council's own mail gateway added.

A probe forged a resident's address in From and declined their complaint; another forged a
"formal complaint" carrying a link, and the automatic acknowledgement quoted it to the victim.
Most councils receive mail through a gateway (Exchange Online, Mimecast, a Postfix with
OpenDMARC) that checks SPF, DKIM and DMARC and writes the results into this header. Only headers
whose authserv-id is one the council names (TRIAGE_TRUSTED_AUTHSERV_IDS) are read: anyone can
write an Authentication-Results header into a letter, and RFC 8601 5 says to ignore those from
elsewhere. The topmost trusted one is the gateway's own, added last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

# Exchange Online (Microsoft 365) writes its header with no authserv-id at all ("spf=pass (sender
# IP is ...) smtp.mailfrom=...; dmarc=fail action=oreject ..."), prepended as the mail arrives.
# Naming this in TRIAGE_TRUSTED_AUTHSERV_IDS believes the topmost header when it has no id: only
# right when the mailbox the product reads is in Exchange Online, where Microsoft's is the top one.
EXCHANGE_ONLINE = "exchange-online"
HEADER_CHARS = 16_000  # the header block read; the gateway adds its result at the top
# "dmarc=fail", "spf = softfail": each method's result, in a resinfo of bounded length
_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.I)
_POLICY_NONE = re.compile(r"\b(?:p|policy\.dmarc|action)\s*=\s*none\b", re.I)  # "action=": Microsoft's


@dataclass(frozen=True)
class Verdict:
    checked_by: str | None  # the trusted authserv-id whose results were read; None: no trusted header
    results: dict[str, str]  # method -> result, e.g. {"dmarc": "fail", "spf": "softfail"}
    forged: bool  # the sender domain's policy says this mail is not from it

    def summary(self) -> str:
        """"dmarc=fail, spf=softfail at mx.council.example": for staff and the audit, no personal data."""
        results = ", ".join(f"{method}={result}" for method, result in sorted(self.results.items()))
        return f"{results or 'no results'} at {self.checked_by}"


def _authserv_id(value: str) -> str:
    return value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""


def _judge(resinfo: str) -> tuple[dict[str, str], bool]:
    results: dict[str, str] = {}
    for method, result in _RESULT.findall(resinfo[:HEADER_CHARS]):
        results.setdefault(method.lower(), result.lower())  # the first result of each method
    dmarc, spf, dkim = results.get("dmarc"), results.get("spf"), results.get("dkim")
    if dmarc == "fail":  # DMARC says: the domain asks receivers to act, unless its policy is none
        return results, _POLICY_NONE.search(resinfo) is None
    if dmarc in (None, "none") and spf == "fail" and dkim != "pass":  # no DMARC record: SPF's hard fail alone
        return results, True
    return results, False


def verdict(raw: bytes, trusted: Sequence[str]) -> Verdict:
    """What the trusted gateway found about this letter's sender; not forged when nothing trusted said so."""
    ids = {t.strip().lower() for t in trusted if t.strip()}
    if not ids:
        return Verdict(None, {}, False)
    ends = [at for at in (raw.find(b"\r\n\r\n", 0, HEADER_CHARS), raw.find(b"\n\n", 0, HEADER_CHARS)) if at >= 0]
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:min(ends)] if ends else raw[:HEADER_CHARS])
        values = [str(v) for v in headers.get_all("Authentication-Results", [])]
    except Exception:  # noqa: BLE001 - an unreadable header block: nothing trusted said anything
        return Verdict(None, {}, False)
    for position, value in enumerate(values):  # topmost first: the gateway's, added last
        checked_by = _authserv_id(" ".join(value.split()))
        if "=" in checked_by and position == 0 and EXCHANGE_ONLINE in ids:
            checked_by = EXCHANGE_ONLINE  # Microsoft's own, which names no authserv-id
        if checked_by in ids:
            results, forged = _judge(value)
            return Verdict(checked_by, results, forged)
    return Verdict(None, {}, False)
