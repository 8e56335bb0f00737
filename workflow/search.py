"""Finding a case the way an advisor on the phone does: by its reference, the resident's address
or chat, or words from a message."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.models import Case, ContactPoint, Message
from workflow.references import find_references


def find_cases(session: Session, query: str, limit: int = 50) -> list[Case]:
    """Newest first; a reference finds its case exactly, anything else is matched as text."""
    query = " ".join(query.split())[:200]
    references = find_references(query)
    if references:
        return list(session.scalars(select(Case).where(Case.reference.in_(references))))
    escaped = query.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    pattern = f"%{escaped}%"
    by_address = select(ContactPoint.resident_id).where(ContactPoint.address.ilike(pattern, escape="!"))
    by_text = select(Message.case_id).where(Message.case_id.is_not(None),
                                            or_(Message.body_text.ilike(pattern, escape="!"),
                                                Message.subject.ilike(pattern, escape="!"),
                                                Message.sender.ilike(pattern, escape="!")))
    return list(session.scalars(select(Case).where(or_(Case.resident_id.in_(by_address), Case.id.in_(by_text)))
                                .order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit)))
