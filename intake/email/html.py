"""HTML mail to plain text: scripts, styles and head dropped, blocks on their own lines, quotes marked.

A crafted letter must cost no more than an ordinary one, so three things are bounded. At most
MAX_HTML characters are read: the parser spends microseconds on each character of dense
markup, and the resident's new words are at the top. Lines are built from lists of pieces:
adding to a string copies it, and a line of a million "<" took 36 s. And a tag, comment or
declaration still open at the end is not read as text, as HTML5 has it and newer Pythons'
html.parser does: Python 3.11's read the rest of the document again for every "<" in such a
tail (CVE-2025-6069; 40 KB of "<a " took 25 s).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML = 100_000  # characters of markup: an Outlook thread's top; half a second of the parser at worst
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "pre"}
_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}
_SPACES = re.compile(r"\s+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []  # the lines written so far; the one being written is in `pieces`
        self.pieces: list[str] = []  # never an empty string
        self.written = False  # whether `pieces` holds more than spaces
        self.hidden = 0
        self.quote_depth = 0

    def _newline(self) -> None:
        if self.written:
            self.lines.append("".join(self.pieces))
            self.pieces, self.written = [], False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self._newline()
            self.quote_depth += 1
        elif tag in _BLOCKS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self._newline()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in _BLOCKS:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        text = _SPACES.sub(" ", data)
        if not text.strip():
            if self.pieces and not self.pieces[-1].endswith(" "):
                self.pieces.append(" ")
            return
        if not self.pieces and self.quote_depth:
            self.pieces.append("> " * self.quote_depth)
        self.pieces.append(text)
        self.written = True

    def text(self) -> str:
        lines = [line.strip() for line in [*self.lines, "".join(self.pieces)]]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    parser = _TextParser()
    try:
        parser.feed(html[:MAX_HTML])
        if len(parser.rawdata) > 1 and parser.rawdata[0] == "<":  # left unread by feed(): markup open to the end
            parser.rawdata = ""
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup; keep what it read
        pass
    return parser.text()
