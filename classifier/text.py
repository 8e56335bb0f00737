"""Turning whatever arrives into text the model can read, with a bound on how much it reads.

The model reads at most MAX_CHARS characters: the opening of a message carries what it is
about, and a bound keeps a 1 MB paste from costing more than a short note. Cleaning reads at
most MAX_READ characters, and each step costs time in proportion to what it reads: a 25 MB
letter crafted for the regex engine (thousands of "<script" with no ">" after them) must not
hold up the messages queued behind it.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_CHARS = 4000
MAX_READ = 25 * MAX_CHARS  # characters cleaned: about forty pages, where a crafted letter may be 25 MB
TAG_CHARS = 2000  # the longest tag removed as markup; a "<" further from its ">" is text

_HIDDEN = re.compile(r"<(script|style|head|template)\b[^>]*>.*?(</\1\s*>|$)", re.I | re.S)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class EmptyMessage(ValueError):
    """Nothing readable is left once markup and control characters are gone."""


def _markup_and_rest(text: str) -> tuple[str, str]:
    """The text up to its last ">", and what follows, where no tag can be.

    _HIDDEN and _BREAKS fail at a "<" only when no ">" follows it, and then only after reading
    to the end: thousands of such "<" read the text thousands of times. Before the last ">"
    every attempt that gets as far as `[^>]*` succeeds, and what it read is consumed.
    """
    end = text.rfind(">") + 1
    return text[:end], text[end:]


def _drop_hidden(text: str) -> str:
    """Scripts, styles, heads and templates out, each as one space; one left open runs to the end
    (before a final newline), as `_HIDDEN.sub(" ", text)` has it."""
    markup, rest = _markup_and_rest(text)
    open_at_end = False

    def space(block: re.Match[str]) -> str:
        nonlocal open_at_end
        open_at_end = not block.group(2)  # closed only by the end of the markup: it runs on into the rest
        return " "

    markup = _HIDDEN.sub(space, markup)
    if open_at_end:
        rest = "\n" if rest.endswith("\n") else ""
    return markup + rest


def _drop_tags(text: str) -> str:
    """Each "<" whose ">" comes at most TAG_CHARS characters on becomes one space, as
    re.sub(r"<[^>]{0,2000}>", " ", text) has it, but in one pass: that pattern read up to 2,000
    characters on from every "<" that started no tag, so a text of "<" was read 2,000 times."""
    parts: list[str] = []
    kept, at, close = 0, text.find("<"), -1
    while at != -1:
        if close < at:
            close = text.find(">", at)
            if close == -1:
                break
        if close - at <= TAG_CHARS + 1:
            parts += [text[kept:at], " "]
            kept = close + 1
            at = text.find("<", kept)
        else:  # every "<" before close - TAG_CHARS - 1 has this same ">", too far to be a tag
            at = text.find("<", close - TAG_CHARS - 1)
    parts.append(text[kept:])
    return "".join(parts)


def _drop_markup(text: str) -> str:
    """Hidden blocks out, line-breaking tags to newlines, other tags to spaces: one pass each."""
    markup, rest = _markup_and_rest(_drop_hidden(text))
    return _drop_tags(_BREAKS.sub("\n", markup) + rest)


def normalise(text: str) -> str:
    text = text[:MAX_READ]
    if "<" in text and ">" in text:
        text = _drop_markup(text)
    text = html.unescape(text)
    if not text.replace("\n", "").replace("\t", "").isprintable():  # most messages: no character to look at
        text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = _SPACES.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
    if not any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in text):
        raise EmptyMessage("the message has no readable text")
    return text
