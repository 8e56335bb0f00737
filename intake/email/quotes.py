"""Separating what the resident wrote now from the quoted thread and the signature below it.

The classifier should read the new words: a reply that quotes our own acknowledgement must not
be classified by our words. Mail programs mark history in a handful of ways; the first marker
found ends the new text.

Every test here runs on every line of what the resident sent, so each costs time in proportion
to its line and no more (the foreign attribution pattern once took 20 ms a crafted line, and
minutes a letter, backtracking), and only a body's first READ_CHARS characters are split: a
letter of crafted lines must not hold up the bot.
"""

from __future__ import annotations

import bisect
import re

READ_CHARS = 100_000  # of a body, split into new text, history and signature: about forty pages

# Anchored and unambiguous: each pattern's repeats are split by a literal, so a failing line
# costs one pass over it (the wrote: pattern's .{0,200} backs off at most 200 places).
_WROTE = re.compile(r"^On .{0,200}\bwrote:\s*$", re.I)  # Gmail, Apple Mail, Thunderbird
_ON_WRAPPED = re.compile(r"^On .{0,200}$")  # "On Mon, 3 Nov 2025 at 10:02, Housing" (wrapped before "wrote:")
_OUTLOOK_FROM = re.compile(r"^From:\s.+$", re.I)  # Outlook's header block
_OTHER_HISTORY_STARTS = [
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.I),  # Outlook
    re.compile(r"^-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^_{10,}\s*$"),  # Outlook on the web draws a rule before the header block
    re.compile(r"^>"),
]
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^Sent from my \w+", re.I),
    re.compile(r"^Get Outlook for \w+", re.I),
    re.compile(r"^Sent from (Mail|Yahoo Mail|Outlook) for", re.I),
]

# Mail programs set to another language write the attribution line in it; residents who write
# in English often read their mail in French, German, Spanish, Polish, Portuguese or Romanian:
# "Le 3 nov. 2025 à 10:02, Housing <housing@example.org> a écrit :". The line is the one
#   ^(Le|Am|El|W dniu|Em|În|Il) .{0,200}\d.{0,200}\b(a écrit|escribió|napisał\(a\)|napisała?|pisze|
#   escreveu|a scris|ha scritto|schrieb .{0,200})\s?:\s*$        (case-insensitive)
# matches, but that pattern backtracks through every way of placing its three .{0,200};
# `_is_foreign_attribution` finds the same lines by arithmetic on positions instead.
_FOREIGN_OPENING = re.compile(r"(?:Le|Am|El|W dniu|Em|În|Il) ", re.I)
_FOREIGN_VERBS = ("a écrit", "escribió", "napisał(a)", "napisała", "napisał", "pisze", "escreveu", "a scris",
                  "ha scritto")
_FOREIGN_VERB = re.compile(r"\b(?:" + "|".join(re.escape(verb) for verb in _FOREIGN_VERBS) + ")", re.I)
_FOREIGN_VERB_LENGTHS = sorted({len(verb) for verb in _FOREIGN_VERBS})  # re.I matches letter for letter
_SCHRIEB = re.compile(r"\bschrieb ", re.I)  # German: "Am 3. Nov. 2025 schrieb Housing <...>:", the name after it
_DIGIT = re.compile(r"\d")
_SPAN = 200  # the most characters between the opening, the date's digit, the verb and (German) the colon
_LONGEST = 3 * _SPAN + 1 + len("schrieb ") + 1  # from the opening's end to the colon, at the most


def _is_foreign_attribution(line: str) -> bool:
    """Whether the line is another language's "On ... wrote:", exactly as the pattern above says.

    The line must end in a colon (then only spaces); the verb ends at that colon or one space
    before it, so only a few places can hold it (German: up to _SPAN + 1 places, for the name
    between "schrieb " and the colon). For each, a digit must stand within _SPAN characters
    after the opening and within _SPAN + 1 before the verb, and no newline before the colon.
    Every step looks at no more than _LONGEST characters past the opening: constant time.
    """
    opening = _FOREIGN_OPENING.match(line)
    if opening is None:
        return False
    start = opening.end()
    colon = len(line.rstrip()) - 1
    if not start < colon <= start + _LONGEST or line[colon] != ":":
        return False
    digits = [m.start() for m in _DIGIT.finditer(line, start, start + _SPAN + 1)]
    if not digits:
        return False

    def dated(verb: int) -> bool:  # a digit at most _SPAN after the opening and _SPAN + 1 before the verb
        before = bisect.bisect_left(digits, verb) - 1
        return before >= 0 and digits[before] >= verb - _SPAN - 1

    ends = [colon - 1, colon] if line[colon - 1].isspace() else [colon]  # the optional space before the colon
    for end in ends:
        if "\n" in line[start:end]:  # the pattern's dots stop at a newline
            continue
        for length in _FOREIGN_VERB_LENGTHS:
            verb = end - length
            if verb > start and _FOREIGN_VERB.fullmatch(line, verb, end) and dated(verb):
                return True
        for found in _SCHRIEB.finditer(line, max(start, end - len("schrieb ") - _SPAN), end):
            if dated(found.start()):
                return True
    return False


def _is_history_start(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _WROTE.match(line) or _is_foreign_attribution(line):
        return True
    if _ON_WRAPPED.match(line):
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        return following.lower().endswith("wrote:")
    if _OUTLOOK_FROM.match(line):
        window = " ".join(lines[index:index + 5]).lower()
        return "sent:" in window or "date:" in window
    return any(pattern.match(line) for pattern in _OTHER_HISTORY_STARTS)


def _is_signature_start(line: str) -> bool:
    stripped = line.strip()
    return any(pattern.match(stripped) for pattern in _SIGNATURE_STARTS)


def _inline_answers(history: list[str]) -> list[str]:
    """Lines a resident typed between our quoted questions ("> Is anyone unwell?" then "My son").

    Only unquoted lines that follow a quoted line count, up to the next history marker or
    signature, so an Outlook header block with unquoted history below it adds nothing.
    """
    answers: list[str] = []
    after_quote = False
    for index, line in enumerate(history):
        stripped = line.strip()
        if stripped.startswith(">"):
            after_quote = True
            continue
        if index and _is_history_start(history, index):
            break
        if _is_signature_start(stripped):
            break
        if after_quote and (stripped or answers):
            answers.append(line)
    return answers


def split(body: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body's first READ_CHARS characters.

    The new text is what the bot reads (the model its first few thousand characters, answers and
    references the first pages), and every copy of it is stored and read again; the whole body
    is kept beside it.
    """
    lines = body[:READ_CHARS].replace("\r\n", "\n").split("\n")
    cut = next((i for i in range(len(lines)) if _is_history_start(lines, i)), len(lines))
    new_lines, history = lines[:cut], "\n".join(lines[cut:]).strip()
    answers = _inline_answers(lines[cut:])
    if any(line.strip() for line in answers):
        new_lines = [*new_lines, *answers]
    sig_at = next((i for i, line in enumerate(new_lines) if _is_signature_start(line)), len(new_lines))
    new_text = "\n".join(new_lines[:sig_at]).strip()
    signature = "\n".join(new_lines[sig_at:]).strip()
    if not new_text and history:  # a message that is all quote (a forward with nothing added)
        new_text = history
    return new_text, history, signature
