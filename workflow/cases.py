"""Opening cases, the service request lifecycle, and the links between cases (Code 1.4, 1.5, 6.8)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit, references
from workflow.calendar import london_date
from workflow.errors import DomainError, IllegalTransition
from workflow.models import Case, CaseLink, CaseNote
from workflow.vocabulary import REFERENCE_PREFIX, ComplaintStatus, Kind, LinkRelation, RequestStatus

# Service requests, enquiries, compliments and feedback share one small lifecycle: a done one is
# opened again when the resident says it is not done.
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.OPEN: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.DONE}),
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.DONE}),
    RequestStatus.DONE: frozenset({RequestStatus.OPEN}),
}
REQUEST_EVENTS = {"start": RequestStatus.IN_PROGRESS, "finish": RequestStatus.DONE, "reopen": RequestStatus.OPEN}


def open_case(
    session: Session,
    kind: Kind | str,
    at: dt.datetime,
    actor: str,
    *,
    resident_id: int | None = None,
    channel: str | None = None,
    theme: str | None = None,
    team: str | None = None,
    representative: str | None = None,
    language: str | None = None,
) -> Case:
    kind = Kind(kind)
    case = Case(
        reference=references.allocate(session, REFERENCE_PREFIX[kind], london_date(at).year),
        kind=kind.value,
        status=ComplaintStatus.RECEIVED.value if kind == Kind.COMPLAINT else RequestStatus.OPEN.value,
        resident_id=resident_id,
        channel=channel,
        theme=theme,
        team=team,
        representative=representative,
        language=language,
        opened_at=at,
    )
    session.add(case)
    session.flush()
    audit.record(session, "case_opened", actor, at, case=case, kind=kind.value, reference=case.reference)
    return case


def request_events(case: Case) -> list[str]:
    """What can be done to a service request, enquiry, compliment or feedback now: start, finish, reopen."""
    if case.kind == Kind.COMPLAINT or case.purged_at is not None:
        return []
    nexts = REQUEST_TRANSITIONS[RequestStatus(case.status)]
    return [event for event, status in REQUEST_EVENTS.items() if status in nexts]


def set_request_status(session: Session, case: Case, status: RequestStatus | str, at: dt.datetime, actor: str) -> None:
    """Move a non-complaint case on; reopening a done one clears its end date (it is being worked again)."""
    if case.kind == Kind.COMPLAINT:
        raise DomainError(f"{case.reference} is a complaint; use the complaint lifecycle")
    status = RequestStatus(status)
    current = RequestStatus(case.status)
    if status not in REQUEST_TRANSITIONS[current]:
        allowed = ", ".join(s.value.replace("_", " ") for s in sorted(REQUEST_TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(f"cannot move {case.reference} from {current.value.replace('_', ' ')} to "
                                f"{status.value.replace('_', ' ')}; allowed now: {allowed}")
    case.status = status.value
    case.ended_on = london_date(at) if status == RequestStatus.DONE else None
    audit.record(session, "status_changed", actor, at, case=case, previous=current.value, status=status.value)


def add_note(session: Session, case: Case, author: str, text: str, at: dt.datetime) -> CaseNote:
    """A private note: kept in the record and shown to staff, never sent to anyone."""
    words = text.strip()
    if not words:
        raise DomainError("a note needs some words")
    note = CaseNote(case_id=case.id, at=at, author=author, text=words)
    session.add(note)
    session.flush()
    audit.record(session, "note_added", author, at, case=case, note_id=note.id)  # the words stay in the note
    return note


def notes_of(session: Session, case: Case) -> list[CaseNote]:
    return list(session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.at,
                                                                                             CaseNote.id)))


def link(session: Session, source: Case, other: Case, relation: LinkRelation, at: dt.datetime, actor: str) -> CaseLink:
    """Record that a complaint is about a service request (1.5) or that two issues are related (6.8).

    Linking never changes either case's status: the request goes on being handled.
    """
    relation = LinkRelation(relation)
    if source.id == other.id:
        raise DomainError("a case cannot be linked to itself")
    if relation == LinkRelation.COMPLAINT_ABOUT_REQUEST and (
        source.kind != Kind.COMPLAINT or other.kind != Kind.SERVICE_REQUEST
    ):
        raise DomainError("a complaint-about-request link goes from a complaint to a service request")
    session.flush()
    row = CaseLink(from_case_id=source.id, to_case_id=other.id, relation=relation.value, created_at=at)
    session.add(row)
    audit.record(session, "linked", actor, at, case=source, relation=relation.value, other=other.reference)
    return row


def raise_complaint_about_request(session: Session, request: Case, at: dt.datetime, actor: str) -> Case:
    """Code 1.5: dissatisfaction with a service request opens a linked complaint; both records stay."""
    if request.kind != Kind.SERVICE_REQUEST:
        raise DomainError(f"{request.reference} is not a service request")
    complaint = open_case(
        session,
        Kind.COMPLAINT,
        at,
        actor,
        resident_id=request.resident_id,
        channel=request.channel,
        theme=request.theme,
        team=request.team,
        representative=request.representative,
    )
    link(session, complaint, request, LinkRelation.COMPLAINT_ABOUT_REQUEST, at, actor)
    return complaint


def complaints_about(session: Session, request: Case) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .join(CaseLink, CaseLink.from_case_id == Case.id)
            .where(CaseLink.to_case_id == request.id, CaseLink.relation == LinkRelation.COMPLAINT_ABOUT_REQUEST.value)
            .order_by(Case.id)
        )
    )


def by_reference(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference.upper()))
