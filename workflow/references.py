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

READ_CHARS = 100_000  # of a message searched for references: about forty pages
MAX_QUOTED = 20  # distinct references looked up for one message
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
    """References quoted in a subject or body, normalised to upper case, each once, in order of appearance.

    Read from the first READ_CHARS characters, at most MAX_QUOTED of them: each is looked up in
    the database, and a 25 MB letter of references must cost no more than a letter quoting a few.
    """
    found: dict[str, None] = {}
    for match in REFERENCE_PATTERN.finditer(text, 0, READ_CHARS):
        found[f"{match.group(1).upper()}-{match.group(2)}-{match.group(3)}"] = None
        if len(found) == MAX_QUOTED:
            break
    return list(found)
