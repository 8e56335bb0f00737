"""Console users and their passwords, hashed with argon2id (never stored or logged in clear)."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import User
from workflow.vocabulary import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


def add_user(session: Session, username: str, role: Role | str, password: str, at: dt.datetime, actor: str,
             email: str | None = None, team: str | None = None) -> User:
    username = username.strip()
    if not username:
        raise DomainError("a user needs a name")
    role = Role(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"passwords are at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise DomainError(f"there is already a user called {username}")
    if email is not None and "@" not in email:
        raise DomainError(f"{email!r} is not an email address")
    user = User(username=username, role=role.value, password_hash=_hasher.hash(password), created_at=at,
                email=email.strip().lower() if email else None, team=team.strip() if team and team.strip() else None)
    session.add(user)
    session.flush()
    audit.record(session, "user_added", actor, at, user_id=user.id, role=role.value)
    return user


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
