"""Appending to the audit trail (Code 5.12). Details hold references and labels, never message text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.models import AuditEvent, Case


def record(
    session: Session,
    action: str,
    actor: str,
    at: dt.datetime,
    *,
    case: Case | None = None,
    resident_id: int | None = None,
    message_id: int | None = None,
    **detail: Any,
) -> None:
    """Append an event in the session's transaction; it is committed with the change it describes.

    Written as plain SQL, not through the ORM: every message the bot handles records two or three
    events, and nothing reads them back in the same transaction. Inside `gathered` the row is
    kept and written with the others at its end.
    """
    if case is not None and case.id is None:
        session.flush()
    row = {"at": at, "actor": actor, "action": action, "case_id": case.id if case is not None else None,
           "resident_id": resident_id if resident_id is not None else (case.resident_id if case is not None else None),
           "message_id": message_id, "detail": {k: _jsonable(v) for k, v in detail.items()}}
    kept = session.info.get(_GATHERED)
    if kept is not None:
        kept.append(row)
    else:
        session.connection().execute(_APPEND, row)


@contextmanager
def gathered(session: Session) -> Iterator[None]:
    """Write the events recorded inside in one statement when the block ends; if it raises, none.

    For work that records many events and reads none back before it commits: the bot's batch of
    messages, the outbox's record of a pass. A statement for each event cost the bot about a
    tenth of its time. Not for blocks with savepoints: the events would outlive a rolled-back one.
    """
    rows: list[dict[str, Any]] = []
    session.info[_GATHERED] = rows
    try:
        yield
    finally:
        session.info.pop(_GATHERED, None)
    if rows:
        session.connection().execute(_APPEND, rows)


_GATHERED = "audit events gathered"
_APPEND = insert(AuditEvent)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
