"""The advisor's lists: the queue with its filters, saved views and ticked-row actions, the search,
and the messages the bot could not handle (attention)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import attention, presence, saved_views, undelivered
from workflow.console.auth import say
from workflow.console.bulk import assign_many, confirm_many
from workflow.console.page import HEADERS, Advisor, AdvisorForm, Page, Posted, a_date
from workflow.correspondence import channels as resident_channels
from workflow.errors import DomainError
from workflow.models import Classification, Message, Review, User
from workflow.queue import SORTS as QUEUE_SORTS
from workflow.queue import STATUSES as QUEUE_STATUSES
from workflow.queue import VIEWS as QUEUE_VIEWS
from workflow.queue import QueueFilter, triage_queue
from workflow.queue import counts as queue_counts
from workflow.search import find_cases
from workflow.users import active_users
from workflow.vocabulary import row_id

QUEUE_PAGE = 100  # a page of the queue; an advisor works from the top, and the page stays quick at any size
QUEUE_FILTERS = ("kind", "theme", "team", "channel", "owner", "status", "hazard", "vulnerable", "from", "to",
                 "awaiting")

router = APIRouter()


def queue_filter(chosen: Mapping[str, str]) -> QueueFilter:
    """The queue's filters from its query string; ValueError, with the reason, for a bad one."""
    return QueueFilter(kind=chosen.get("kind", ""), theme=chosen.get("theme", ""), team=chosen.get("team", ""),
                       channel=chosen.get("channel", ""), owner=chosen.get("owner", ""),
                       status=chosen.get("status", ""), hazard=bool(chosen.get("hazard")),
                       vulnerable=bool(chosen.get("vulnerable")),
                       since=a_date(chosen["from"]) if chosen.get("from") else None,
                       until=a_date(chosen["to"]) if chosen.get("to") else None, awaiting=chosen.get("awaiting", ""))


def _saved_count(session: Session, user: User, query: str) -> int | None:
    """How many cases a saved view holds now; None when its filters no longer hold (a team renamed)."""
    chosen = dict(parse_qsl(query))
    try:
        return queue_counts(session, user_id=user.id, team=user.team,
                            filters=queue_filter(chosen)).get(chosen.get("view", "all"))
    except ValueError:
        return None


def _query(view: str, chosen: Mapping[str, str], sort: str) -> str:
    return urlencode(({"view": view} if view else {}) | {k: v for k, v in chosen.items() if v}
                     | ({"sort": sort} if sort != "risk" else {}))


