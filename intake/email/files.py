"""Mail read from files: single .eml files, folders of them, and mbox mailboxes (exports from other systems)."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MailFile:
    source: str  # the path, with "#N" for the Nth message of an mbox
    raw: bytes


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() in {".mbox", ".mbx"}:
        return True
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def read_mail_files(paths: list[Path]) -> Iterator[MailFile]:
    """Every message under the paths, in a stable order; folders are searched for *.eml."""
    for path in paths:
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml"):
                yield MailFile(str(found), found.read_bytes())
        elif _is_mbox(path):
            box = mailbox.mbox(path, create=False)
            try:
                for index, key in enumerate(box.iterkeys(), start=1):
                    yield MailFile(f"{path}#{index}", box.get_bytes(key))
            finally:
                box.close()
        else:
            yield MailFile(str(path), path.read_bytes())
