"""The advisors' queue: what to look at first (Code 6.1: vulnerability and risk when triaging).

Open hazards come first, most urgent clock first, and stay there until someone records what was
done; then cases of residents flagged as vulnerable; then by the nearest Code deadline; then the
oldest. A case leaves the queue when it has ended. The order is computed by the database, so the
page costs the same with ten cases or ten thousand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session, selectinload

from workflow.calendar import london_midnight
from workflow.models import Case, ComplaintStage, Review
from workflow.vocabulary import ComplaintStatus, Kind, RequestStatus, Theme, row_id


@dataclass(frozen=True)
class QueueEntry:
    case: Case
    hazard_open: bool
    vulnerable: bool
    next_deadline: dt.date | None


def _next_deadline(entry: Case) -> dt.date | None:
    stage = entry.stage_record(entry.stage)
    if stage is None or entry.ended_on is not None:
        return None
    if stage.acknowledged_on is None:
        return stage.acknowledgement_due
    if stage.responded_on is None:
        return stage.response_due
    return None


VIEWS = ("all", "mine", "team", "unassigned")
SORTS = ("risk", "deadline", "oldest", "newest")  # risk is the default: hazards, vulnerable, deadline, oldest
AWAITING = ("advisor", "resident")  # no review of the suggestion yet; the bot waits on the resident's answer


@dataclass(frozen=True)
class QueueFilter:
    """What an advisor narrows the queue to; empty fields do not narrow it."""

    kind: str = ""
    theme: str = ""
    team: str = ""
    channel: str = ""
    owner: str = ""  # a user's id, or "none"
    status: str = ""
    hazard: bool = False
    vulnerable: bool = False
    since: dt.date | None = None  # opened on or after, London days
    until: dt.date | None = None  # opened on or before
    awaiting: str = ""

    def __post_init__(self) -> None:
        if self.kind and self.kind not in {k.value for k in Kind}:
            raise ValueError(f"there is no kind {self.kind!r}")
        if self.theme and self.theme not in {t.value for t in Theme}:
            raise ValueError(f"there is no theme {self.theme!r}")
        if self.status and self.status not in STATUSES:
            raise ValueError(f"there is no status {self.status!r}")
        if self.owner and not (self.owner == "none" or row_id(self.owner) is not None):
            raise ValueError("choose an owner from the list")
        if self.awaiting and self.awaiting not in AWAITING:
            raise ValueError(f"awaiting is one of {', '.join(AWAITING)}")
        if self.since and self.until and self.until < self.since:
            raise ValueError("the period ends before it starts")

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        for column, value in ((Case.kind, self.kind), (Case.theme, self.theme), (Case.team, self.team),
                              (Case.channel, self.channel), (Case.status, self.status)):
            if value:
                found.append(column == value)
        if self.owner:
            found.append(Case.owner_id.is_(None) if self.owner == "none" else Case.owner_id == int(self.owner))
        if self.hazard:
            found.append(_HAZARD_OPEN)
        if self.vulnerable:
            found.append(Case.vulnerable.is_(True))
        if self.since:
            found.append(Case.opened_at >= london_midnight(self.since))
        if self.until:
            found.append(Case.opened_at < london_midnight(self.until + dt.timedelta(days=1)))
        if self.awaiting == "advisor":
            found.append(~exists().where(Review.case_id == Case.id))
        elif self.awaiting == "resident":
            found.append(Case.awaiting.is_not(None))
        return found


STATUSES = tuple(dict.fromkeys([*(s.value for s in ComplaintStatus), *(s.value for s in RequestStatus)]))
_HAZARD_OPEN = and_(Case.hazard_due_at.is_not(None), Case.hazard_made_safe_at.is_(None))


def _views(user_id: int | None, team: str | None) -> dict[str, ColumnElement[bool] | None]:
    return {"all": None, "mine": Case.owner_id == user_id, "team": Case.team == team,
            "unassigned": Case.owner_id.is_(None)}


def _where(view: str, user_id: int | None, team: str | None, filters: QueueFilter) -> list[ColumnElement[bool]]:
    views = _views(user_id, team)
    if view not in views:
        raise ValueError(f"no queue view {view!r}: one of {', '.join(VIEWS)}")
    chosen = views[view]
    return [Case.ended_on.is_(None), Case.status != "done", *([chosen] if chosen is not None else []),
            *filters.conditions()]


def triage_queue(session: Session, limit: int = 200, *, view: str = "all", user_id: int | None = None,
                 team: str | None = None, filters: QueueFilter = QueueFilter(), sort: str = "risk",
                 offset: int = 0) -> list[QueueEntry]:
    """The open cases in the order to work them; view "mine" (owned by user_id), "team" (of team),
    "unassigned" (no owner) or "all", narrowed by the filters.

    The database orders ids only, with each case's nearest deadline joined once, then the page's
    hundred cases are loaded: ordering whole rows through a correlated subquery took 100 ms
    with 100,000 open cases on SQLite (bench/console.py)."""
    due = (select(ComplaintStage.case_id, func.min(case(
        (ComplaintStage.acknowledged_on.is_(None), ComplaintStage.acknowledgement_due),
        (ComplaintStage.responded_on.is_(None), ComplaintStage.response_due),
        else_=None)).label("due"))
        .group_by(ComplaintStage.case_id).subquery())
    deadline = due.c.due
    orders = {
        "risk": (case((_HAZARD_OPEN, 0), else_=1), case((_HAZARD_OPEN, Case.hazard_due_at), else_=None).asc(),
                 Case.vulnerable.desc(), case((deadline.is_(None), 1), else_=0), deadline, Case.opened_at, Case.id),
        "deadline": (case((deadline.is_(None), 1), else_=0), deadline, Case.opened_at, Case.id),
        "oldest": (Case.opened_at, Case.id),
        "newest": (Case.opened_at.desc(), Case.id.desc()),
    }
    if sort not in orders:
        raise ValueError(f"sort is one of {', '.join(SORTS)}")
    ids = list(session.scalars(select(Case.id).outerjoin(due, due.c.case_id == Case.id)
                               .where(*_where(view, user_id, team, filters))
                               .order_by(*orders[sort]).limit(limit).offset(offset)))
    found = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)).options(selectinload(Case.stages)))}
    return [QueueEntry(c, c.hazard_due_at is not None and c.hazard_made_safe_at is None, c.vulnerable,
                       _next_deadline(c)) for c in (found[i] for i in ids)]


def counts(session: Session, *, user_id: int | None, team: str | None,
           filters: QueueFilter = QueueFilter()) -> dict[str, int]:
    """How many cases each view holds with these filters, for the view tabs and the pages: one pass."""
    views = _views(user_id, team)
    columns = [func.count() if views[v] is None else func.coalesce(func.sum(case((views[v], 1), else_=0)), 0)
               for v in VIEWS]
    row = session.execute(select(*columns).select_from(Case).where(*_where("all", user_id, team, filters))).one()
    return {view: int(value or 0) for view, value in zip(VIEWS, row, strict=True)}
