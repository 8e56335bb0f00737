"""Labelled examples: reading JSON Lines and fingerprinting what a model was trained on."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from classifier.labels import HAZARDS, KINDS, THEMES


@dataclass(frozen=True)
class Example:
    text: str
    kind: str
    theme: str
    vulnerable: bool | None = None
    hazard: str | None = None
    group: str | None = None  # variants of one message share a group and are never split apart
    source: str | None = None  # the public page a real resident's message came from
    variant: str | None = None  # how build.py made a hand-written example: original, slips, email, chat


class BadExample(ValueError):
    pass


def read_jsonl(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(
                text=str(row["text"]), kind=row["kind"], theme=row["theme"],
                vulnerable=row.get("vulnerable"), hazard=row.get("hazard"), group=row.get("group"),
                source=row.get("source"), variant=row.get("variant"),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise BadExample(f"{path}:{number}: {error}") from None
        if example.kind not in KINDS or example.theme not in THEMES:
            raise BadExample(f"{path}:{number}: unknown kind {example.kind!r} or theme {example.theme!r}")
        if example.hazard is not None and example.hazard not in HAZARDS:
            raise BadExample(f"{path}:{number}: unknown hazard {example.hazard!r}")
        examples.append(example)
    return examples


def page_key(source: str) -> str:
    """One name for one public page however its address was written: an Ombudsman case number
    where the address holds one (the same decision is stored under several hosts), else the
    address without scheme, "www." or a trailing slash."""
    case = re.search(r"(?<!\d)(\d{9})(?!\d)", source)
    if case:
        return f"case:{case.group(1)}"
    bare = re.sub(r"^[a-z]+://(www\.)?", "", source.strip().lower())
    return bare.split("#")[0].rstrip("/")


def fingerprint(examples: Iterable[Example]) -> str:
    """A hash of exactly what training reads, so a changed corpus is noticed and retrained."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.text, e.kind, e.theme, e.group, e.vulnerable, e.hazard, e.source is not None],
                                 ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()
