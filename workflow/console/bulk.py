"""Many queue rows at once: confirm their suggestions, or give them to someone.

Each row is done in its own savepoint and refused alone, with its reason, when its case moved on
since the advisor's page was drawn (a newer message changed the suggestion, someone else already
reviewed it, 6.13 bars the owner), so one stale row never undoes the others. Each confirmation is
the same review record and audit event as the one-click Confirm.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import cases, ownership
from workflow.calendar import WorkingCalendar
from workflow.console.actions import tell_about_change
from workflow.errors import DomainError
from workflow.letters import Letters
from workflow.models import Case, Review, User
from workflow.reviews import latest_classification, record_review

MOST = 100  # rows at once: a page of the queue


@dataclass
class Done:
    """What happened to each row, for the advisor."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        said = f"{verb} {len(self.done)}: {', '.join(self.done)}." if self.done else f"{verb} none."
        if self.refused:
            said += " Not done: " + "; ".join(f"{reference} ({why})" for reference, why in self.refused) + "."
        return said


def _picked(picks: Sequence[str]) -> list[tuple[str, str]]:
    """(reference, the suggestion's id as the page showed it) for each ticked row."""
    if len(picks) > MOST:
        raise DomainError(f"choose at most {MOST} rows at once")
    return [(reference.strip(), seen.strip()) for reference, _, seen in (p.partition(":") for p in picks)]


def _row(session: Session, done: Done, reference: str, work: Callable[[Case], None]) -> None:
    case = cases.by_reference(session, reference)
    if case is None:
        done.refused.append((reference, "there is no such case"))
        return
    try:
        with session.begin_nested():
            work(case)
    except DomainError as error:
        done.refused.append((reference, str(error)))
        return
    done.done.append(reference)


def confirm_many(session: Session, calendar: WorkingCalendar, letters: Letters, team_for: Callable[[str], str],
                 user: User, picks: Sequence[str], at: dt.datetime) -> Done:
    done = Done()
    for reference, seen in _picked(picks):
        def confirm(case: Case, seen: str = seen) -> None:
            suggestion = latest_classification(session, case)
            if suggestion is None:
                raise DomainError("it has no suggestion")
            if seen and seen != str(suggestion.id):
                raise DomainError("a newer message changed its suggestion: look at it again")
            if session.scalar(select(Review.id).where(Review.case_id == case.id).limit(1)) is not None:
                raise DomainError("someone has already confirmed or corrected it")
            _, changed = record_review(session, calendar, case, suggestion, user, kind=suggestion.kind,
                                       theme=suggestion.theme, team=team_for(suggestion.theme), at=at)
            tell_about_change(session, calendar, letters, case, changed, at)

        _row(session, done, reference, confirm)
    return done


def assign_many(session: Session, user: User, picks: Sequence[str], owner: User | None, at: dt.datetime) -> Done:
    done = Done()
    for reference, _ in _picked(picks):
        _row(session, done, reference, lambda case: ownership.assign(session, case, owner, user.username, at))
    return done
