"""Service improvements that complaints lead to (Code 9.1, 9.2, 8.1 d), as records of their own.

A seed's "service improvements" section is a paragraph written once a year; the Ombudsman asks
for the improvements made "as a result of the learning from complaints", so each one here names
the complaints that prompted it (several complaints can prompt one), a team, an owner and a due
date the scheduler reminds them of, and is not done until its evidence is written down. Every
change is audited as a case change is: who, when, what changed; on each complaint linked, the
event sits in that complaint's own trail.

These functions take a session and return rows or dataclasses, for the console's pages and the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow import audit, references
from workflow.calendar import london_date, london_midnight
from workflow.errors import DomainError, IllegalTransition
from workflow.models import AuditEvent, Case, Improvement, ImprovementComplaint, User
from workflow.vocabulary import Kind

PREFIX = "IMP"
TEAM_CHARS = 80  # improvements.team


class ImprovementStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


# Done is reopened to in progress (the change did not hold); nothing jumps back to planned from done.
TRANSITIONS: dict[ImprovementStatus, frozenset[ImprovementStatus]] = {
    ImprovementStatus.PLANNED: frozenset({ImprovementStatus.IN_PROGRESS, ImprovementStatus.DONE}),
    ImprovementStatus.IN_PROGRESS: frozenset({ImprovementStatus.PLANNED, ImprovementStatus.DONE}),
    ImprovementStatus.DONE: frozenset({ImprovementStatus.IN_PROGRESS}),
}


def _words(text: str | None, what: str, longest: int | None = None) -> str:
    words = " ".join((text or "").split())
    if not words:
        raise DomainError(f"{what} is required")
    if longest is not None and len(words) > longest:
        raise DomainError(f"{what} is at most {longest} characters")
    return words


def _owner(session: Session, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    user = session.get(User, owner_id)
    if user is None or not user.active:
        raise DomainError("the owner must be an active user")
    return user


def _complaint(case: Case) -> Case:
    if case.kind != Kind.COMPLAINT:
        raise DomainError(f"{case.reference} is not a complaint; improvements are prompted by complaints")
    return case


def create(session: Session, *, title: str, team: str, owner_id: int | None, due_on: dt.date, actor: str,
           at: dt.datetime, complaints: Iterable[Case] = ()) -> Improvement:
    """A planned improvement, linked to the complaints that prompted it."""
    owner = _owner(session, owner_id)
    improvement = Improvement(
        reference=references.allocate(session, PREFIX, london_date(at).year), title=_words(title, "what will change"),
        team=_words(team, "the team", TEAM_CHARS), owner_id=owner.id if owner else None, due_on=due_on,
        status=ImprovementStatus.PLANNED.value, created_by=actor, created_at=at, updated_at=at)
    session.add(improvement)
    session.flush()
    audit.record(session, "improvement_created", actor, at, improvement=improvement.reference,
                 team=improvement.team, owner=owner.username if owner else None, due_on=due_on)
    for case in complaints:
        link(session, improvement, case, actor, at)
    return improvement


def change(session: Session, improvement: Improvement, *, actor: str, at: dt.datetime, title: str | None = None,
           team: str | None = None, owner_id: int | None = None, clear_owner: bool = False,
           due_on: dt.date | None = None) -> list[str]:
    """Change what, team, owner or due date; returns the names of what changed (audited by name, not words)."""
    changed: dict[str, object] = {}
    if title is not None and _words(title, "what will change") != improvement.title:
        improvement.title = _words(title, "what will change")
        changed["title"] = True
    if team is not None and _words(team, "the team", TEAM_CHARS) != improvement.team:
        changed["team"] = improvement.team = _words(team, "the team", TEAM_CHARS)
    if clear_owner or owner_id is not None:
        owner = None if clear_owner else _owner(session, owner_id)
        if (owner.id if owner else None) != improvement.owner_id:
            improvement.owner_id = owner.id if owner else None
            changed["owner"] = owner.username if owner else None
    if due_on is not None and due_on != improvement.due_on:
        changed["previous_due_on"], changed["due_on"] = improvement.due_on, due_on
        improvement.due_on = due_on
    if changed:
        improvement.updated_at = at
        audit.record(session, "improvement_changed", actor, at, improvement=improvement.reference, **changed)
    return [name for name in changed if name != "previous_due_on"]


def set_status(session: Session, improvement: Improvement, status: ImprovementStatus | str, actor: str,
               at: dt.datetime, evidence: str | None = None) -> None:
    """Move an improvement on; done needs the evidence that it was made (what changed, where it shows)."""
    status = ImprovementStatus(status)
    current = ImprovementStatus(improvement.status)
    if status not in TRANSITIONS[current]:
        allowed = ", ".join(s.value.replace("_", " ") for s in sorted(TRANSITIONS[current]))
        raise IllegalTransition(f"{improvement.reference} is {current.value.replace('_', ' ')}; it can become: {allowed}")
    if status == ImprovementStatus.DONE:
        improvement.evidence = _words(evidence, "the evidence that the improvement was made")
        improvement.done_on = london_date(at)
    else:
        improvement.done_on = None
    improvement.status, improvement.updated_at = status.value, at
    audit.record(session, "improvement_status", actor, at, improvement=improvement.reference,
                 previous=current.value, status=status.value)


def link(session: Session, improvement: Improvement, case: Case, actor: str, at: dt.datetime) -> bool:
    """Record that a complaint prompted the improvement; False when it was already linked."""
    _complaint(case)
    if any(row.case_id == case.id for row in improvement.links):
        return False
    improvement.links.append(ImprovementComplaint(case_id=case.id, linked_by=actor, linked_at=at))
    session.flush()
    audit.record(session, "improvement_linked", actor, at, case=case, improvement=improvement.reference)
    return True


def unlink(session: Session, improvement: Improvement, case: Case, actor: str, at: dt.datetime) -> None:
    row = next((row for row in improvement.links if row.case_id == case.id), None)
    if row is None:
        raise DomainError(f"{case.reference} is not linked to {improvement.reference}")
    improvement.links.remove(row)
    session.flush()
    audit.record(session, "improvement_unlinked", actor, at, case=case, improvement=improvement.reference)


def by_reference(session: Session, reference: str) -> Improvement | None:
    return session.scalar(select(Improvement).where(Improvement.reference == reference.strip().upper()))


def prompted_by(session: Session, case: Case) -> list[Improvement]:
    """The improvements a complaint prompted, for its page."""
    return list(session.scalars(select(Improvement).join(ImprovementComplaint)
                                .where(ImprovementComplaint.case_id == case.id).order_by(Improvement.id)))


@dataclass(frozen=True)
class ImprovementView:
    """One improvement as a page, the report and the self-assessment show it."""

    reference: str
    title: str
    team: str
    owner: str | None
    due_on: dt.date
    status: str
    done_on: dt.date | None
    evidence: str | None
    complaints: list[str]  # the references of the complaints that prompted it
    overdue: bool  # not done and its due date has passed

    def as_dict(self) -> dict[str, object]:
        return {"reference": self.reference, "title": self.title, "team": self.team, "owner": self.owner,
                "due_on": self.due_on.isoformat(), "status": self.status,
                "done_on": self.done_on.isoformat() if self.done_on else None, "evidence": self.evidence,
                "complaints": list(self.complaints), "overdue": self.overdue}


def _view(improvement: Improvement, owners: dict[int, str], today: dt.date) -> ImprovementView:
    return ImprovementView(
        reference=improvement.reference, title=improvement.title, team=improvement.team,
        owner=owners.get(improvement.owner_id) if improvement.owner_id is not None else None,
        due_on=improvement.due_on, status=improvement.status, done_on=improvement.done_on,
        evidence=improvement.evidence, complaints=[row.case.reference for row in improvement.links],
        overdue=improvement.status != ImprovementStatus.DONE and improvement.due_on < today)


def view_of(session: Session, improvement: Improvement, today: dt.date) -> ImprovementView:
    """One improvement, for its own page."""
    owner = session.get(User, improvement.owner_id) if improvement.owner_id is not None else None
    return _view(improvement, {owner.id: owner.username} if owner is not None else {}, today)


def views(session: Session, today: dt.date, *, status: str | None = None, team: str | None = None,
          owner_id: int | None = None) -> list[ImprovementView]:
    """Every improvement (or those with a status, team or owner), the soonest due first."""
    query = (select(Improvement).options(selectinload(Improvement.links).selectinload(ImprovementComplaint.case))
             .order_by(Improvement.due_on, Improvement.id))
    if status is not None:
        query = query.where(Improvement.status == ImprovementStatus(status).value)
    if team is not None:
        query = query.where(Improvement.team == team)
    if owner_id is not None:
        query = query.where(Improvement.owner_id == owner_id)
    rows = list(session.scalars(query))
    owners = dict(session.execute(select(User.id, User.username)
                                  .where(User.id.in_({r.owner_id for r in rows if r.owner_id is not None}))).all())
    return [_view(row, owners, today) for row in rows]


@dataclass(frozen=True)
class MadeAndPlanned:
    made: list[ImprovementView]  # done in the period
    planned: list[ImprovementView]  # planned or in progress at the period's end (created by then, not done by then)


def _status_at(session: Session, moment: dt.datetime) -> dict[str, tuple[str, dt.datetime]]:
    """Each improvement's status at a moment, and when it took it, from its audited status changes
    (planned before any)."""
    status: dict[str, tuple[str, dt.datetime]] = {}
    for at, detail in session.execute(select(AuditEvent.at, AuditEvent.detail)
                                      .where(AuditEvent.action == "improvement_status", AuditEvent.at < moment)
                                      .order_by(AuditEvent.at, AuditEvent.id)):
        status[detail["improvement"]] = (detail["status"], at)
    return status


def made_and_planned(session: Session, start: dt.date, end: dt.date) -> MadeAndPlanned:
    """For the annual report (8.1 d), as things stood at the period's end: made, when it was done in
    the period; planned, when it was created by then and not done. One done in the April after shows
    as it was on 31 March, and one done in the period and reopened later still counts as made in it."""
    after = end + dt.timedelta(days=1)
    created = {row.reference: london_date(row.created_at) for row in session.scalars(select(Improvement))}
    then = _status_at(session, london_midnight(after))
    made, planned = [], []
    for v in views(session, after):
        if created[v.reference] > end:
            continue
        status, since = then.get(v.reference, (ImprovementStatus.PLANNED.value, None))
        if status != ImprovementStatus.DONE:
            planned.append(replace(v, status=status, done_on=None, evidence=None, overdue=v.due_on < after))
        elif since is not None and london_date(since) >= start:
            made.append(replace(v, status=status, done_on=london_date(since), overdue=False))
    return MadeAndPlanned(made=made, planned=planned)


def open_improvements(session: Session) -> list[Improvement]:
    """Improvements not yet done, for the scheduler's reminders to their owners."""
    return list(session.scalars(select(Improvement).where(Improvement.status != ImprovementStatus.DONE.value)
                                .order_by(Improvement.due_on, Improvement.id)))
