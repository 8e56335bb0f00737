"""An advisor's own queues: the filters, order and view they keep coming back to, under a name.

A saved view is a query string of the queue's own keys and nothing else, so opening it is the
same as typing those filters: the queue checks them, and a saved view whose team has since gone
is explained there like any other filter. Each advisor keeps at most MOST of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.errors import DomainError
from workflow.models import SavedView, User

LONGEST_NAME = 60
MOST = 10


def listed(session: Session, user: User) -> list[SavedView]:
    return list(session.scalars(select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.name)))


def save(session: Session, user: User, name: str, query: str, keys: Collection[str], at: dt.datetime) -> SavedView:
    """Keep the queue's current query under a name of the advisor's; the same name again replaces it."""
    name = " ".join(name.split())
    if not name or len(name) > LONGEST_NAME:
        raise DomainError(f"give the view a name of at most {LONGEST_NAME} characters")
    kept = urlencode([(k, v) for k, v in parse_qsl(query) if k in keys and v])
    row = session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if row is None:
        held = session.scalar(select(func.count()).select_from(SavedView).where(SavedView.user_id == user.id)) or 0
        if held >= MOST:
            raise DomainError(f"you have {MOST} saved views already: remove one first")
        row = SavedView(user_id=user.id, name=name, query=kept, created_at=at)
        session.add(row)
    else:
        row.query = kept
    session.flush()
    audit.record(session, "saved_view_saved", user.username, at, saved_view_id=row.id)
    return row


def remove(session: Session, user: User, view_id: int, at: dt.datetime) -> str:
    """Remove one of the advisor's own views (another's is not theirs to remove); returns its name."""
    row = session.get(SavedView, view_id)
    if row is None or row.user_id != user.id:
        raise DomainError("there is no such saved view")
    session.delete(row)
    audit.record(session, "saved_view_removed", user.username, at, saved_view_id=view_id)
    return row.name
