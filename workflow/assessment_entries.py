"""What people write into the self-assessment, provision by provision, kept year to year.

Much of the Code is about policy and governance the product cannot see (a single policy, 5.1; a
senior lead, 9.4; the Member Responsible for Complaints, 9.5), so a complaints officer writes the
evidence ("Complaints policy v3, section 4") and the commentary. Most of it holds from one year to
the next, so a year with nothing written for a provision shows the last year's words, marked as
carried forward, instead of an empty form. A person's own Yes / No is kept for the year it was given
in only: compliance is decided again every year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import AssessmentEntry
from workflow.provisions import is_provision

ANSWERS = ("Yes", "No")
TEXT_CHARS = 4000


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    words = value.strip()
    if len(words) > TEXT_CHARS:
        raise DomainError(f"at most {TEXT_CHARS} characters")
    return words or None


def set_entry(session: Session, year: int, provision: str, *, actor: str, at: dt.datetime,
              comply: str | None = None, evidence: str | None = None, commentary: str | None = None) -> AssessmentEntry:
    """Write a provision's answer, evidence and commentary for a year (None or blank clears a field)."""
    if not is_provision(provision):
        raise DomainError(f"{provision} is not a provision of the Code")
    answer = (comply or "").strip().capitalize() or None
    if answer is not None and answer not in ANSWERS:
        raise DomainError("the answer is Yes or No, or left for the product to suggest")
    row = session.scalar(select(AssessmentEntry).where(AssessmentEntry.year == year,
                                                       AssessmentEntry.provision == provision))
    if row is None:
        row = AssessmentEntry(year=year, provision=provision)
        session.add(row)
    row.comply, row.evidence, row.commentary = answer, _text(evidence), _text(commentary)
    row.updated_by, row.updated_at = actor, at
    session.flush()
    audit.record(session, "self_assessment_entry_set", actor, at, year=year, provision=provision, comply=answer)
    return row


@dataclass(frozen=True)
class Entry:
    """A provision's words for a year: its own, or the latest earlier year's (carried forward)."""

    comply: str | None  # this year's own answer only
    evidence: str | None
    evidence_year: int | None  # the year the evidence was written in
    commentary: str | None
    commentary_year: int | None
    updated_by: str | None
    updated_at: dt.datetime | None

    def carried(self, year: int) -> list[str]:
        """Which fields came from an earlier year."""
        return [name for name, written in (("evidence", self.evidence_year), ("commentary", self.commentary_year))
                if written is not None and written != year]


def entries_for(session: Session, year: int) -> dict[str, Entry]:
    """Every provision with anything written for this year or carried from an earlier one."""
    rows = list(session.scalars(select(AssessmentEntry).where(AssessmentEntry.year <= year)
                                .order_by(AssessmentEntry.year.desc(), AssessmentEntry.id)))
    found: dict[str, Entry] = {}
    for provision in dict.fromkeys(r.provision for r in rows):
        mine = [r for r in rows if r.provision == provision]  # the newest year first
        own = next((r for r in mine if r.year == year), None)
        evidence = next((r for r in mine if r.evidence), None)
        commentary = next((r for r in mine if r.commentary), None)
        found[provision] = Entry(
            comply=own.comply if own else None,
            evidence=evidence.evidence if evidence else None, evidence_year=evidence.year if evidence else None,
            commentary=commentary.commentary if commentary else None,
            commentary_year=commentary.year if commentary else None,
            updated_by=own.updated_by if own else None, updated_at=own.updated_at if own else None)
    return found
