"""Who works a case: its owner, a member of its team, taken or assigned, every change audited.

Reminders go to the owner (then the team's supervisors, then every supervisor), so a case with
an owner is never "nobody's". Code 6.13 is checked here, at assignment, not only when the stage 2
acknowledgement is sent: the person who handled stage 1 cannot be given the case once it is at
stage 2, and the console names who is barred before anyone fills in a form. When a complaint is
escalated, its stage 1 handler stops owning it (ComplaintLifecycle.request_escalation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, User
from workflow.users import active_users
from workflow.vocabulary import Kind, Role

BARRED_613 = "handled stage 1 (Code 6.13: someone else handles stage 2)"


def barred(case: Case, user: User) -> str | None:
    """Why this person may not own this case now, or None."""
    if not user.active:
        return "no longer a user"
    first = case.stage_record(1)
    if case.kind == Kind.COMPLAINT and case.stage >= 2 and first is not None and first.handler_id == user.id:
        return BARRED_613
    return None


def candidates(session: Session, case: Case) -> list[tuple[User, str | None]]:
    """Every active user, each with the reason they cannot be given this case (None: they can)."""
    return [(user, barred(case, user)) for user in active_users(session)]


def assign(session: Session, case: Case, owner: User | None, actor: str, at: dt.datetime) -> None:
    """Give the case to owner (None: back to unassigned); refused with the reason when barred."""
    if owner is not None:
        reason = barred(case, owner)
        if reason is not None:
            raise DomainError(f"{owner.username} cannot be given {case.reference}: {reason}")
    previous = session.get(User, case.owner_id) if case.owner_id is not None else None
    if (previous.id if previous else None) == (owner.id if owner else None):
        return
    case.owner_id = owner.id if owner is not None else None
    audit.record(session, "assigned" if owner is not None else "unassigned", actor, at, case=case,
                 previous=previous.username if previous else None, owner=owner.username if owner else None)


def change_team(session: Session, case: Case, team: str, actor: str, at: dt.datetime, teams: Collection[str]) -> None:
    """Move the case to one of the configured teams (or leave it with the one it has): a name typed
    into a forged or stale form would put it in a queue nobody works and no report counts."""
    team = team.strip()
    if not team:
        raise DomainError("choose a team")
    if team != case.team and team not in teams:
        raise DomainError(f"there is no team called {team!r}; choose one of {', '.join(sorted(teams))}")
    if team != case.team:
        audit.record(session, "team_changed", actor, at, case=case, previous=case.team, team=team)
        case.team = team


_SUPERVISORS = select(User.email).where(User.role.in_([Role.SUPERVISOR.value, Role.ADMIN.value]),
                                       User.active.is_(True), User.email.is_not(None)).order_by(User.id)


def team_supervisors(session: Session, team: str | None) -> list[str]:
    """The addresses of the team's own supervisors (none without a team)."""
    return list(session.scalars(_SUPERVISORS.where(User.team == team))) if team else []


def supervisors(session: Session, team: str | None) -> list[str]:
    """The addresses of the team's supervisors; every supervisor's when the team has none."""
    return team_supervisors(session, team) or list(session.scalars(_SUPERVISORS))


def owner_address(session: Session, case: Case, fallback_user_id: int | None = None) -> str | None:
    """The owner's address (or, without an owner, the stage handler's), if they are active and have one."""
    for user_id in (case.owner_id, fallback_user_id):
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and user.active and user.email:
            return user.email
    return None
