"""Turning whatever arrives into text the model can read, with a bound on how much it reads.

The model reads at most MAX_CHARS characters: the opening of a message carries what it is
about, and a bound keeps a 1 MB paste from costing more than a short note.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_CHARS = 4000

_HIDDEN = re.compile(r"<(script|style|head|template)\b[^>]*>.*?(</\1\s*>|$)", re.I | re.S)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.I)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class EmptyMessage(ValueError):
    """Nothing readable is left once markup and control characters are gone."""


def normalise(text: str) -> str:
    if "<" in text and ">" in text:
        text = _HIDDEN.sub(" ", text)
        text = _BREAKS.sub("\n", text)
        text = _TAGS.sub(" ", text)
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
