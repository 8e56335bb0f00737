"""Appending to the audit trail (Code 5.12). Details hold references and labels, never message text."""

from __future__ import annotations

import datetime as dt
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

    Written as plain SQL at once, not through the ORM: every message the bot handles records two
    or three events, and nothing reads them back in the same transaction.
    """
    if case is not None and case.id is None:
        session.flush()
    session.connection().execute(_APPEND, {
        "at": at, "actor": actor, "action": action, "case_id": case.id if case is not None else None,
        "resident_id": resident_id if resident_id is not None else (case.resident_id if case is not None else None),
        "message_id": message_id, "detail": {k: _jsonable(v) for k, v in detail.items()}})


_APPEND = insert(AuditEvent)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
