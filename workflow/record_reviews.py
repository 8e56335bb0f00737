"""Reviewing agreed adjustments (Code 5.10) and contact restrictions (5.14, 5.15) when they fall due.

Both carry a review date and the scheduler reminds supervisors of it, but until now nothing could
record that the review happened, so "kept under active review" could not be shown. A review
answers the review date that was due, on the day it is done, and either sets the next date or
ends the adjustment or restriction. The self-assessment reads these rows to count reviews done
on time, late, and not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import london_date
from workflow.errors import DomainError
from workflow.models import Adjustment, ContactRestriction, RecordReview
from workflow.records import LONGEST_REVIEW


class Reviewed(StrEnum):
    ADJUSTMENT = "adjustment"
    RESTRICTION = "restriction"


def _review(session: Session, kind: Reviewed, row: Adjustment | ContactRestriction, next_review_on: dt.date | None,
            actor: str, at: dt.datetime) -> RecordReview:
    if row.ended_at is not None:
        raise DomainError(f"that {kind.value} has ended; there is nothing to review")
    today = london_date(at)
    if next_review_on is not None and next_review_on <= today:
        raise DomainError("the next review date is after today")
    if kind == Reviewed.RESTRICTION and next_review_on is not None and next_review_on > today + LONGEST_REVIEW:
        raise DomainError("a restriction is reviewed again within six months (5.15)")
    review = RecordReview(record=kind.value, record_id=row.id, due_on=row.review_on, reviewed_on=today,
                          next_review_on=next_review_on, reviewed_by=actor, at=at)
    session.add(review)
    if next_review_on is None:
        row.ended_at = at
    else:
        row.review_on = next_review_on
    session.flush()
    audit.record(session, f"{kind.value}_reviewed", actor, at, resident_id=row.resident_id,
                 **{f"{kind.value}_id": row.id}, due_on=review.due_on, next_review_on=next_review_on,
                 ended=next_review_on is None)
    return review


def review_adjustment(session: Session, adjustment_id: int, resident_id: int, *, next_review_on: dt.date | None,
                      actor: str, at: dt.datetime) -> RecordReview:
    """5.10: the adjustment was reviewed with the resident; kept with a next date, or ended (None)."""
    row = session.get(Adjustment, adjustment_id)
    if row is None or row.resident_id != resident_id:
        raise DomainError("there is no such adjustment")
    return _review(session, Reviewed.ADJUSTMENT, row, next_review_on, actor, at)


def review_restriction(session: Session, restriction_id: int, resident_id: int, *, next_review_on: dt.date | None,
                       actor: str, at: dt.datetime) -> RecordReview:
    """5.14: the restriction was reviewed; kept until a next date within six months, or lifted (None)."""
    row = session.get(ContactRestriction, restriction_id)
    if row is None or row.resident_id != resident_id:
        raise DomainError("there is no such restriction")
    return _review(session, Reviewed.RESTRICTION, row, next_review_on, actor, at)


@dataclass(frozen=True)
class ReviewDue:
    """One review date that fell due, and what happened to it."""

    record: str  # adjustment | restriction
    record_id: int
    resident_id: int
    due_on: dt.date
    reviewed_on: dt.date | None  # None: not reviewed (nor ended) by the day the question is asked
    state: str  # on_time | late | not_reviewed

    @property
    def on_time(self) -> bool:
        return self.state == "on_time"


def reviews_due(session: Session, kind: Reviewed, start: dt.date, end: dt.date, as_of: dt.date) -> list[ReviewDue]:
    """Every review date of this kind between start and end that had come by as_of, with its outcome.

    A review date is met by a review on or before it; one that passed unreviewed is "late" when the
    adjustment or restriction was reviewed or ended after it, "not reviewed" when neither. A
    date after the record ended never fell due.
    """
    model = Adjustment if kind == Reviewed.ADJUSTMENT else ContactRestriction
    rows = {row.id: row for row in session.scalars(select(model))}
    reviews = list(session.scalars(select(RecordReview).where(RecordReview.record == kind.value)
                                   .order_by(RecordReview.at, RecordReview.id)))
    found: list[ReviewDue] = []
    last = min(end, as_of)
    for review in reviews:
        row = rows.get(review.record_id)
        if row is None or not start <= review.due_on <= last:
            continue
        state = "on_time" if review.reviewed_on <= review.due_on else "late"
        found.append(ReviewDue(kind.value, row.id, row.resident_id, review.due_on, review.reviewed_on, state))
    for row in rows.values():  # the current review date: ended, or still to come, or missed
        due = row.review_on
        ended = london_date(row.ended_at) if row.ended_at is not None else None
        answered = any(r.record_id == row.id and r.due_on == due for r in reviews)
        if answered or not start <= due <= last or (ended is not None and ended <= due):
            continue  # ended on or before the date: nothing was left to review
        if ended is not None and ended <= as_of:
            found.append(ReviewDue(kind.value, row.id, row.resident_id, due, ended, "late"))
        elif due < as_of:
            found.append(ReviewDue(kind.value, row.id, row.resident_id, due, None, "not_reviewed"))
    return sorted(found, key=lambda r: (r.due_on, r.record_id))
