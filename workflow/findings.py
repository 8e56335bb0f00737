"""The Ombudsman's findings about the landlord, entered by a supervisor (Code 8.1 c, 9.7 c).

The annual report must include "any findings of non-compliance with this Code by the
Ombudsman", and the governing body must hear the outcomes of the Ombudsman's investigations.
They arrive by letter, outside the product, so a supervisor enters each one: the Ombudsman's
reference, the date of the decision, what was found, which provisions of the Code it named, and
any orders. The self-assessment marks a provision named in a finding of the year 'No'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, OmbudsmanFinding, User
from workflow.provisions import is_provision
from workflow.vocabulary import Role


class Finding(StrEnum):
    """The Ombudsman's determinations, and its finding that a landlord did not comply with the Code."""

    NON_COMPLIANCE = "non_compliance"  # a complaint handling failure order or finding of non-compliance (8.1 c)
    SEVERE_MALADMINISTRATION = "severe_maladministration"
    MALADMINISTRATION = "maladministration"
    SERVICE_FAILURE = "service_failure"
    REASONABLE_REDRESS = "reasonable_redress"
    NO_MALADMINISTRATION = "no_maladministration"


MAY_ENTER = (Role.SUPERVISOR.value, Role.ADMIN.value)
REFERENCE_CHARS = 40  # ombudsman_findings.ombudsman_reference


def record_finding(session: Session, by: User, at: dt.datetime, *, ombudsman_reference: str, decided_on: dt.date,
                   finding: Finding | str, summary: str, provisions: Sequence[str] = (),
                   orders: str = "", case: Case | None = None) -> OmbudsmanFinding:
    """Enter a finding. Takes the user, not a name: the Code makes it a supervisor's record to keep."""
    if by.role not in MAY_ENTER or not by.active:
        raise DomainError("only a supervisor can enter the Ombudsman's findings")
    finding = Finding(finding)
    reference = " ".join(ombudsman_reference.split())
    if not reference:
        raise DomainError("the Ombudsman's reference is required")
    if len(reference) > REFERENCE_CHARS:
        raise DomainError(f"the Ombudsman's reference is at most {REFERENCE_CHARS} characters")
    named = list(dict.fromkeys(p.strip() for p in provisions if p.strip()))
    unknown = [p for p in named if not is_provision(p)]
    if unknown:
        raise DomainError(f"not a provision of the Code: {', '.join(unknown)}")
    if finding == Finding.NON_COMPLIANCE and not named:
        raise DomainError("a finding of non-compliance names the provisions of the Code it found were not met")
    words = " ".join(summary.split())
    if not words:
        raise DomainError("a summary of what the Ombudsman found is required")
    row = OmbudsmanFinding(ombudsman_reference=reference, case_id=case.id if case is not None else None,
                           decided_on=decided_on, finding=finding.value, provisions=named, summary=words,
                           orders=" ".join(orders.split()) or None, recorded_by=by.username, recorded_at=at)
    session.add(row)
    session.flush()
    audit.record(session, "ombudsman_finding_recorded", by.username, at, case=case, finding_id=row.id,
                 finding=finding.value, provisions=named, decided_on=decided_on)
    return row


def findings_between(session: Session, start: dt.date, end: dt.date) -> list[OmbudsmanFinding]:
    """Findings decided between start and end, London dates, both included; the oldest first."""
    return list(session.scalars(select(OmbudsmanFinding)
                                .where(OmbudsmanFinding.decided_on >= start, OmbudsmanFinding.decided_on <= end)
                                .order_by(OmbudsmanFinding.decided_on, OmbudsmanFinding.id)))
