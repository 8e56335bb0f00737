"""Appending to the audit trail (Code 5.12). Details hold references and labels, never message text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from workflow.models import AuditEvent, Case, Message


def record(
    session: Session,
    action: str,
    actor: str,
    at: dt.datetime,
    *,
    case: Case | None = None,
    resident_id: int | None = None,
    message_id: int | None = None,
    message: Message | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an event to the session; the caller commits. A message not yet inserted is named by the object
    (message=), so recording it costs no flush."""
    if case is not None and case.id is None:
        session.flush()
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        case_id=case.id if case is not None else None,
        resident_id=resident_id if resident_id is not None else (case.resident_id if case is not None else None),
        message_id=message_id,
        detail={k: _jsonable(v) for k, v in detail.items()},
    )
    if message is not None:
        event.message = message
    session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
