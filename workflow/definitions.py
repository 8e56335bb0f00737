"""A complaint's definition drafted from what the resident wrote now (Code 5.6).

The definition is quoted back in the acknowledgement ("this is what we understand your complaint
to be"), so it must be the complaint, not the letter around it: "Hello," or "Dear Housing Team",
"Kind regards, Cllr ...", their address and phone number, and the thread they replied to are
left out. The resident's own sentences are kept exactly as they wrote them.

Lines are tested one at a time with anchored patterns, so a long letter costs a pass over it.
"""

from __future__ import annotations

import re

READ_CHARS = 20_000  # of the new text: a definition is drafted from its first pages

_HELLO = r"(?:hello|hi|hiya|hey|good (?:morning|afternoon|evening)|greetings)"
# A line that is only a greeting: "Dear Housing Team", "Hi team,", "Hello", "To whom it may concern:".
_GREETING_LINE = re.compile(
    r"^\s*(?:dear\b[^.!?\n]{0,50}|" + _HELLO + r"(?:\s+[^\s,.!?]+){0,3}\s*[,!:-]|" + _HELLO + r"(?:\s+there)?|"
    r"to whom it may concern)\s*[,!:-]?\s*$", re.I)
# A greeting the first sentence starts with: "Hi the lift is broken", "Dear Sir, my boiler...".
_GREETING_START = re.compile(r"^\s*(?:" + _HELLO + r"(?:\s+there)?[,!]?\s+|dear [^,.!?\n]{1,40},\s*)", re.I)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:kind(?:est)?|best|warm|many)\s+(?:regards|wishes|thanks)|regards|thanks(?: again)?|thank you"
    r"(?: (?:for your help|in advance))?|many thanks|yours (?:sincerely|faithfully|truly)|cheers|best|sincerely|"
    r"ta|thx)\s*[,.!]?\s*$", re.I)
_QUOTED = re.compile(r"^\s*>")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)
_STREET = re.compile(
    r"^\s*(?:(?:flat|apartment|apt|unit|room)\s+\w+,?\s*)?\d+[a-z]?,?\s+[\w' -]{2,40}\b(?:road|rd|street|st|avenue|"
    r"ave|lane|ln|close|drive|dr|court|ct|way|place|pl|crescent|gardens|grove|terrace|house|walk|square|row|"
    r"mews|hill|park|rise|view)\b\.?,?[\w ,]{0,40}$", re.I)
_FLAT = re.compile(r"^\s*(?:flat|apartment|apt)\s+\w+\s*,?\s*$", re.I)
_PHONE = re.compile(r"^\s*(?:(?:tel|telephone|phone|mobile|mob|m|t)\s*[:.]?\s*)?(?:\+44\s?|0)[\d ()-]{9,14}\s*$",
                    re.I)
_EMAIL_LINE = re.compile(r"^\s*(?:e-?mail\s*[:.]?\s*)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*$", re.I)


def _is_address(line: str) -> bool:
    stripped = line.strip()
    if _FLAT.match(stripped) or _STREET.match(stripped):
        return True
    return bool(_POSTCODE.search(stripped)) and len(stripped.split()) <= 8


def _is_contact_detail(line: str) -> bool:
    return _is_address(line) or bool(_PHONE.match(line)) or bool(_EMAIL_LINE.match(line))


def draft_definition(text: str) -> str:
    """The resident's complaint in their words: no greeting, sign-off, name, address, phone number or
    quoted thread; the sentences joined on one line as they read. Empty when nothing is left."""
    lines = [line for line in text[:READ_CHARS].replace("\r\n", "\n").split("\n") if not _QUOTED.match(line)]
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _GREETING_LINE.match(lines[0]):
        lines.pop(0)
    elif lines and (greeting := _GREETING_START.match(lines[0])) is not None:
        lines[0] = lines[0][greeting.end():]
    ended = next((i for i, line in enumerate(lines) if i and _SIGN_OFF.match(line)), len(lines))
    kept = [line for line in lines[:ended] if line.strip() and not _is_contact_detail(line)]
    while len(kept) > 1 and _looks_like_a_name(kept[-1]):
        kept.pop()  # "Jane Smith" under the last sentence, when there was no sign-off line
    drafted = " ".join(" ".join(kept).split())
    return drafted[:1].upper() + drafted[1:]


_NAME = re.compile(r"^\s*(?:(?:mr|mrs|ms|miss|dr|cllr|councillor)\.?\s+)?[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2}\s*$")


def _looks_like_a_name(line: str) -> bool:
    """A line of one to three capitalised words with no full stop: a name signed without a sign-off."""
    return bool(_NAME.match(line)) and not line.rstrip().endswith((".", "!", "?"))
