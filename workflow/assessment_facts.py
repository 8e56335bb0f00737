"""The record the self-assessment reads, loaded once, and the rules it judges clocks by.

Every provision's evidence (workflow/evidence_clocks.py, evidence_record.py) is a function of
these facts, so one year's form is computed from one consistent reading of the database. The
clocks are judged as the Code words them and as the scheduler keeps them: an acknowledgement is
late when it came after its due date, or had not come when the due date passed (as of the last day
counted) while the case was still open; a response is late when it came after its deadline as
extended by agreed extensions, or had not come by then. A case refused or withdrawn before a
deadline owed nothing by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.calendar import WorkingCalendar, london_midnight
from workflow.lifecycle import FINAL, RESPOND_WITHIN
from workflow.models import Case, Classification, ComplaintStage, Message
from workflow.reports import Period
from workflow.vocabulary import Direction


@dataclass(frozen=True)
class Listed:
    """A case (or record) behind a 'No', with what went wrong in a few words; never residents' words."""

    reference: str
    note: str

    def as_dict(self) -> dict[str, str]:
        return {"reference": self.reference, "note": self.note}


@dataclass(frozen=True)
class Evidence:
    """What the product can show for one provision: a suggested answer, sentences with the figures,
    the figures themselves, and the cases behind a 'No'."""

    suggestion: str | None  # Yes | No | None: nothing in the record to judge by
    lines: list[str]
    figures: dict[str, object] = field(default_factory=dict)
    listed: list[Listed] = field(default_factory=list)


def suggest(failures: int, instances: int) -> str | None:
    """'No' when the record shows a failure; 'Yes' when it shows the provision met at least once;
    otherwise the record cannot say, and a person decides."""
    if failures:
        return "No"
    return "Yes" if instances else None


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


class Clock(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"  # the deadline passed and nothing was done
    NOT_OWED = "not_owed"  # the case ended before the deadline
    NOT_YET = "not_yet"  # the deadline has not passed


@dataclass
class Facts:
    session: Session
    period: Period
    as_of: dt.date  # the first day not over: today within the period, the day after it once it has ended
    calendar: WorkingCalendar
    stages: list[ComplaintStage]  # every stage requested by the period's end
    opened: list[Case]  # every case opened in the period
    inbound: list[Message]  # messages from residents received in the period (not automatic replies)
    classified: dict[int, Classification]  # by message id

    @classmethod
    def load(cls, session: Session, period: Period, as_of: dt.date, calendar: WorkingCalendar) -> Facts:
        start, end = london_midnight(period.start), london_midnight(period.end + dt.timedelta(days=1))
        stages = list(session.scalars(
            select(ComplaintStage).where(ComplaintStage.requested_on <= period.end)
            .options(selectinload(ComplaintStage.extensions),
                     selectinload(ComplaintStage.case).selectinload(Case.stages))
            .order_by(ComplaintStage.requested_on, ComplaintStage.id)))
        opened = list(session.scalars(select(Case).where(Case.opened_at >= start, Case.opened_at < end)
                                      .options(selectinload(Case.stages)).order_by(Case.opened_at, Case.id)))
        inbound = list(session.scalars(select(Message).where(
            Message.direction == Direction.INBOUND.value, Message.automatic.is_(False),
            Message.received_at >= start, Message.received_at < end).order_by(Message.received_at, Message.id)))
        classified = {c.message_id: c for c in session.scalars(
            select(Classification).where(Classification.message_id.in_([m.id for m in inbound])))}
        return cls(session, period, as_of, calendar, stages, opened, inbound, classified)

    def received(self, number: int) -> list[ComplaintStage]:
        """Stages requested in the period: stage 1 complaints received, stage 2 escalations requested."""
        return [s for s in self.stages if s.number == number and s.requested_on in self.period]

    def answered_or_due(self, number: int) -> list[ComplaintStage]:
        """Stages whose response came in the period, or fell due in it and had not come."""
        return [s for s in self.stages if s.number == number and (
            s.responded_on in self.period
            or (s.responded_on is None and s.response_due in self.period
                and self.response(s) == Clock.MISSED))]

    @staticmethod
    def ended(stage: ComplaintStage) -> dt.date | None:
        case = stage.case
        return case.ended_on if case.status in FINAL else None

    def acknowledgement(self, stage: ComplaintStage) -> Clock:
        due = stage.acknowledgement_due
        if stage.acknowledged_on is not None:
            return Clock.ON_TIME if stage.acknowledged_on <= due else Clock.LATE
        ended = self.ended(stage)
        if ended is not None and ended <= due:
            return Clock.NOT_OWED
        return Clock.MISSED if due < self.as_of else Clock.NOT_YET

    def response(self, stage: ComplaintStage) -> Clock:
        due = stage.response_due
        if stage.responded_on is not None and due is not None:
            return Clock.ON_TIME if stage.responded_on <= due else Clock.LATE
        ended = self.ended(stage)
        if due is None or (ended is not None and ended <= due):
            return Clock.NOT_OWED
        return Clock.MISSED if due < self.as_of else Clock.NOT_YET

    def within_code(self, stage: ComplaintStage) -> bool:
        """Answered within 10 (stage 1) or 20 (stage 2) working days of acknowledgement, before any extension."""
        return (stage.responded_on is not None and stage.acknowledged_on is not None
                and stage.responded_on <= self.calendar.add(stage.acknowledged_on, RESPOND_WITHIN[stage.number]))

    def late_by(self, due: dt.date, done: dt.date | None) -> str:
        """'3 working days late' (or, not done, how many working days have passed since it was due)."""
        days = self.calendar.between(due, done or self.as_of)
        return plural(days, "working day")


def stage_label(stage: ComplaintStage) -> str:
    return f"stage {stage.number}"
