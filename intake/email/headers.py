"""Mail headers made once: Python's email package remakes a header's class, and parses a header
again, each time one is set or read, which cost more than anything else in reading or writing a
message. Reading (parse.py) and writing (send.py) each keep their own."""

from __future__ import annotations

from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy


class KeptHeaders(HeaderRegistry):
    """The standard registry builds a new class for every header it reads or sets (about 18 µs,
    several times a message for Content-Type alone); here each kind of header's class is built once.
    Kept per kind, not per name, so senders' invented header names cannot grow it.

    Short headers are also kept once read. The standard library parses a header again each time it
    is asked for it, and a message asks for its Content-Type five times; most mail shares the same
    few Content-Type, Content-Transfer-Encoding and MIME-Version lines. Read headers are immutable
    strings, so sharing them between messages is safe; the store is emptied when it is full.

    No header is parsed past MAX_CHARS: the standard parser spends tens of microseconds on each
    address of a list, so a crafted 25 MB Cc line would hold the bot up for minutes. A header
    that long is no real letter's (300 addresses fit), and the raw bytes keep all of it."""

    KEEP_CHARS = 200
    KEEP_HEADERS = 2000
    MAX_CHARS = 16_000

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[type, type] = {}
        self._read: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > self.KEEP_CHARS:
            return super().__call__(name, value[:self.MAX_CHARS])
        key = (name, value)
        header = self._read.get(key)
        if header is None:
            if len(self._read) >= self.KEEP_HEADERS:
                self._read.clear()
            header = self._read[key] = super().__call__(name, value)
        return header

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        built = self._built.get(kind)
        if built is None:
            built = self._built[kind] = type("_" + kind.__name__, (kind, self.base_class), {})
        return built


class _KeptPolicy(EmailPolicy):
    """Folding a header for writing costs more than parsing it. A kept header is shared by every
    message that has it, so it keeps its own folded form, once for each way of writing."""

    def _fold(self, name: str, value: str, refold_binary: bool = False) -> str:
        if not isinstance(value, BaseHeader):
            return super()._fold(name, value, refold_binary)
        folds: dict[tuple[str, int | None, bool], str] = value.__dict__.setdefault("_folded", {})
        way = (self.linesep, self.max_line_length, self.utf8)  # all that a header object's fold reads
        folded = folds.get(way)
        if folded is None:
            folded = folds[way] = super()._fold(name, value, refold_binary)
        return folded


def kept_policy() -> EmailPolicy:
    """The standard policy (`email.policy.default`) with a header store of its own."""
    return _KeptPolicy(header_factory=KeptHeaders())
