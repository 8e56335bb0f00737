"""Case references such as CMP-2026-00042: sequential per kind and year, never reused.

Residents quote these in replies and on the phone, so they are short, typed by hand, and
allocated with one atomic UPDATE ... RETURNING so two processes sharing PostgreSQL can never
hand out the same number.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from workflow.db import conflict_insert
from workflow.models import ReferenceCounter
from workflow.vocabulary import REFERENCE_PREFIX

REFERENCE_PATTERN = re.compile(r"\b(" + "|".join(sorted(REFERENCE_PREFIX.values())) + r")-(\d{4})-(\d{5,})\b", re.I)


def allocate(session: Session, prefix: str, year: int) -> str:
    """The next number; the year's counter row is created by its first case, so one statement after that.

    Run on the session's connection, as plain SQL: through the ORM the same UPDATE costs five times
    as much, because it first looks for counters loaded in the session to bring up to date.
    """
    connection = session.connection()
    number = connection.execute(_BUMP, {"counter_prefix": prefix, "counter_year": year}).scalar_one_or_none()
    if number is None:  # another process may create the row first; either way the UPDATE then finds it
        connection.execute(conflict_insert(session, ReferenceCounter).values(prefix=prefix, year=year, last_number=0)
                           .on_conflict_do_nothing(index_elements=["prefix", "year"]))
        number = connection.execute(_BUMP, {"counter_prefix": prefix, "counter_year": year}).scalar_one()
    return f"{prefix}-{year}-{number:05d}"


_BUMP = (update(ReferenceCounter)
         .where(ReferenceCounter.prefix == bindparam("counter_prefix"),
                ReferenceCounter.year == bindparam("counter_year"))
         .values(last_number=ReferenceCounter.last_number + 1)
         .returning(ReferenceCounter.last_number))


def find_references(text: str) -> list[str]:
    """References quoted in a subject or body, normalised to upper case, in order of appearance."""
    return [f"{m.group(1).upper()}-{m.group(2)}-{m.group(3)}" for m in REFERENCE_PATTERN.finditer(text)]
