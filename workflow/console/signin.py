"""Standing up to password guessing at the console's sign-in.

Two defences, each in one place here. The throttle: after a few wrong passwords for one name,
or more from one client address, each further attempt is refused until a wait that doubles with
every failure, without its password being checked. The failures are rows in the database, not a
dict in memory, because the console may run in several processes on one PostgreSQL: a count in
memory would give an attacker a fresh allowance per process and another at every restart, while
the database is shared and is read at every sign-in anyway. The bound: argon2 takes 64 MiB and
most of a core for each check, so a flood of attempts at once took the memory and the CPU the
mail server needed; at most a few checks run at once in a process and the rest wait briefly,
then are told to try again. That bound is per process on purpose: it protects this machine's
memory and cores, which a count shared across machines would not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.models import SignInFailure, storable

log = logging.getLogger(__name__)

FREE_PER_ACCOUNT = 5  # wrong passwords for one name before the waits begin
FREE_PER_ADDRESS = 20  # more for an address: an office behind one NAT mistypes more than one person
FIRST_WAIT = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(minutes=15)
WINDOW = dt.timedelta(hours=1)  # failures older than this are forgotten
NAME_CHARS = 80  # as long as a user name can be (users.username); longer input is cut before it is kept
BUSY_RETRY_SECONDS = 5  # what a sign-in turned away by the bound is told


def account_of(username: str) -> str:
    """The name as the throttle and the audit know it: one account however its case is typed."""
    return storable(username.strip().casefold())[:NAME_CHARS]


def _subjects(username: str, address: str) -> dict[str, int]:
    """Each counter an attempt is charged to, with the failures it may have before waits begin."""
    return {_hash(f"account:{account_of(username)}"): FREE_PER_ACCOUNT, _hash(f"address:{address}"): FREE_PER_ADDRESS}


def _hash(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()


def wait_after(failures: int, free: int) -> dt.timedelta:
    """Nothing for the first `free` failures; then 30 s, doubling with each failure after, to 15 minutes."""
    if failures < free:
        return dt.timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - free, 16), LONGEST_WAIT)


def wait_before_trying(session: Session, username: str, address: str, now: dt.datetime) -> dt.timedelta:
    """How long this name from this address must wait before a password is checked for it; zero: go ahead.

    The same for a name nobody has as for a real one, so the answer reveals nothing about accounts.
    """
    subjects = _subjects(username, address)
    rows = session.execute(
        select(SignInFailure.subject, func.count(), func.max(SignInFailure.at))
        .where(SignInFailure.subject.in_(subjects), SignInFailure.at > now - WINDOW)
        .group_by(SignInFailure.subject))
    wait = dt.timedelta(0)
    for subject, failures, last in rows:
        wait = max(wait, last + wait_after(failures, subjects[subject]) - now)
    return wait


def record_failure(session: Session, username: str, address: str, now: dt.datetime) -> None:
    """Charge a wrong password to the name and the address, and audit it with what was tried (never the password)."""
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
    session.add_all([SignInFailure(subject=subject, at=now) for subject in _subjects(username, address)])
    audit.record(session, "sign_in_failed", "anonymous", now, username=account_of(username), address=address)


def forget_account(session: Session, username: str) -> None:
    """After a right password the name starts afresh; the address keeps its count, which one good
    password among many guesses from it should not wipe."""
    subject = _hash(f"account:{account_of(username)}")
    session.execute(delete(SignInFailure).where(SignInFailure.subject == subject))


def in_words(wait: dt.timedelta) -> str:
    """'30 seconds', '2 minutes': what a person reads on the refusal, rounded up."""
    seconds = whole_seconds(wait)
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def whole_seconds(wait: dt.timedelta) -> int:
    """For the Retry-After header: never 0 while a wait remains."""
    return max(1, math.ceil(wait.total_seconds()))


class PasswordChecks:
    """At most `limit` password checks at once in this process; the others wait up to `wait_seconds`
    for a turn and are then turned away, so a flood costs `limit` times 64 MiB, not one per attempt.

    It counts what it lets through (`running`, `most_at_once`, `done`), for monitoring and tests.
    """

    def __init__(self, limit: int = 2, wait_seconds: float = 2.0) -> None:
        if limit < 1:
            raise ValueError("at least one password check must be allowed at a time")
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._turns = threading.BoundedSemaphore(limit)
        self._count = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.done = 0
        self._warned_at = -math.inf

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """True inside a turn to check a password; False when none came free in time."""
        if not self._turns.acquire(timeout=self.wait_seconds):
            if time.monotonic() - self._warned_at > 60:  # a flood turns away hundreds a minute: say so once
                self._warned_at = time.monotonic()
                log.warning("sign-ins turned away: %d password checks already running (a flood?)", self.limit)
            yield False
            return
        with self._count:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            yield True
        finally:
            with self._count:
                self.running -= 1
                self.done += 1
            self._turns.release()
