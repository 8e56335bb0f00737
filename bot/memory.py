"""Giving memory back to the system: a long-running `triage run` holds on to what it once needed.

glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MB), so
after the first large letters every later 25 MB letter, its decoded parts and the encoder's
activations come from the heap, which is never returned: six 25 MB letters left the process
hundreds of megabytes bigger for good. A fixed threshold keeps every block over LARGE in its own
mapping, given back the moment it is freed. Loading the sentence encoder leaves freed scratch
(about 70 MB while its graph was folded into float weights, before its weights stayed int8 in
session 15) that only malloc_trim returns.

Both are glibc's; elsewhere (musl, macOS) they do nothing, and the process is only larger.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)

LARGE = 1024 * 1024  # bytes: a block this big is mapped on its own and unmapped when freed
_M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers, from glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt  # noqa: B018 - present only in glibc (and compatible) C libraries
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def settle() -> bool:
    """Map large blocks on their own from now on; True where the C library allows it."""
    libc = _glibc()
    if libc is None:
        return False
    if libc.mallopt(_M_MMAP_THRESHOLD, LARGE) != 1:
        log.warning("could not set malloc's mmap threshold; large letters may keep the process larger")
        return False
    return True


def trim() -> None:
    """Return freed heap memory to the system: after the model is loaded, and after a large letter."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
