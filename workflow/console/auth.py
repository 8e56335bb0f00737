"""Console sign-in: server-side sessions, so signing out or disabling a user takes effect at once.

The cookie holds a random token; the database holds only its SHA-256, so a copy of the
database cannot be used to sign in. Each session has its own CSRF token, which every form
carries and every POST must return. A session left unused on a shared office computer ends
after the idle time (TRIAGE_CONSOLE_IDLE_MINUTES), and any session after a working day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.models import ConsoleSession, User
from workflow.vocabulary import Role

LIFETIME = dt.timedelta(hours=10)  # a working day; then sign in again
IDLE = dt.timedelta(minutes=30)  # unused this long, a session ends (the console is given the setting's value)
TOUCH_EVERY = dt.timedelta(minutes=1)  # a use moves the expiry only this far at least: not a write per page
RANK = {Role.ADVISOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(created_at: dt.datetime, used_at: dt.datetime, idle: dt.timedelta) -> dt.datetime:
    """The one rule for how long a session lasts: the idle time after its last use, but never past a
    working day after sign-in, so a session kept busy by a script still ends."""
    return min(created_at + LIFETIME, used_at + idle)


def start_session(session: Session, user: User, now: dt.datetime, idle: dt.timedelta = IDLE,
                  address: str | None = None) -> tuple[str, str]:
    """(cookie token, CSRF token) for a user who has just given their password."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(ConsoleSession(token_hash=_hash(token), user_id=user.id, csrf=csrf, created_at=now,
                               expires_at=expiry(now, now, idle)))
    audit.record(session, "signed_in", user.username, now, address=address)
    session.commit()
    return token, csrf


def signed_in(session: Session, token: str | None, now: dt.datetime,
              idle: dt.timedelta = IDLE) -> tuple[User, ConsoleSession] | None:
    """The user behind a cookie, if their session is still live; each use extends it (see `expiry`)."""
    if not token:
        return None
    found = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if found is None or found.expires_at <= now:
        return None
    user = session.get(User, found.user_id)
    if user is None or not user.active:
        return None
    extended = expiry(found.created_at, now, idle)
    if abs(extended - found.expires_at) >= TOUCH_EVERY:  # a shorter idle setting applies at the next use too
        found.expires_at = extended
        session.commit()
    return user, found


def say(console_session: ConsoleSession, text: str) -> None:
    """What an action did, for the next page this user sees; the caller commits with the action.

    It travels in the session, never in the URL: `?done=` put anyone's words on our page."""
    console_session.flash = text


def said(session: Session, console_session: ConsoleSession) -> str:
    """The message waiting for this page, shown once."""
    text = console_session.flash or ""
    if text:
        console_session.flash = None
        session.commit()
    return text


def end_session(session: Session, token: str, now: dt.datetime, actor: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    audit.record(session, "signed_out", actor, now)
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.commit()


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")


def may(user: User, role: Role) -> bool:
    """A supervisor may do what an advisor may; an admin what a supervisor may."""
    return RANK[Role(user.role)] >= RANK[role]
