"""Case references such as CMP-2026-00042: sequential per kind and year, never reused.

Residents quote these in replies and on the phone, so they are short, typed by hand, and
allocated with one atomic UPDATE ... RETURNING so two processes sharing PostgreSQL can never
hand out the same number.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.models import ReferenceCounter
from workflow.vocabulary import REFERENCE_PREFIX

REFERENCE_PATTERN = re.compile(r"\b(" + "|".join(sorted(REFERENCE_PREFIX.values())) + r")-(\d{4})-(\d{5,})\b", re.I)


def allocate(session: Session, prefix: str, year: int) -> str:
    """The next number; the year's counter row is created by its first case, so one statement after that."""
    bump = (update(ReferenceCounter)
            .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
            .values(last_number=ReferenceCounter.last_number + 1)
            .returning(ReferenceCounter.last_number))
    number = session.execute(bump).scalar_one_or_none()
    if number is None:  # another process may create the row first; either way the UPDATE then finds it
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(ReferenceCounter).values(prefix=prefix, year=year, last_number=0)
                        .on_conflict_do_nothing(index_elements=["prefix", "year"]))
        number = session.execute(bump).scalar_one()
    return f"{prefix}-{year}-{number:05d}"


def find_references(text: str) -> list[str]:
    """References quoted in a subject or body, normalised to upper case, in order of appearance."""
    return [f"{m.group(1).upper()}-{m.group(2)}-{m.group(3)}" for m in REFERENCE_PATTERN.finditer(text)]
