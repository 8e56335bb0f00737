"""Console users and their passwords, hashed with argon2id (never stored or logged in clear).

A user is never deleted: cases they own, stages they handled and reviews they wrote point at
their row, and the audit trail names them. Removing a user marks them inactive instead; they
can no longer sign in, and their name stays on the record of what they did.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import ConsoleSession, User
from workflow.vocabulary import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
NAME_CHARS = 80  # users.username
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")  # a mailbox at a domain with a dot; nothing more is knowable


@dataclass(frozen=True)
class NewUser:
    """What `add_user` will store, checked, so the CLI can refuse a mistake before asking for a password."""

    username: str
    role: Role
    email: str | None
    team: str | None


def new_user(username: str, role: Role | str, email: str | None = None, team: str | None = None,
             teams: Collection[str] | None = None) -> NewUser:
    """Every check that needs no database, with its one-line reason.

    `teams` are the teams the configuration names (None: any team is taken, for callers that
    have no configuration); a team is matched whatever its case and stored as configured, so
    "my team" finds the cases of the team the user belongs to."""
    username = username.strip()
    if not username:
        raise DomainError("a user needs a name")
    if len(username) > NAME_CHARS:
        raise DomainError(f"a user's name is at most {NAME_CHARS} characters")
    try:
        checked_role = Role(role)
    except ValueError:
        *others, last = [r.value for r in Role]
        raise DomainError(f"unknown role {role!r}: choose {', '.join(others)} or {last}") from None
    if email is not None:
        email = email.strip().lower()
        if not _EMAIL.fullmatch(email):
            raise DomainError(f"{email!r} is not an email address such as alex@example.org")
    team = team.strip() if team and team.strip() else None
    if team is not None and teams is not None:
        known = {t.casefold(): t for t in teams}
        if team.casefold() not in known:
            raise DomainError(f"unknown team {team!r}: the teams are {', '.join(sorted(teams))} (TRIAGE_TEAMS)")
        team = known[team.casefold()]
    return NewUser(username, checked_role, email or None, team)


def check_name_free(session: Session, username: str) -> None:
    """Names differing only in case would be one account at the sign-in throttle and two here."""
    taken = session.scalar(select(User.username).where(func.lower(User.username) == username.strip().lower()))
    if taken is not None:
        raise DomainError(f"there is already a user called {taken}")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"passwords are at least {MIN_PASSWORD_LENGTH} characters")


def add_user(session: Session, username: str, role: Role | str, password: str, at: dt.datetime, actor: str,
             email: str | None = None, team: str | None = None, teams: Collection[str] | None = None) -> User:
    fields = new_user(username, role, email, team, teams)
    check_password(password)
    check_name_free(session, fields.username)
    user = User(username=fields.username, role=fields.role.value, password_hash=_hasher.hash(password),
                created_at=at, email=fields.email, team=fields.team)
    session.add(user)
    session.flush()
    audit.record(session, "user_added", actor, at, user_id=user.id, role=fields.role.value)
    return user


def all_users(session: Session) -> list[User]:
    """Removed users too: an admin listing users must see that a name is taken and not active."""
    return list(session.scalars(select(User).order_by(User.active.desc(), func.lower(User.username))))


def active_users(session: Session) -> list[User]:
    """Who may be given work or named on it, by name."""
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))


def anyone_can_sign_in(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.active.is_(True)).limit(1)) is not None


def active_user(session: Session, username: str) -> User:
    """The user of this exact name who may still sign in, or why there is none."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise DomainError(f"there is no user called {username.strip()!r} (`triage users list` shows them)")
    if not user.active:
        raise DomainError(f"{user.username} was removed and cannot sign in")
    return user


def end_sessions(session: Session, user: User) -> int:
    """Sign the user out everywhere at once: a removed user, or a password someone else may know,
    must not stay usable in a browser left signed in."""
    ended = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]


def remove_user(session: Session, username: str, at: dt.datetime, actor: str) -> int:
    """Mark the user inactive and end their sessions; returns how many sessions ended."""
    user = active_user(session, username)
    user.active = False
    ended = end_sessions(session, user)
    audit.record(session, "user_removed", actor, at, user_id=user.id, sessions_ended=ended)
    return ended


def set_password(session: Session, username: str, password: str, at: dt.datetime, actor: str) -> int:
    """A new password, and every session signed in with the old one ended; returns how many."""
    check_password(password)
    user = active_user(session, username)
    user.password_hash = _hasher.hash(password)
    ended = end_sessions(session, user)
    audit.record(session, "password_reset", actor, at, user_id=user.id, sessions_ended=ended)
    return ended


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip(), User.active.is_(True)))
    if user is None:
        _hasher.hash(password)  # same work either way, so timing does not reveal which names exist
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user
