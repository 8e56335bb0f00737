"""Hazard clocks (Awaab's Law): a reported hazard gets its own deadline, whatever the case's kind.

Emergency hazards are made safe within 24 hours of the report; significant hazards are
inspected within 10 working days. The clock runs from the message that reported it, and only
an advisor's record of what was done stops it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import LONDON, WorkingCalendar, london_date
from workflow.errors import DomainError
from workflow.models import Case
from workflow.vocabulary import Hazard

EMERGENCY_WITHIN = dt.timedelta(hours=24)
SIGNIFICANT_WITHIN_WORKING_DAYS = 10
SEVERITY = [Hazard.NONE, Hazard.SIGNIFICANT, Hazard.EMERGENCY]


def hazard_due(hazard: Hazard | str, reported_at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime | None:
    hazard = Hazard(hazard)
    if hazard == Hazard.EMERGENCY:
        return reported_at + EMERGENCY_WITHIN
    if hazard == Hazard.SIGNIFICANT:
        day = calendar.add(london_date(reported_at), SIGNIFICANT_WITHIN_WORKING_DAYS)
        return dt.datetime.combine(day, dt.time(23, 59), LONDON).astimezone(dt.UTC)  # end of that London day
    return None


def report_hazard(session: Session, case: Case, hazard: Hazard | str, reported_at: dt.datetime,
                  calendar: WorkingCalendar, actor: str) -> bool:
    """Raise a case's hazard and start its clock; a lower or equal report changes nothing. True when raised."""
    hazard = Hazard(hazard)
    if hazard == Hazard.NONE:
        return False
    if SEVERITY.index(hazard) <= SEVERITY.index(Hazard(case.hazard)) and case.hazard_made_safe_at is None:
        return False
    case.hazard = hazard.value
    case.hazard_due_at = hazard_due(hazard, reported_at, calendar)
    case.hazard_made_safe_at, case.hazard_action = None, None
    audit.record(session, "hazard_reported", actor, reported_at, case=case, hazard=hazard.value,
                 due=case.hazard_due_at)
    return True


def record_made_safe(session: Session, case: Case, at: dt.datetime, actor: str, action: str) -> None:
    """An advisor records what was done; this, and only this, stops the hazard clock."""
    if case.hazard == Hazard.NONE or case.hazard_due_at is None:
        raise DomainError(f"{case.reference} has no hazard on record")
    if not action.strip():
        raise DomainError("say what was done to make it safe or to inspect it")
    case.hazard_made_safe_at, case.hazard_action = at, action.strip()
    audit.record(session, "hazard_made_safe", actor, at, case=case, on_time=at <= case.hazard_due_at)
