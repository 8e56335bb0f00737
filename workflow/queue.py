"""The advisors' queue: what to look at first (Code 6.1: vulnerability and risk when triaging).

Open hazards come first, most urgent clock first, and stay there until someone records what was
done; then cases of residents flagged as vulnerable; then by the nearest Code deadline; then the
oldest. A case leaves the queue when it has ended. The order is computed by the database, so the
page costs the same with ten cases or ten thousand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from workflow.models import Case, ComplaintStage


@dataclass(frozen=True)
class QueueEntry:
    case: Case
    hazard_open: bool
    vulnerable: bool
    next_deadline: dt.date | None


def _next_deadline(entry: Case) -> dt.date | None:
    stage = entry.stage_record(entry.stage)
    if stage is None or entry.ended_on is not None:
        return None
    if stage.acknowledged_on is None:
        return stage.acknowledgement_due
    if stage.responded_on is None:
        return stage.response_due
    return None


VIEWS = ("all", "mine", "team", "unassigned")


def triage_queue(session: Session, limit: int = 200, *, view: str = "all", user_id: int | None = None,
                 team: str | None = None) -> list[QueueEntry]:
    """The open cases in the order to work them; view "mine" (owned by user_id), "team" (of team),
    "unassigned" (no owner) or "all"."""
    hazard_open = and_(Case.hazard_due_at.is_not(None), Case.hazard_made_safe_at.is_(None))
    deadline = (select(func.min(case(
        (ComplaintStage.acknowledged_on.is_(None), ComplaintStage.acknowledgement_due),
        (ComplaintStage.responded_on.is_(None), ComplaintStage.response_due),
        else_=None)))
        .where(ComplaintStage.case_id == Case.id).correlate(Case).scalar_subquery())
    views = {"all": True, "mine": Case.owner_id == user_id, "team": Case.team == team,
             "unassigned": Case.owner_id.is_(None)}
    if view not in views:
        raise ValueError(f"no queue view {view!r}: one of {', '.join(VIEWS)}")
    query = (select(Case)
             .where(Case.ended_on.is_(None), Case.status != "done", views[view])
             .order_by(case((hazard_open, 0), else_=1), case((hazard_open, Case.hazard_due_at), else_=None).asc(),
                       Case.vulnerable.desc(), case((deadline.is_(None), 1), else_=0), deadline, Case.opened_at,
                       Case.id)
             .options(selectinload(Case.stages))
             .limit(limit))
    return [QueueEntry(c, c.hazard_due_at is not None and c.hazard_made_safe_at is None, c.vulnerable,
                       _next_deadline(c)) for c in session.scalars(query)]
