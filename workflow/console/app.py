"""The advisor and supervisor console: server-rendered pages whose every action is a plain form.

Every page checks the user's role before it reads anything; every POST checks the session's
CSRF token; every value shown goes through Jinja2's autoescaping, so a resident's `<script>` is
shown as text. Anonymous visitors are sent to the sign-in page.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow import (attention, audit, blocks, cases, improvements, learning, ownership, presence, records,
                      saved_replies, saved_views)
from workflow.calendar import WorkingCalendar, london_date, london_midnight
from workflow.console.actions import allowed, perform, tell_about_change
from workflow.console.bulk import assign_many, confirm_many
from workflow.console.learning_pages import add_learning_pages, this_year
from workflow.console import signin
from workflow.console.auth import IDLE, csrf_ok, end_session, may, said, say, signed_in, start_session
from workflow.correspondence import channels as resident_channels, residents_words
from workflow.errors import DomainError
from workflow.letters import Letters
from workflow.models import Case, Classification, ConsoleSession, Message, Review, User
from workflow.queue import SORTS as QUEUE_SORTS
from workflow.queue import STATUSES as QUEUE_STATUSES
from workflow.queue import VIEWS as QUEUE_VIEWS
from workflow.queue import QueueFilter, triage_queue
from workflow.queue import counts as queue_counts
from workflow.search import find_cases
from workflow.deadlines import open_deadlines
from workflow.report_formats import TEMPLATES as REPORT_TEMPLATES
from workflow.report_formats import add_filters, charts, moment, to_csv
from workflow.reports import Period, build_report, teams_of
from workflow.residents import active_restriction
from workflow.reviews import confusion, corrections, latest_classification, record_review
from workflow.users import authenticate
from workflow.vocabulary import AdjustmentKind, Kind, Outcome, RefusalReason, Remedy, Role, Theme, row_id

HERE = Path(__file__).parent
QUEUE_PAGE = 100  # a page of the queue; an advisor works from the top, and the page stays quick at any size
QUEUE_FILTERS = ("kind", "theme", "team", "channel", "owner", "status", "hazard", "vulnerable", "from", "to",
                 "awaiting")
COOKIE = "triage_console"
SCRIPTS = ("progress", "live", "keys")  # workflow/console/static/*.js
SHOWN: ContextVar[str] = ContextVar("shown", default="")  # the session's message for the page being drawn
LOGIN_CSRF = "triage_console_login"
HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # 9999-12-31 overflowed a day later: a 500


def a_date(text: str) -> dt.date:
    """A date typed into a filter; ValueError for anything but an ISO date in this century."""
    day = dt.date.fromisoformat(text.strip())
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"{day} is too far off")
    return day


def date_range(since: str, until: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """From the start of the first London day to the end of the last, as the reports count days;
    ValueError for anything but ISO dates in this century."""
    start = london_midnight(a_date(since)) if since else None
    end = london_midnight(a_date(until) + dt.timedelta(days=1)) if until else None
    return start, end


def _learning_values(session: Session, case: Case) -> dict[str, Any]:
    """The case page's learning section (Code 9.1): what went wrong per stage, the block, improvements."""
    if case.kind != Kind.COMPLAINT:
        return {}
    prompted = improvements.prompted_by(session, case)
    return {"learning_due": [s for s in case.stages if learning.needs_learning(s)],
            "learned": {row.stage_number: row for row in learning.learning_of(session, case)},
            "causes": learning.causes_for(case.theme), "block": blocks.block_of(session, case), "prompted": prompted,
            "open_improvements": [i for i in improvements.open_improvements(session) if i not in prompted],
            "people": list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))}


@dataclass(frozen=True)
class Failed:
    """An action the case page refused: which form, why, what was typed, and what changed under it."""

    action: str
    error: str
    typed: Mapping[str, str]
    changes: list[presence.Change] = field(default_factory=list)

    def value(self, action: str, name: str, default: str = "") -> str:
        """What the form's field shows: what was typed, on the form that was refused."""
        return self.typed.get(name, default) if action == self.action else default


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


