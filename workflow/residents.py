"""Who wrote: a resident found by the address they wrote from, and what is on record about them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import audit
from workflow.models import ContactPoint, ContactRestriction, Resident


def normalise_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively in practice; chat ids are kept as they are."""
    address = address.strip()
    return address.lower() if channel == "email" else address


def resident_for(session: Session, channel: str, address: str, at: dt.datetime,
                 display_name: str | None = None) -> Resident:
    """The resident behind a contact point, created on first contact."""
    address = normalise_address(channel, address)
    query = select(Resident).join(ContactPoint).where(ContactPoint.channel == channel, ContactPoint.address == address)
    existing = session.scalar(query)
    if existing is not None:
        return existing
    resident = Resident(display_name=display_name, created_at=at)
    try:
        with session.begin_nested():
            session.add(resident)
            session.flush()
            session.add(ContactPoint(resident_id=resident.id, channel=channel, address=address))
            session.flush()
    except IntegrityError:  # another process saw the same address first
        found = session.scalar(query)
        if found is None:
            raise
        return found
    audit.record(session, "resident_created", f"channel:{channel}", at, resident_id=resident.id)
    return resident


def active_restriction(session: Session, resident: Resident, on: dt.date) -> ContactRestriction | None:
    """The restriction in force on a date (5.14): started, not ended."""
    return session.scalar(
        select(ContactRestriction)
        .where(ContactRestriction.resident_id == resident.id, ContactRestriction.starts_on <= on,
               ContactRestriction.ended_at.is_(None))
        .order_by(ContactRestriction.id.desc())
    )


def contact_points(session: Session, resident_id: int) -> list[ContactPoint]:
    return list(session.scalars(select(ContactPoint).where(ContactPoint.resident_id == resident_id)
                                .order_by(ContactPoint.id)))
