"""Mail read from files: single messages, folders of them, mbox mailboxes and Maildirs (exports from other systems).

A folder is read whole, whatever its files are called: a Maildir or a plain export has no
`.eml` suffixes, and a file skipped for its name is a letter lost without a word. Whatever is
not mail is reported with a reason instead, so the person importing can see what was left.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# RFC 5322 2.2: a field name is printable ASCII without the colon. A message starts with a field;
# an mbox with its "From " separator line.
_FIRST_FIELD = re.compile(rb"[!-9;-~]{1,76}:")
MAILDIR_PARTS = ("new", "cur")  # tmp holds deliveries not yet finished: never read


@dataclass(frozen=True)
class MailFile:
    source: str  # the path, with "#N" for the Nth message of an mbox
    raw: bytes
    problem: str | None = None  # why this file could not be read as mail; raw is then empty


def not_mail(raw: bytes) -> str | None:
    """Why these bytes are not an email message, or None if they may be one."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return "empty file"
    if not _FIRST_FIELD.match(head):
        return "not a mail message: it does not start with a header line"
    return None


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() in {".mbox", ".mbx"}:
        return True
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def _is_maildir(path: Path) -> bool:
    return all((path / part).is_dir() for part in MAILDIR_PARTS)


def _read_file(path: Path) -> Iterator[MailFile]:
    try:
        if _is_mbox(path):
            box = mailbox.mbox(path, create=False)
            try:
                for index, key in enumerate(box.iterkeys(), start=1):
                    yield MailFile(f"{path}#{index}", box.get_bytes(key))
            finally:
                box.close()
            return
        raw = path.read_bytes()
    except OSError as error:
        yield MailFile(str(path), b"", f"could not be read: {error.strerror or type(error).__name__}")
        return
    yield MailFile(str(path), raw, not_mail(raw))


def _read_maildir(path: Path) -> Iterator[MailFile]:
    """new/ then cur/, each in file-name order (a Maildir name starts with its delivery time), then
    its subfolders (Maildir++ keeps them as .Name beside cur and new). Index files beside them are not mail."""
    for part in MAILDIR_PARTS:
        for found in sorted(p for p in (path / part).iterdir() if p.is_file() and not p.name.startswith(".")):
            yield from _read_file(found)
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and p.name not in (*MAILDIR_PARTS, "tmp")):
        if _is_maildir(sub):
            yield from _read_maildir(sub)


def _read_folder(path: Path) -> Iterator[MailFile]:
    if _is_maildir(path):
        yield from _read_maildir(path)
        return
    for found in sorted(path.iterdir()):
        if found.is_dir():
            yield from _read_folder(found)
        elif found.is_file():
            yield from _read_file(found)


def read_mail_files(paths: list[Path]) -> Iterator[MailFile]:
    """Every message under the paths, in a stable order, and every file that was not one."""
    for path in paths:
        yield from _read_folder(path) if path.is_dir() else _read_file(path)