@router.get("/")
def queue(page: Advisor, request: Request, view: str = "all", sort: str = "risk",
          number: Annotated[str, Query(alias="page")] = "1") -> Response:
    """The queue, narrowed by the filters in the query string (a plain GET form) and paged."""
    chosen = {name: request.query_params.get(name, "").strip() for name in QUEUE_FILTERS}
    session, user, calendar = page.db, page.user, page.console.calendar
    choices = {"teams": page.console.teams(), "channels": resident_channels(),  # not a scan of every case
               "users": active_users(session),
               "statuses": QUEUE_STATUSES, "sorts": QUEUE_SORTS}
    values = dict(now=page.now(), view=view, views=QUEUE_VIEWS, seen=presence.queue_version(session),
                  attention=attention.count_waiting(session), undelivered=undelivered.count_undelivered(session),
                  chosen=chosen, sort=sort, keep=_query("", chosen, sort),
                  saved=[(v, _saved_count(session, user, v.query)) for v in saved_views.listed(session, user)],
                  query=_query(view, chosen, sort), **choices)
    try:
        filters = queue_filter(chosen)
        held = queue_counts(session, user_id=user.id, team=user.team, filters=filters)
        shown, pages = row_id(number) or 0, max(1, -(-held.get(view, 0) // QUEUE_PAGE))
        if view not in QUEUE_VIEWS or not 1 <= shown <= pages:
            raise ValueError("there is no such view or page")
        entries = triage_queue(session, limit=QUEUE_PAGE, view=view, user_id=user.id, team=user.team,
                               filters=filters, sort=sort, offset=(shown - 1) * QUEUE_PAGE)
    except ValueError as error:
        return page.render("queue.html", 400, rows=[], owners={}, counts={}, pages=0, page=1,
                           error=f"Those filters cannot be used: {error}. Dates are written like 2026-11-23.",
                           **values)
    ids = [e.case.id for e in entries]
    suggestions = {c.case_id: c for c in session.scalars(
        select(Classification).where(Classification.case_id.in_(ids)).order_by(Classification.id))}
    excerpts: dict[int, str] = {}
    for case_id, body in session.execute(
            select(Message.case_id, Message.body_text).where(Message.case_id.in_(ids), Message.direction == "inbound")
            .order_by(Message.received_at, Message.id)):
        excerpts.setdefault(case_id, " ".join(body[:400].split())[:160])
    reviewed = set(session.scalars(select(Review.case_id).where(Review.case_id.in_(ids))))
    today = page.console.today()
    rows = [{"entry": e, "suggestion": suggestions.get(e.case.id), "excerpt": excerpts.get(e.case.id, ""),
             "reviewed": e.case.id in reviewed,
             "days_left": calendar.between(today, e.next_deadline) if e.next_deadline else None}
            for e in entries]
    owners = {u.id: u.username for u in session.scalars(
        select(User).where(User.id.in_({e.case.owner_id for e in entries if e.case.owner_id})))}
    return page.render("queue.html", rows=rows, owners=owners, counts=held, page=shown, error=None, pages=pages,
                       **values)


@router.post("/views")
def view_save(page: AdvisorForm, name: Annotated[str, Form()] = "", query: Annotated[str, Form()] = "") -> Response:
    """Keep the queue as it is shown (filters, order, view) under the advisor's own name."""
    try:
        row = saved_views.save(page.db, page.user, name, query, {"view", "sort", *QUEUE_FILTERS}, page.now())
    except DomainError as error:
        page.db.rollback()
        say(page.signed, f"Nothing was saved: {error}.")
        page.db.commit()
        return RedirectResponse("/console/" + (f"?{query}" if query else ""), status_code=303)
    say(page.signed, f"Saved the view {row.name}. It is listed above the filters with its count.")
    page.db.commit()
    return RedirectResponse("/console/" + (f"?{row.query}" if row.query else ""), status_code=303)


@router.post("/views/{view_id}/remove")
def view_remove(page: AdvisorForm, view_id: int) -> Response:
    try:
        say(page.signed, f"Removed the view {saved_views.remove(page.db, page.user, view_id, page.now())}.")
    except DomainError as error:
        page.db.rollback()
        say(page.signed, f"Nothing was removed: {error}.")
    page.db.commit()
    return RedirectResponse("/console/", status_code=303)


@router.post("/bulk")
def bulk(page: AdvisorForm, form: Posted) -> Response:
    """Confirm or assign the ticked queue rows, each alone (workflow/console/bulk.py)."""
    picks = [str(v) for v in form.getlist("cases")]
    do, chosen, back = str(form.get("do", "")), str(form.get("owner", "")), str(form.get("back", ""))
    session, console = page.db, page.console
    try:
        if not picks:
            raise DomainError("tick the rows first")
        if do == "confirm":
            told = confirm_many(session, console.calendar, console.letters, console.team_for, page.user, picks,
                                page.now()).summary("Confirmed")
        elif do == "assign":
            known = row_id(chosen)
            owner = session.get(User, known) if known is not None else None
            if chosen and (owner is None or not owner.active):
                raise DomainError("there is no such user")
            told = assign_many(session, page.user, picks, owner, page.now()).summary(
                f"Given to {owner.username}" if owner else "Unassigned")
        else:
            raise DomainError("choose Confirm or Assign")
    except DomainError as error:
        session.rollback()
        told = f"Nothing was changed: {error}."
    say(page.signed, told)
    session.commit()
    again = urlencode([(k, v) for k, v in parse_qsl(back) if k in {"view", "page", "sort", *QUEUE_FILTERS}])
    return RedirectResponse("/console/" + (f"?{again}" if again else ""), status_code=303)


@router.get("/live")
def queue_live(page: Advisor, seen: str = "") -> Response:
    """For live.js on the queue: new messages and cases others changed since the page was drawn."""
    return JSONResponse(presence.queue_news(page.db, seen, page.user), headers=HEADERS)


@router.get("/search")
def search(page: Advisor, q: str = "") -> Response:
    return page.render("search.html", q=q, found=find_cases(page.db, q) if q.strip() else [])


@router.get("/attention")
def attention_page(page: Advisor) -> Response:
    """Messages the bot could not handle, and letters and texts that could not be delivered."""
    return page.render("attention.html", messages=attention.waiting(page.db), total=attention.count_waiting(page.db),
                       deliveries=undelivered.undelivered(page.db),
                       undelivered=undelivered.count_undelivered(page.db))


Step = Callable[[Session, int, str, dt.datetime], None]  # (database, row, who, when): workflow does the step
ATTENTION_STEPS: dict[str, tuple[Step, str]] = {"retry": (attention.retry, ""), "set-aside": (attention.set_aside, "")}
DELIVERY_STEPS: dict[str, tuple[Step, str]] = {
    "send-again": (undelivered.send_again, "It is back in the outbox and will be sent again."),
    "set-aside": (undelivered.set_aside, "Recorded as reached another way.")}


def _attend(page: Page, steps: Mapping[str, tuple[Step, str]], row: int, step: str) -> Response:
    """One of the attention page's buttons: the step done and audited by workflow, or why not."""
    if step not in steps:
        return page.error(404, "There is no such step.")
    does, told = steps[step]
    try:
        does(page.db, row, page.user.username, page.now())
    except DomainError as error:
        return page.error(409, f"Nothing was changed: {error}.")
    if told:
        say(page.signed, told)
    page.db.commit()
    return RedirectResponse("/console/attention", status_code=303)


@router.post("/attention/{message_id}/{step}")
def attention_step(page: AdvisorForm, message_id: int, step: str) -> Response:
    done = _attend(page, ATTENTION_STEPS, message_id, step)
    if step == "retry" and done.status_code == 303:
        page.console.wake()  # committed: a worker in this process picks it up now
    return done


@router.post("/attention/deliveries/{item_id}/{step}")
def delivery_step(page: AdvisorForm, item_id: int, step: str) -> Response:
    return _attend(page, DELIVERY_STEPS, item_id, step)
