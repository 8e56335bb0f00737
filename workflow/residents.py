"""Who wrote: a resident found by the address they wrote from, and what is on record about them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.db import conflict_insert
from workflow.models import ContactPoint, ContactRestriction, Resident


def normalise_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively in practice; chat ids are kept as they are."""
    address = address.strip()
    return address.lower() if channel == "email" else address


_RESIDENT_AT = (select(ContactPoint.resident_id)
                .where(ContactPoint.channel == bindparam("channel"), ContactPoint.address == bindparam("address")))
_NEW_RESIDENT = insert(Resident).returning(Resident.id)


def resident_for(session: Session, channel: str, address: str, at: dt.datetime,
                 display_name: str | None = None) -> int:
    """The id of the resident behind a contact point, created on first contact.

    Written with two plain INSERTs, not through the ORM's unit of work: this runs for every
    message, and the ORM's flushes inside a savepoint cost six times as much. When another process
    creates the same address first, the contact point's unique key turns this INSERT into nothing,
    the resident row just made is removed, and theirs is used.
    """
    address = normalise_address(channel, address)
    connection = session.connection()
    existing = connection.execute(_RESIDENT_AT, {"channel": channel, "address": address}).scalar()
    if existing is not None:
        return existing
    resident_id = connection.execute(_NEW_RESIDENT, {"display_name": display_name, "created_at": at}).scalar_one()
    created = connection.execute(
        conflict_insert(session, ContactPoint).values(resident_id=resident_id, channel=channel, address=address)
        .on_conflict_do_nothing(index_elements=["channel", "address"]).returning(ContactPoint.id)).scalar()
    if created is None:  # another process saw the same address first
        connection.execute(delete(Resident).where(Resident.id == resident_id))
        return connection.execute(_RESIDENT_AT, {"channel": channel, "address": address}).scalar_one()
    audit.record(session, "resident_created", f"channel:{channel}", at, resident_id=resident_id)
    return resident_id


def active_restriction(session: Session, resident_id: int, on: dt.date) -> ContactRestriction | None:
    """The restriction in force on a date (5.14): started, not ended. Asked for every message and
    nearly always none, so the question is plain SQL and only a restriction found is loaded."""
    found = session.connection().execute(_RESTRICTION_IN_FORCE, {"resident": resident_id, "on": on}).scalar()
    return session.get(ContactRestriction, found) if found is not None else None


_RESTRICTION_IN_FORCE = (select(ContactRestriction.id)
                         .where(ContactRestriction.resident_id == bindparam("resident"),
                                ContactRestriction.starts_on <= bindparam("on"), ContactRestriction.ended_at.is_(None))
                         .order_by(ContactRestriction.id.desc()).limit(1))


def contact_points(session: Session, resident_id: int) -> list[ContactPoint]:
    return list(session.scalars(select(ContactPoint).where(ContactPoint.resident_id == resident_id)
                                .order_by(ContactPoint.id)))
