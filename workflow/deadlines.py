"""Every Code deadline still to be met, for the scheduler's reminders and the supervisors' dashboard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.models import Case, ComplaintStage
from workflow.vocabulary import ComplaintStatus

WAITING_FOR_ACKNOWLEDGEMENT = (ComplaintStatus.STAGE1_LOGGED.value, ComplaintStatus.ESCALATION_REQUESTED.value)
WAITING_FOR_RESPONSE = (ComplaintStatus.STAGE1_ACKNOWLEDGED.value, ComplaintStatus.STAGE2_ACKNOWLEDGED.value)


@dataclass(frozen=True)
class Deadline:
    stage: ComplaintStage
    what: str  # acknowledgement | response
    due: dt.date

    @property
    def case(self) -> Case:
        return self.stage.case


def open_deadlines(session: Session) -> list[Deadline]:
    """The next deadline of each complaint's current stage, soonest first."""
    found = []
    stages = session.scalars(select(ComplaintStage).join(Case)
                             .where(Case.status.in_(WAITING_FOR_ACKNOWLEDGEMENT + WAITING_FOR_RESPONSE))
                             .options(selectinload(ComplaintStage.case).selectinload(Case.stages))
                             .order_by(ComplaintStage.id))
    for stage in stages:
        if stage.number != stage.case.stage:
            continue
        if stage.acknowledged_on is None:
            found.append(Deadline(stage, "acknowledgement", stage.acknowledgement_due))
        elif stage.responded_on is None and stage.response_due is not None:
            found.append(Deadline(stage, "response", stage.response_due))
    return sorted(found, key=lambda d: (d.due, d.stage.id))
