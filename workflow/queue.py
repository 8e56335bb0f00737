"""The advisors' queue: what to look at first (Code 6.1: vulnerability and risk when triaging).

Open hazards come first, most urgent clock first, and stay there until someone records what was
done; then cases of residents flagged as vulnerable; then by the nearest Code deadline; then the
oldest. A case leaves the queue when it has ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.models import Case, Classification

FAR = dt.date.max


@dataclass(frozen=True)
class QueueEntry:
    case: Case
    hazard_open: bool
    vulnerable: bool
    next_deadline: dt.date | None


def _next_deadline(case: Case) -> dt.date | None:
    stage = case.stage_record(case.stage)
    if stage is None or case.ended_on is not None:
        return None
    if stage.acknowledged_on is None:
        return stage.acknowledgement_due
    if stage.responded_on is None:
        return stage.response_due
    return None


def triage_queue(session: Session, limit: int = 200) -> list[QueueEntry]:
    open_cases = list(session.scalars(select(Case).where(Case.ended_on.is_(None), Case.status != "done")
                                      .options(selectinload(Case.stages))))
    vulnerable_ids = {case_id for case_id, flags in session.execute(
        select(Classification.case_id, Classification.flags).where(
            Classification.case_id.in_([c.id for c in open_cases]))) if flags.get("vulnerable")}
    entries = [QueueEntry(case, case.hazard_due_at is not None and case.hazard_made_safe_at is None,
                          case.id in vulnerable_ids, _next_deadline(case)) for case in open_cases]
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    entries.sort(key=lambda e: (
        not e.hazard_open, e.case.hazard_due_at if e.hazard_open and e.case.hazard_due_at else far_future,
        not e.vulnerable, e.next_deadline or FAR, e.case.opened_at, e.case.id))
    return entries[:limit]
