"""Separating what the resident wrote now from the quoted thread and the signature below it.

The classifier should read the new words: a reply that quotes our own acknowledgement must not
be classified by our words. Mail programs mark history in a handful of ways; the first marker
found ends the new text.
"""

from __future__ import annotations

import re

# Mail programs set to another language write the attribution line in it; residents who write
# in English often read their mail in French, German, Spanish, Polish, Portuguese or Romanian.
_FOREIGN_ATTRIBUTION = re.compile(
    r"^(Le|Am|El|W dniu|Em|În|Il) .{0,200}\d.{0,200}\b(a écrit|escribió|napisał\(a\)|napisała?|pisze|"
    r"escreveu|a scris|ha scritto|schrieb .{0,200})\s?:\s*$", re.I)
_HISTORY_STARTS = [
    re.compile(r"^On .{0,200}\bwrote:\s*$", re.I),  # Gmail, Apple Mail, Thunderbird
    _FOREIGN_ATTRIBUTION,
    re.compile(r"^On .{0,200}$"),  # "On Mon, 3 Nov 2025 at 10:02, Housing" (wrapped before "wrote:")
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.I),  # Outlook
    re.compile(r"^-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^_{10,}\s*$"),  # Outlook on the web draws a rule before the header block
    re.compile(r"^From:\s.+$", re.I),  # Outlook's header block
    re.compile(r"^>"),
]
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^Sent from my \w+", re.I),
    re.compile(r"^Get Outlook for \w+", re.I),
    re.compile(r"^Sent from (Mail|Yahoo Mail|Outlook) for", re.I),
]


def _is_history_start(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    for pattern in _HISTORY_STARTS:
        if not pattern.match(line):
            continue
        if pattern.pattern == r"^On .{0,200}$":
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return following.lower().endswith("wrote:")
        if pattern.pattern.startswith("^From:"):
            window = " ".join(lines[index:index + 5]).lower()
            return "sent:" in window or "date:" in window
        return True
    return False


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
        if any(p.match(stripped) for p in _SIGNATURE_STARTS):
            break
        if after_quote and (stripped or answers):
            answers.append(line)
    return answers


def split(body: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body."""
    lines = body.replace("\r\n", "\n").split("\n")
    cut = next((i for i in range(len(lines)) if _is_history_start(lines, i)), len(lines))
    new_lines, history = lines[:cut], "\n".join(lines[cut:]).strip()
    answers = _inline_answers(lines[cut:])
    if any(line.strip() for line in answers):
        new_lines = [*new_lines, *answers]
    sig_at = next((i for i, line in enumerate(new_lines) if any(p.match(line.strip()) for p in _SIGNATURE_STARTS)),
                  len(new_lines))
    new_text = "\n".join(new_lines[:sig_at]).strip()
    signature = "\n".join(new_lines[sig_at:]).strip()
    if not new_text and history:  # a message that is all quote (a forward with nothing added)
        new_text = history
    return new_text, history, signature