class ModelTraining(Protocol):
    """What `bot` hands the console for retraining; the console never touches the classifier itself."""

    def start(self, by: str) -> bool: ...
    def status(self) -> dict[str, Any]: ...
    def pending(self) -> bool: ...
    def accept(self) -> str: ...
    def discard(self) -> None: ...


class Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def console_router(sessions: sessionmaker[Session], now: Callable[[], dt.datetime], calendar: WorkingCalendar,
                   letters: Letters, team_for: Callable[[str], str], training: ModelTraining,
                   secure_cookies: bool = False, homes_owned: int = 0,
                   wake: Callable[[], None] = lambda: None, idle: dt.timedelta = IDLE,
                   password_checks: signin.PasswordChecks | None = None) -> APIRouter:
    """`wake` tells a worker in this process that a message is back in its queue (others find it on their next pass)."""
    router = APIRouter(prefix="/console")
    templates = add_filters(Environment(loader=ChoiceLoader([FileSystemLoader(str(HERE / "templates")),
                                                             FileSystemLoader(str(REPORT_TEMPLATES))]),
                                        autoescape=select_autoescape()))
    templates.globals.update(landlord_name=letters.letterhead.landlord_name, kinds=[k.value for k in Kind],
                             themes=[t.value for t in Theme])

    def render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("flash", SHOWN.get())
        return HTMLResponse(templates.get_template(template).render(**values), status_code=status, headers=HEADERS)

    def bad_dates(user: User, console_session: ConsoleSession) -> HTMLResponse:
        return render("error.html", 400, user=user, csrf=console_session.csrf,
                      message=f"Those dates cannot be used. Dates are written like 2026-11-23, between "
                              f"{EARLIEST.year} and {LATEST.year}, and a period ends on or after the day it starts.")

    def who(request: Request, session: Session, role: Role) -> tuple[User, ConsoleSession]:
        found = signed_in(session, request.cookies.get(COOKIE), now(), idle)
        if found is None:
            raise Denied(RedirectResponse("/console/login", status_code=303))
        if not may(found[0], role):
            raise Denied(render("error.html", 403, user=found[0], csrf=found[1].csrf,
                                message="This page is for supervisors. Ask a supervisor if you need it."))
        return found

    def guarded(role: Role, work: Callable[[Session, User, ConsoleSession], Response], request: Request,
                csrf: str | None = None, posting: bool = False) -> Response:
        with sessions() as session:
            try:
                user, console_session = who(request, session, role)
            except Denied as denied:
                return denied.response
            if posting and not csrf_ok(console_session.csrf, csrf):
                return render("error.html", 403, user=user, csrf=console_session.csrf,
                              message="This form had expired. Go back, reload the page and try again.")
            shown = SHOWN.set("" if posting else said(session, console_session))
            try:
                return work(session, user, console_session)
            finally:
                SHOWN.reset(shown)

    @router.get("/static/console.css")
    def stylesheet() -> Response:
        return FileResponse(HERE / "static" / "console.css", media_type="text/css")

    @router.get("/static/{name}.js")
    def script(name: str) -> Response:
        """The console's own scripts, each an enhancement: every page works without them."""
        if name not in SCRIPTS:
            return Response("not found", 404, headers=HEADERS)
        return FileResponse(HERE / "static" / f"{name}.js", media_type="text/javascript")

    @router.get("/login", response_class=HTMLResponse)
    def login_page() -> Response:
        """No message from the URL: `/console/login?error=Call 0800 …` put anyone's words on our page."""
        token = secrets.token_urlsafe(16)
        response = render("login.html", csrf=token, error=None)
        response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", secure=secure_cookies,
                            path="/console")
        return response

    checks = password_checks or signin.PasswordChecks()

    def refused(csrf: str, status: int, error: str, retry_after: int) -> Response:
        """The same words for a real name as for a made-up one; Retry-After for scripts and proxies."""
        response = render("login.html", status, csrf=csrf, error=error)
        response.headers["Retry-After"] = str(retry_after)
        return response

    @router.post("/login")
    def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              csrf: Annotated[str, Form()] = "") -> Response:
        if not csrf_ok(request.cookies.get(LOGIN_CSRF, ""), csrf):
            return render("login.html", 403, csrf=request.cookies.get(LOGIN_CSRF, ""),
                          error="The sign-in form had expired. Please try again.")
        address = request.client.host if request.client else "unknown"  # uvicorn takes it from a trusted proxy
        with sessions() as session:
            wait = signin.wait_before_trying(session, username, address, now())
        if wait:  # refused before argon2: a locked-out guesser costs one indexed query
            return refused(csrf, 429, f"Too many sign-ins have failed. Try again in {signin.in_words(wait)}.",
                           signin.whole_seconds(wait))
        with checks.slot() as turn:
            if not turn:
                return refused(csrf, 503, "The console is busy. Try again in a few seconds.", signin.BUSY_RETRY_SECONDS)
            with sessions() as session:  # a database connection only with a turn: those waiting hold none
                user = authenticate(session, username, password)
                if user is None:
                    signin.record_failure(session, username, address, now())
                    session.commit()
                    return render("login.html", 401, csrf=csrf, error="That name and password do not match.")
                signin.forget_account(session, username)
                token, _ = start_session(session, user, now(), idle, address)
        response = RedirectResponse("/console/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies, path="/console")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            end_session(session, request.cookies.get(COOKIE, ""), now(), user.username)
            response = RedirectResponse("/console/login", status_code=303)
            response.delete_cookie(COOKIE, path="/console")
            return response

        return guarded(Role.ADVISOR, work, request, csrf, posting=True)

    @router.get("/", response_class=HTMLResponse)
    def queue(request: Request, view: str = "all", sort: str = "risk", page: str = "1") -> Response:
        """The queue, narrowed by the filters in the query string (a plain GET form) and paged."""
        chosen = {name: request.query_params.get(name, "").strip() for name in QUEUE_FILTERS}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            today = london_date(now())
            keep = urlencode({k: v for k, v in chosen.items() if v} | ({"sort": sort} if sort != "risk" else {}))
            choices = {"teams": teams_of(team_for), "channels": resident_channels(),  # not a scan of every case
                       "users": list(session.scalars(select(User).where(User.active.is_(True))
                                                     .order_by(User.username))),
                       "statuses": QUEUE_STATUSES, "sorts": QUEUE_SORTS}
            page_values = dict(user=user, csrf=console_session.csrf, now=now(), view=view, views=QUEUE_VIEWS,
                               seen=presence.queue_version(session),
                               attention=attention.count_waiting(session), chosen=chosen, sort=sort, keep=keep,
                               **choices)
            mine = saved_views.listed(session, user)
            page_values["saved"] = [(v, _saved_count(session, user, v.query)) for v in mine]
            page_values["query"] = urlencode({"view": view, **{k: v for k, v in chosen.items() if v}}
                                             | ({"sort": sort} if sort != "risk" else {}))
            try:
                filters = queue_filter(chosen)
                held = queue_counts(session, user_id=user.id, team=user.team, filters=filters)
                number, pages = row_id(page) or 0, max(1, -(-held.get(view, 0) // QUEUE_PAGE))
                if view not in QUEUE_VIEWS or not 1 <= number <= pages:
                    raise ValueError("there is no such view or page")
                entries = triage_queue(session, limit=QUEUE_PAGE, view=view, user_id=user.id, team=user.team,
                                       filters=filters, sort=sort, offset=(number - 1) * QUEUE_PAGE)
            except ValueError as error:
                return render("queue.html", 400, rows=[], owners={}, counts={}, pages=0, page=1,
                              error=f"Those filters cannot be used: {error}. Dates are written like 2026-11-23.",
                              **page_values)
            suggestions = {c.case_id: c for c in session.scalars(
                select(Classification).where(Classification.case_id.in_([e.case.id for e in entries]))
                .order_by(Classification.id))}
            ids = [e.case.id for e in entries]
            excerpts: dict[int, str] = {}
            for case_id, body in session.execute(
                    select(Message.case_id, Message.body_text).where(Message.case_id.in_(ids),
                                                                     Message.direction == "inbound")
                    .order_by(Message.received_at, Message.id)):
                excerpts.setdefault(case_id, " ".join(body[:400].split())[:160])
            reviewed = set(session.scalars(select(Review.case_id).where(Review.case_id.in_(ids))))
            rows = [{"entry": e, "suggestion": suggestions.get(e.case.id), "excerpt": excerpts.get(e.case.id, ""),
                     "reviewed": e.case.id in reviewed,
                     "days_left": calendar.between(today, e.next_deadline) if e.next_deadline else None}
                    for e in entries]
            owners = {u.id: u.username for u in session.scalars(
                select(User).where(User.id.in_({e.case.owner_id for e in entries if e.case.owner_id})))}
            return render("queue.html", rows=rows, owners=owners, counts=held, page=number, error=None,
                          pages=pages, **page_values)

        return guarded(Role.ADVISOR, work, request)

    @router.post("/views")
    def view_save(request: Request, name: Annotated[str, Form()] = "", query: Annotated[str, Form()] = "",
                  csrf: Annotated[str, Form()] = "") -> Response:
        """Keep the queue as it is shown (filters, order, view) under the advisor's own name."""
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            try:
                row = saved_views.save(session, user, name, query, {"view", "sort", *QUEUE_FILTERS}, now())
            except DomainError as error:
                session.rollback()
                say(console_session, f"Nothing was saved: {error}.")
                session.commit()
                return RedirectResponse("/console/" + (f"?{query}" if query else ""), status_code=303)
            say(console_session, f"Saved the view {row.name}. It is listed above the filters with its count.")
            session.commit()
            return RedirectResponse("/console/" + (f"?{row.query}" if row.query else ""), status_code=303)

        return guarded(Role.ADVISOR, work, request, csrf, posting=True)

    @router.post("/views/{view_id}/remove")
    def view_remove(request: Request, view_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            try:
                name = saved_views.remove(session, user, view_id, now())
                say(console_session, f"Removed the view {name}.")
            except DomainError as error:
                session.rollback()
                say(console_session, f"Nothing was removed: {error}.")
            session.commit()
            return RedirectResponse("/console/", status_code=303)

        return guarded(Role.ADVISOR, work, request, csrf, posting=True)

    @router.post("/bulk")
    async def bulk(request: Request) -> Response:
        """Confirm or assign the ticked queue rows, each alone (workflow/console/bulk.py)."""
        form = await request.form()
        picks = [str(v) for v in form.getlist("cases")]
        do, chosen, back = str(form.get("do", "")), str(form.get("owner", "")), str(form.get("back", ""))

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            try:
                if not picks:
                    raise DomainError("tick the rows first")
                if do == "confirm":
                    told = confirm_many(session, calendar, letters, team_for, user, picks, now()).summary("Confirmed")
                elif do == "assign":
                    known = row_id(chosen)
                    owner = session.get(User, known) if known is not None else None
                    if chosen and (owner is None or not owner.active):
                        raise DomainError("there is no such user")
                    told = assign_many(session, user, picks, owner, now()).summary(
                        f"Given to {owner.username}" if owner else "Unassigned")
                else:
                    raise DomainError("choose Confirm or Assign")
            except DomainError as error:
                session.rollback()
                told = f"Nothing was changed: {error}."
            say(console_session, told)
            session.commit()
            again = urlencode([(k, v) for k, v in parse_qsl(back) if k in {"view", "page", "sort", *QUEUE_FILTERS}])
            return RedirectResponse("/console/" + (f"?{again}" if again else ""), status_code=303)

        return await run_in_threadpool(guarded, Role.ADVISOR, work, request, str(form.get("csrf", "")), True)

    @router.get("/attention", response_class=HTMLResponse)
    def attention_page(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return render("attention.html", user=user, csrf=console_session.csrf,
                          messages=attention.waiting(session), total=attention.count_waiting(session))

        return guarded(Role.ADVISOR, work, request)

    @router.post("/attention/{message_id}/{step}")
    def attention_step(request: Request, message_id: int, step: str, csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            steps = {"retry": attention.retry, "set-aside": attention.set_aside}
            if step not in steps:
                return render("error.html", 404, user=user, csrf=console_session.csrf, message="There is no such step.")
            try:
                steps[step](session, message_id, user.username, now())
            except DomainError as error:
                return render("error.html", 409, user=user, csrf=console_session.csrf,
                              message=f"Nothing was changed: {error}.")
            session.commit()
            if step == "retry":
                wake()
            return RedirectResponse("/console/attention", status_code=303)

        return guarded(Role.ADVISOR, work, request, csrf, posting=True)

    def case_view(session: Session, user: User, console_session: ConsoleSession, case: Case, *, status: int = 200,
                  failed: Failed | None = None, use: int | None = None, reply_draft: str = "") -> HTMLResponse:
        """The case page; drawn again after a refused action with the reason beside its form and what was
        typed kept (`failed`), and renewing the viewer's presence (workflow/presence.py)."""
        messages = list(session.scalars(select(Message).where(Message.case_id == case.id)
                                        .order_by(Message.received_at, Message.id)))
        stage = case.stage_record(case.stage)
        due = None
        if stage is not None and case.ended_on is None and stage.responded_on is None:  # none after the response
            due = stage.acknowledgement_due if stage.acknowledged_on is None else stage.response_due
        linked = cases.complaints_about(session, case) if case.kind == Kind.SERVICE_REQUEST else []
        restriction = (active_restriction(session, case.resident_id, london_date(now()))
                       if case.resident_id is not None else None)
        owner = session.get(User, case.owner_id) if case.owner_id is not None else None
        try:
            records.who_may_write(restriction, user)
            write_refused = ""
        except DomainError as error:
            write_refused = str(error)
        presence.mark_viewing(session, case, user, now())
        page = render("case.html", status, user=user, csrf=console_session.csrf, case=case, messages=messages,
                      linked_complaints=linked, notes=cases.notes_of(session, case), restriction=restriction,
                      owner=owner, candidates=ownership.candidates(session, case), write_refused=write_refused,
                      saved_replies=saved_replies.listed(session), use=use, reply_draft=reply_draft,
                      panel=records.panel(session, case, london_date(now())),
                      teams=sorted({*teams_of(team_for), *([case.team] if case.team else [])}),
                      suggestion=latest_classification(session, case),
                      actions=allowed(case), stage=stage, draft=residents_words(session, case),
                      days_left=calendar.between(london_date(now()), due) if due else None,
                      outcomes=[o.value for o in Outcome if o != Outcome.WITHDRAWN],
                      remedies=[r.value for r in Remedy], refusal_reasons=[r.value for r in RefusalReason],
                      adjustment_kinds=[k.value for k in AdjustmentKind], seen=presence.version(session, case),
                      viewers=presence.viewers(session, case, user, now()), failed=failed,
                      **_learning_values(session, case))
        session.commit()
        return page

    def changed_under(session: Session, user: User, console_session: ConsoleSession, case: Case, action: str,
                      seen: str, typed: dict[str, str]) -> HTMLResponse | None:
        """Refuse an action posted from a page drawn before the case last changed, saying what changed."""
        if not seen or seen == presence.version(session, case):
            return None
        return case_view(session, user, console_session, case, status=409, failed=Failed(
            action, "Nothing was changed: this case changed after you opened it. Read it again, then try again; "
                    "what you typed is kept.", typed, presence.changes_since(session, case, seen)))

    @router.get("/cases/{reference}", response_class=HTMLResponse)
    def case_page(request: Request, reference: str, use: str = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            case = cases.by_reference(session, reference)
            if case is None:
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message=f"There is no case {reference}.")
            try:
                chosen_reply = row_id(use) if use else None
                if use and chosen_reply is None:
                    raise DomainError("there is no such saved reply")
                reply_draft = saved_replies.filled(session, chosen_reply, case) if chosen_reply else ""
            except DomainError as error:
                return render("error.html", 404, user=user, csrf=console_session.csrf, message=f"{error}.")
            return case_view(session, user, console_session, case, use=chosen_reply, reply_draft=reply_draft)

        return guarded(Role.ADVISOR, work, request)

    @router.get("/cases/{reference}/live")
    def case_live(request: Request, reference: str, seen: str = "") -> Response:
        """For live.js on an open case page: who else has it open, and what changed since it was drawn."""
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            case = cases.by_reference(session, reference)
            if case is None:
                return JSONResponse({"error": "no such case"}, 404, headers=HEADERS)
            presence.mark_viewing(session, case, user, now())
            news = {"viewers": presence.viewers(session, case, user, now()),
                    "changes": [{"who": c.who, "what": c.what, "at": moment(c.at)}
                                for c in presence.changes_since(session, case, seen)] if seen else []}
            session.commit()
            return JSONResponse(news, headers=HEADERS)

        return guarded(Role.ADVISOR, work, request)

    @router.get("/live")
    def queue_live(request: Request, seen: str = "") -> Response:
        """For live.js on the queue: new messages and cases others changed since the page was drawn."""
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return JSONResponse(presence.queue_news(session, seen, user), headers=HEADERS)

        return guarded(Role.ADVISOR, work, request)

    @router.post("/cases/{reference}/review")
    def review(request: Request, reference: str, kind: Annotated[str, Form()] = "",
               theme: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
               back: Annotated[str, Form()] = "", seen: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            case = cases.by_reference(session, reference)
            suggestion = latest_classification(session, case) if case is not None else None
            if case is None or suggestion is None:
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message=f"There is no suggestion to review on {reference}.")
            stale = changed_under(session, user, console_session, case, "review", seen, {"kind": kind, "theme": theme})
            if stale is not None:
                return stale
            try:
                _, changed = record_review(session, calendar, case, suggestion, user, kind=kind or suggestion.kind,
                                           theme=theme or suggestion.theme, team=team_for(theme or suggestion.theme),
                                           at=now())
                told = tell_about_change(session, calendar, letters, case, changed, now())
            except (ValueError, DomainError) as error:
                session.rollback()
                return render("error.html", 400, user=user, csrf=console_session.csrf,
                              message=f"Nothing was changed: {error}.")
            if back == "queue":  # confirmed from the queue with one click: stay on the queue
                if told:
                    say(console_session, f"{case.reference}: {told}")
                session.commit()
                return RedirectResponse("/console/", status_code=303)
            say(console_session, told or "Saved.")
            session.commit()
            return RedirectResponse(f"/console/cases/{case.reference}", status_code=303)

        return guarded(Role.ADVISOR, work, request, csrf, posting=True)

    @router.post("/cases/{reference}/act/{action}")
    async def act(request: Request, reference: str, action: str) -> Response:
        form = await request.form()
        fields = {key: ",".join(str(v) for v in form.getlist(key)) for key in form}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            case = cases.by_reference(session, reference)
            if case is None:
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message=f"There is no case {reference}.")
            stale = changed_under(session, user, console_session, case, action, fields.get("seen", ""), fields)
            if stale is not None:
                return stale
            try:
                done = perform(session, calendar, letters, case, user, action, fields, now(), teams=teams_of(team_for))
            except (DomainError, ValueError) as error:
                session.rollback()
                return case_view(session, user, console_session, case, status=400,
                                 failed=Failed(action, f"Nothing was changed: {error}.", fields))
            say(console_session, done)
            session.commit()
            return RedirectResponse(f"/console/cases/{case.reference}", status_code=303)

        return await run_in_threadpool(guarded, Role.ADVISOR, work, request, fields.get("csrf"), True)

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            found = find_cases(session, q) if q.strip() else []
            return render("search.html", user=user, csrf=console_session.csrf, q=q, found=found)

        return guarded(Role.ADVISOR, work, request)

    @router.get("/reviews", response_class=HTMLResponse)
    def reviews(request: Request, since: Annotated[str, Query(alias="from")] = "",
                until: Annotated[str, Query(alias="to")] = "", kind: str = "", theme: str = "",
                advisor: str = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            try:
                start, end = date_range(since, until)
            except ValueError:
                return bad_dates(user, console_session)
            advisors = list(session.scalars(select(User).order_by(User.username)))
            chosen = next((a.id for a in advisors if a.username == advisor), None)
            rows = corrections(session, since=start, until=end, kind=kind or None, theme=theme or None,
                               reviewer_id=chosen)
            return render("reviews.html", user=user, csrf=console_session.csrf, rows=rows, advisors=advisors,
                          filters={"from": since, "to": until, "kind": kind, "theme": theme, "advisor": advisor})

        return guarded(Role.SUPERVISOR, work, request)

    @router.get("/agreement", response_class=HTMLResponse)
    def agreement(request: Request, since: Annotated[str, Query(alias="from")] = "",
                  until: Annotated[str, Query(alias="to")] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            try:
                start, end = date_range(since, until)
            except ValueError:
                return bad_dates(user, console_session)
            return render("agreement.html", user=user, csrf=console_session.csrf,
                          figures=confusion(session, since=start, until=end), filters={"from": since, "to": until})

        return guarded(Role.SUPERVISOR, work, request)

    @router.get("/deadlines", response_class=HTMLResponse)
    def deadlines(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            today = london_date(now())
            handlers = {u.id: u.username for u in session.scalars(select(User))}
            rows = [{"deadline": d, "days_left": calendar.between(today, d.due),
                     "handler": handlers.get(d.case.owner_id or d.stage.handler_id or -1, "nobody yet"),
                     "team": d.case.team or "none"}
                    for d in open_deadlines(session)]
            overdue = [r for r in rows if r["deadline"].due < today]
            due_today = [r for r in rows if r["deadline"].due == today]
            by_owner: dict[tuple[str, str], list[int]] = {}
            for row in rows:
                counts = by_owner.setdefault((row["handler"], row["team"]), [0, 0, 0])
                counts[0 if row["deadline"].due < today else 1 if row["deadline"].due == today else 2] += 1
            return render("deadlines.html", user=user, csrf=console_session.csrf, overdue=overdue,
                          due_today=due_today, upcoming=[r for r in rows if r["deadline"].due > today],
                          by_owner=sorted(by_owner.items()))

        return guarded(Role.SUPERVISOR, work, request)

    @router.get("/reports", response_class=HTMLResponse)
    def reports(request: Request, since: Annotated[str, Query(alias="from")] = "",
                until: Annotated[str, Query(alias="to")] = "", form: Annotated[str, Query(alias="format")] = "html",
                ) -> Response:
        """Code 8.1 and 9.7 figures; the default period is this financial year (from 1 April) to today."""
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            today = london_date(now())
            first = dt.date(this_year(today), 4, 1)
            try:
                period = Period(a_date(since) if since else first, a_date(until) if until else today)
            except ValueError:
                return bad_dates(user, console_session)
            figures = build_report(session, period, calendar, homes_owned=homes_owned,
                                   landlord=letters.letterhead.landlord_name, teams=teams_of(team_for))
            name = f"complaints-report-{period.start}-to-{period.end}"
            if form == "csv":
                return Response(to_csv(figures), media_type="text/csv; charset=utf-8", headers={
                    **HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'})
            if form == "json":
                return Response(json.dumps(figures, ensure_ascii=False, indent=1), media_type="application/json",
                                headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}.json"'})
            return render("report.html", user=user, csrf=console_session.csrf, report=figures,
                          charts=charts(figures), period=period)

        return guarded(Role.SUPERVISOR, work, request)

    @router.get("/letters", response_class=HTMLResponse)
    def letter_list(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return render("letters.html", user=user, csrf=console_session.csrf,
                          names=[(n, letters.source(n)[1]) for n in letters.names()])

        return guarded(Role.ADMIN, work, request)

    @router.get("/letters/{name}", response_class=HTMLResponse)
    def letter_page(request: Request, name: str) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            if name not in letters.names():
                return render("error.html", 404, user=user, csrf=console_session.csrf, message="No such letter.")
            text, own = letters.source(name)
            return letter(user, console_session, name, text, own=own)

        return guarded(Role.ADMIN, work, request)

    def letter(user: User, console_session: ConsoleSession, name: str, text: str, *, own: bool, status: int = 200,
               preview: str | None = None, saved: bool = False, error: str | None = None) -> HTMLResponse:
        """The editor: the names the letter may use, the version against the shipped one, a preview."""
        uses, letterhead = letters.names_used(name)
        return render("letter.html", status, user=user, csrf=console_session.csrf, name=name, text=text, own=own,
                      preview=preview, saved=saved, error=error, uses=uses, letterhead=letterhead,
                      changes=letters.changes(name, text))

    @router.post("/letters/{name}")
    def letter_save(request: Request, name: str, text: Annotated[str, Form()] = "",
                    restore: Annotated[str, Form()] = "", check: Annotated[str, Form()] = "",
                    csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            if name not in letters.names():
                return render("error.html", 404, user=user, csrf=console_session.csrf, message="No such letter.")
            own = letters.source(name)[1]
            if restore:
                letters.restore(name)
                audit.record(session, "letter_restored", user.username, now(), letter=name)
                session.commit()
                return RedirectResponse(f"/console/letters/{name}", status_code=303)
            try:
                preview = letters.preview(text) if check else letters.save(name, text)
            except ValueError as error:
                return letter(user, console_session, name, text, own=own, status=400, error=str(error))
            if check:  # looked at, not saved
                return letter(user, console_session, name, text, own=own, preview=preview)
            audit.record(session, "letter_edited", user.username, now(), letter=name)
            session.commit()
            return letter(user, console_session, name, text, own=True, preview=preview, saved=True)

        return guarded(Role.ADMIN, work, request, csrf, posting=True)

    @router.get("/replies", response_class=HTMLResponse)
    def saved_reply_list(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return render("replies.html", user=user, csrf=console_session.csrf, replies=saved_replies.listed(session),
                          placeholder=saved_replies.PLACEHOLDER, error=None)

        return guarded(Role.ADMIN, work, request)

    @router.post("/replies")
    def saved_reply_save(request: Request, title: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                         reply_id: Annotated[str, Form()] = "", remove: Annotated[str, Form()] = "",
                         csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            known = row_id(reply_id)
            try:
                if remove:
                    saved_replies.remove(session, known or 0, user.username, now())
                else:
                    saved_replies.save(session, title, text, user.username, now(), known)
            except DomainError as error:
                session.rollback()
                return render("replies.html", 400, user=user, csrf=console_session.csrf,
                              replies=saved_replies.listed(session), placeholder=saved_replies.PLACEHOLDER,
                              error=f"Nothing was saved: {error}.")
            say(console_session, "Removed." if remove else "Saved. Handlers can use it from any case page.")
            session.commit()
            return RedirectResponse("/console/replies", status_code=303)

        return guarded(Role.ADMIN, work, request, csrf, posting=True)

    add_learning_pages(router, guarded=guarded, render=render, now=now, calendar=calendar,
                       landlord=letters.letterhead.landlord_name, teams=lambda: teams_of(team_for))

    @router.get("/model", response_class=HTMLResponse)
    def model_page(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return render("model.html", user=user, csrf=console_session.csrf, training=training.status(),
                          pending=training.pending())

        return guarded(Role.SUPERVISOR, work, request)

    @router.post("/model/{step}")
    def model_step(request: Request, step: str, csrf: Annotated[str, Form()] = "") -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            if step == "train":  # a minute or two, in the background: the page shows how far it has got
                started = training.start(user.username)
                if started:
                    audit.record(session, "model_training_started", user.username, now())
                say(console_session, "Training started" if started else "A candidate is already being trained")
                session.commit()
                return RedirectResponse("/console/model", status_code=303)
            if step == "accept":
                try:
                    version = training.accept()
                except (FileNotFoundError, ValueError) as error:  # none, still training, or unreadable
                    return render("error.html", 400, user=user, csrf=console_session.csrf, message=str(error))
                audit.record(session, "model_switched", user.username, now(), version=version)
                say(console_session, f"Now using model {version}")
                session.commit()
                return RedirectResponse("/console/model", status_code=303)
            if step == "discard":
                training.discard()
                say(console_session, "Candidate discarded")
                session.commit()
                return RedirectResponse("/console/model", status_code=303)
            return render("error.html", 404, user=user, csrf=console_session.csrf, message="No such step.")

        return guarded(Role.SUPERVISOR, work, request, csrf, posting=True)

    return router
