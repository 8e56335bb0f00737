"""Changing what a case is, as a transition, never an attribute write: an enquiry corrected to a
complaint showed "allowed actions: nothing" and could not be logged; a complaint the resident
wanted dealt with as a request became a declined case beside a second one, two references for
one issue.

The reference stays whatever the case becomes: the resident already has it, in our letters and
in their own notes. Its prefix says what the case was first taken to be (CMP, SR, ENQ, ...), and
the case page and every letter say what it is now.

- To a complaint: offered the choice (Code 1.3), or logged at stage 1 at once when the resident
  already asked to complain, received on the date of their first message on the case.
- From a complaint, before it was answered: the complaint ends, with the reason in the audit
  trail (and its stage records with it: a request has no Code clock); the caller tells the
  resident where a letter had already gone out to them.
- Between the other kinds: the kind changes; the status stays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import WorkingCalendar
from workflow.errors import DomainError
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Case, Message
from workflow.vocabulary import ComplaintStatus, Direction, Kind, RequestStatus

# A complaint can stop being one only before the landlord has answered it.
UNANSWERED = frozenset({ComplaintStatus.RECEIVED, ComplaintStatus.CHOICE_OFFERED, ComplaintStatus.DECLINED,
                        ComplaintStatus.STAGE1_LOGGED, ComplaintStatus.STAGE1_ACKNOWLEDGED})


@dataclass(frozen=True)
class Changed:
    """What the change did, for the caller to tell the resident: the choice offered (1.3), the
    complaint logged, or a complaint ended after we had written to them about it."""

    offered: bool = False
    logged: bool = False
    ended_complaint_told: bool = False


def first_received(session: Session, case: Case) -> dt.datetime:
    """When the resident first wrote on this case: the stage 1 clock's start (6.2)."""
    session.flush()
    first = session.scalar(select(func.min(Message.received_at)).where(
        Message.case_id == case.id, Message.direction == Direction.INBOUND.value))
    return first or case.opened_at


def become(session: Session, calendar: WorkingCalendar, case: Case, kind: Kind | str, actor: str, at: dt.datetime,
           *, asked_to_complain: bool = False, reason: str = "") -> Changed:
    """Make the case a `kind`, through the lifecycles; DomainError when it cannot be."""
    new, old = Kind(kind), Kind(case.kind)
    if new == old:
        return Changed()
    if case.purged_at is not None:
        raise DomainError(f"{case.reference} has been purged")
    if new == Kind.COMPLAINT:
        if case.ended_on is not None:
            raise DomainError(f"{case.reference} has ended: a complaint about it is a new complaint, linked to it")
        case.kind, case.status, case.awaiting = new.value, ComplaintStatus.RECEIVED.value, None
        audit.record(session, "kind_changed", actor, at, case=case, previous=old.value, kind=new.value, reason=reason)
        lifecycle = ComplaintLifecycle(session, calendar)
        if asked_to_complain:
            lifecycle.log_stage1(case, first_received(session, case), at, actor)
            return Changed(logged=True)
        lifecycle.offer_choice(case, at, actor)
        return Changed(offered=True)
    if old == Kind.COMPLAINT:
        status = ComplaintStatus(case.status)
        if status not in UNANSWERED:
            raise DomainError(f"{case.reference} has been answered as a complaint ({status.value.replace('_', ' ')}):"
                              " it is closed or escalated as one, not corrected")
        session.flush()
        wrote = session.scalar(select(func.count(Message.id)).where(
            Message.case_id == case.id, Message.direction == Direction.OUTBOUND.value)) or 0
        logged = bool(case.stages)
        case.stages.clear()  # a request has no Code clock; the audit trail keeps what the stages were
        case.kind, case.status, case.ended_on, case.awaiting = new.value, RequestStatus.OPEN.value, None, None
        case.received_on = None
        audit.record(session, "kind_changed", actor, at, case=case, previous=old.value, kind=new.value,
                     previous_status=status.value, reason=reason or "not a complaint")
        return Changed(ended_complaint_told=logged and wrote > 0)
    case.kind = new.value
    audit.record(session, "kind_changed", actor, at, case=case, previous=old.value, kind=new.value, reason=reason)
    return Changed()
