"""A secret made once on first start and kept in the data directory, readable by its owner only.

Every process on the same data directory must sign with the same secret, and several of them may
start at once (`triage run --only web` twice, or smtp and web together): the secret is written in
full to a file of its own, then linked into place, which fails if another process got there first.
So no process ever reads a half-written secret, and all of them end up with the winner's.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)
MIN_CHARS = 32


def secret_in(path: Path) -> bytes:
    """The secret kept at `path`, made there (mode 0600) if there is none yet."""
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s can be read by other users (mode %o); chmod 600 it", path, mode)
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_CHARS:
        raise RuntimeError(f"{path} holds no usable secret (under {MIN_CHARS} characters); delete it to make a new one")
    return value.encode()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
            log.info("made a new secret in %s", path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    finally:
        draft.unlink(missing_ok=True)
