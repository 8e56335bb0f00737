"""The block or street a case is about, so repeat complaints from one place can be seen (Code 9.2).

Residents write from email addresses and chats, not from homes, so the product did not know that
three complaints about a lift came from one block. A handler records the block (the building or
street, never the flat number: "Elm Court", not "Flat 3, Elm Court"), and workflow/patterns.py
counts complaints by it. Names are compared without case or repeated spaces.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, CaseBlock

# "Flat 3, Elm Court", "3 Elm Court", "Flat 3A Elm Court": the home's own number is dropped.
_FLAT = re.compile(r"^\s*(?:(?:flat|apartment|apt|unit|room|no\.?)\s*)?\d+[a-z]?\s*[,/-]?\s*", re.IGNORECASE)


def block_name(text: str) -> str:
    """The block as it is stored: without a leading flat number, spaces collapsed, as typed otherwise."""
    words = " ".join(_FLAT.sub("", text.strip(), count=1).split()).strip(" ,")
    if not words:
        raise DomainError("name the block or street (without the flat number)")
    return words[:200]


def record_block(session: Session, case: Case, block: str, actor: str, at: dt.datetime) -> CaseBlock:
    name = block_name(block)
    row = session.get(CaseBlock, case.id)
    previous = row.block if row is not None else None
    if row is None:
        row = CaseBlock(case_id=case.id, block=name, recorded_by=actor, recorded_at=at)
        session.add(row)
    else:
        row.block, row.recorded_by, row.recorded_at = name, actor, at
    session.flush()
    if previous != name:
        audit.record(session, "block_recorded", actor, at, case=case, changed=previous is not None)
    return row


def block_of(session: Session, case: Case) -> str | None:
    return session.scalar(select(CaseBlock.block).where(CaseBlock.case_id == case.id))


def same_block(name: str) -> str:
    """The key two names of one block share: "Elm  court" and "ELM COURT" are one block."""
    return " ".join(name.split()).casefold()
