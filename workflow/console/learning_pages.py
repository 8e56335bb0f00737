"""The supervisors' pages for learning from complaints: improvements, patterns, the Ombudsman's
findings and the Code self-assessment (Code 8.1, 9.1-9.7).

Handlers record what went wrong and the improvements a complaint leads to from the case page
(workflow/console/actions.py); these pages are where supervisors manage those improvements,
look across complaints for patterns, enter the Ombudsman's findings, and fill in the yearly
self-assessment. The rules live in the workflow modules named in each route; a route reads a
form, calls one of them and says what happened. A refused form is drawn again with the reason
beside it and everything typed kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from workflow import cases, improvements, self_assessment_formats
from workflow.assessment_entries import set_entry
from workflow.calendar import WorkingCalendar, london_date
from workflow.console.actions import form_date
from workflow.console.auth import say
from workflow.errors import DomainError
from workflow.findings import Finding, findings_between, record_finding
from workflow.models import ConsoleSession, Improvement, User
from workflow.patterns import find_patterns
from workflow.provisions import is_provision
from workflow.reports import Period
from workflow.self_assessment import build_self_assessment
from workflow.vocabulary import Role, row_id

Guarded = Callable[..., Response]
Render = Callable[..., HTMLResponse]
Work = Callable[[Session, User, ConsoleSession], Response]


def this_year(today: dt.date) -> int:
    """The financial year today falls in: 2026 from 1 April 2026 to 31 March 2027."""
    return today.year if today.month >= 4 else today.year - 1


def _date(text: str, what: str) -> dt.date:
    """A date these forms need (workflow/console/actions.py reads it)."""
    day = form_date(text, what)
    if day is None:
        raise DomainError(f"{what} is required")
    return day


def _complaints(session: Session, text: str) -> list[Any]:
    """Complaint references typed with commas or spaces between them; every one must exist."""
    found = []
    for reference in text.replace(",", " ").split():
        case = cases.by_reference(session, reference.upper())
        if case is None:
            raise DomainError(f"there is no case {reference}")
        found.append(case)
    return found


def _owner(text: str) -> int | None:
    if not text.strip():
        return None
    known = row_id(text)
    if known is None:
        raise DomainError("there is no such user")
    return known


def add_learning_pages(router: APIRouter, *, guarded: Guarded, render: Render, now: Callable[[], dt.datetime],
                       calendar: WorkingCalendar, landlord: str, teams: Callable[[], list[str]]) -> None:
    """Add the pages to the console's router; `guarded` checks the role (and CSRF on a POST) first."""

    def people(session: Session) -> list[User]:
        return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))

    def improvement_list(session: Session, user: User, console_session: ConsoleSession, status: str = "",
                         team: str = "", error: str = "", form: Mapping[str, str] | None = None,
                         code: int = 200) -> HTMLResponse:
        try:
            shown = improvements.views(session, london_date(now()), status=status or None, team=team or None)
        except ValueError:
            shown, error = [], "There is no such status."
        return render("improvements.html", code, user=user, csrf=console_session.csrf, rows=shown,
                      statuses=[s.value for s in improvements.ImprovementStatus], teams=teams(),
                      people=people(session), chosen={"status": status, "team": team}, error=error, form=form or {})

    @router.get("/improvements", response_class=HTMLResponse)
    def improvement_page(request: Request, status: str = "", team: str = "") -> Response:
        """Every service improvement, the soonest due first, with the complaints behind each."""
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return improvement_list(session, user, console_session, status, team)

        return guarded(Role.SUPERVISOR, work, request)

    @router.post("/improvements")
    async def improvement_create(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
            try:
                if field("team") not in teams():
                    raise DomainError("choose one of the teams")
                due = _date(field("due_on"), "the due date")
                if due < london_date(now()):
                    raise DomainError("the due date is today or later")
                item = improvements.create(session, title=field("title"), team=field("team"),
                                           owner_id=_owner(field("owner")), due_on=due, actor=user.username,
                                           at=now(), complaints=_complaints(session, field("complaints")))
            except DomainError as error:
                session.rollback()
                return improvement_list(session, user, console_session, error=f"Nothing was saved: {error}.",
                                        form=form, code=400)
            say(console_session, f"Recorded the service improvement {item.reference}.")
            session.commit()
            return RedirectResponse(f"/console/improvements/{item.reference}", status_code=303)

        return await run_in_threadpool(guarded, Role.SUPERVISOR, work, request, form.get("csrf", ""), True)

    def improvement_detail(session: Session, user: User, console_session: ConsoleSession, item: Improvement,
                           error: str = "", code: int = 200) -> HTMLResponse:
        view = improvements.view_of(session, item, london_date(now()))
        moves = sorted(s.value for s in improvements.TRANSITIONS[improvements.ImprovementStatus(item.status)])
        listed = people(session)  # with its owner even once removed, so that saving a change keeps them
        owner = session.get(User, item.owner_id) if item.owner_id is not None else None
        return render("improvement.html", code, user=user, csrf=console_session.csrf, item=item, view=view,
                      moves=moves, teams=sorted({*teams(), item.team}), error=error,
                      people=listed + ([owner] if owner is not None and owner not in listed else []))

    @router.get("/improvements/{reference}", response_class=HTMLResponse)
    def improvement_one(request: Request, reference: str) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            item = improvements.by_reference(session, reference)
            if item is None:
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message=f"There is no improvement {reference}.")
            return improvement_detail(session, user, console_session, item)

        return guarded(Role.SUPERVISOR, work, request)

    @router.post("/improvements/{reference}/{step}")
    async def improvement_step(request: Request, reference: str, step: str) -> Response:
        """change (what, team, owner, due date), status (with the evidence for done), link, unlink."""
        form = {key: str(value) for key, value in (await request.form()).items()}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
            item = improvements.by_reference(session, reference)
            if item is None or step not in ("change", "status", "link", "unlink"):
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message=f"There is no improvement {reference}, or no such step.")
            try:
                if step == "change":
                    if field("team") not in {*teams(), item.team}:
                        raise DomainError("choose one of the teams")
                    owner = _owner(field("owner"))
                    same = owner == item.owner_id  # a removed owner kept: not a change, and not refused
                    changed = improvements.change(session, item, actor=user.username, at=now(), title=field("title"),
                                                  team=field("team"), owner_id=None if same else owner,
                                                  clear_owner=not same and owner is None,
                                                  due_on=_date(field("due_on"), "the due date"))
                    told = f"Changed: {', '.join(changed)}." if changed else "Nothing had changed."
                elif step == "status":
                    improvements.set_status(session, item, field("status"), user.username, now(),
                                            evidence=field("evidence"))
                    told = f"{item.reference} is now {item.status.replace('_', ' ')}."
                else:
                    named = _complaints(session, field("complaint"))
                    if len(named) != 1:
                        raise DomainError("give one complaint's reference")
                    case = named[0]
                    if step == "link":
                        linked = improvements.link(session, item, case, user.username, now())
                        told = f"Linked {case.reference}." if linked else f"{case.reference} was already linked."
                    else:
                        improvements.unlink(session, item, case, user.username, now())
                        told = f"{case.reference} is no longer linked."
            except (DomainError, ValueError) as error:
                session.rollback()
                return improvement_detail(session, user, console_session, item, error=f"Nothing was changed: {error}.",
                                          code=400)
            say(console_session, told)
            session.commit()
            return RedirectResponse(f"/console/improvements/{item.reference}", status_code=303)

        return await run_in_threadpool(guarded, Role.SUPERVISOR, work, request, form.get("csrf", ""), True)

    @router.get("/patterns", response_class=HTMLResponse)
    def patterns_page(request: Request) -> Response:
        """Themes and teams rising, repeat complaints, requests that became complaints (Code 9.1, 9.2)."""
        since, until = request.query_params.get("from", ""), request.query_params.get("to", "")

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            today = london_date(now())
            try:
                start = _date(since, "the first day") if since else today - dt.timedelta(days=89)
                end = _date(until, "the last day") if until else today
                if end < start:
                    raise DomainError("the period ends on or after the day it starts")
            except DomainError as error:
                return render("patterns.html", 400, user=user, csrf=console_session.csrf, found=None,
                              chosen={"from": since, "to": until}, error=f"Those dates cannot be used: {error}.")
            found = find_patterns(session, Period(start, end))
            return render("patterns.html", user=user, csrf=console_session.csrf, found=found, error="",
                          chosen={"from": start.isoformat(), "to": end.isoformat()})

        return guarded(Role.SUPERVISOR, work, request)

    def findings_page(session: Session, user: User, console_session: ConsoleSession, error: str = "",
                      form: Mapping[str, str] | None = None, code: int = 200) -> HTMLResponse:
        return render("findings.html", code, user=user, csrf=console_session.csrf,
                      rows=findings_between(session, dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
                      findings=[f.value for f in Finding], error=error, form=form or {})

    @router.get("/findings", response_class=HTMLResponse)
    def findings_list(request: Request) -> Response:
        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            return findings_page(session, user, console_session)

        return guarded(Role.SUPERVISOR, work, request)

    @router.post("/findings")
    async def finding_save(request: Request) -> Response:
        """8.1 c: a finding arrives by letter from the Ombudsman; a supervisor enters it here."""
        form = {key: str(value) for key, value in (await request.form()).items()}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
            try:
                linked = _complaints(session, field("complaint"))
                if len(linked) > 1:
                    raise DomainError("a finding is about one complaint")
                finding = Finding(field("finding")) if field("finding") in {f.value for f in Finding} else None
                if finding is None:
                    raise DomainError("choose what the Ombudsman found")
                record_finding(session, user, now(), ombudsman_reference=field("ombudsman_reference"),
                               decided_on=_date(field("decided_on"), "the date of the decision"), finding=finding,
                               summary=field("summary"), provisions=field("provisions").replace(",", " ").split(),
                               orders=field("orders"), case=linked[0] if linked else None)
            except DomainError as error:
                session.rollback()
                return findings_page(session, user, console_session, error=f"Nothing was saved: {error}.", form=form,
                                     code=400)
            say(console_session, "Recorded. The annual report and the self-assessment show it.")
            session.commit()
            return RedirectResponse("/console/findings", status_code=303)

        return await run_in_threadpool(guarded, Role.SUPERVISOR, work, request, form.get("csrf", ""), True)

    @router.get("/self-assessment", response_class=HTMLResponse)
    def assessment_page(request: Request) -> Response:
        """The Code self-assessment for a financial year, as a page to complete, or as the printable
        form, CSV or JSON to paste into the published report (format=html|csv|json)."""
        year_text, form = request.query_params.get("year", ""), request.query_params.get("format", "")

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            today = london_date(now())
            year = row_id(year_text) if year_text else this_year(today)
            if year is None or not 2000 <= year <= 2099:
                return render("error.html", 400, user=user, csrf=console_session.csrf,
                              message="The year is written like 2026 (the year from 1 April 2026).")
            assessment = build_self_assessment(session, year, calendar, landlord=landlord, today=today)
            name = f"self-assessment-{year}-{(year + 1) % 100:02d}"
            downloads = {"csv": ("text/csv; charset=utf-8", self_assessment_formats.to_csv),
                         "json": ("application/json", self_assessment_formats.to_json),
                         "html": ("text/html; charset=utf-8", self_assessment_formats.to_html)}
            if form in downloads:
                media, write = downloads[form]
                disposition = "inline" if form == "html" else f'attachment; filename="{name}.{form}"'
                return Response(write(assessment), media_type=media, headers={
                    "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
                    "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
            return assessment_form(session, user, console_session, year, built=assessment)

        return guarded(Role.SUPERVISOR, work, request)

    def assessment_form(session: Session, user: User, console_session: ConsoleSession, year: int, *,
                        built: Any = None, code: int = 200, refused: str = "", error: str = "",
                        form: Mapping[str, str] | None = None) -> HTMLResponse:
        """The page to complete; a refused provision's form is drawn again with the words typed."""
        today = london_date(now())
        built = built or build_self_assessment(session, year, calendar, landlord=landlord, today=today)
        return render("assessment.html", code, user=user, csrf=console_session.csrf, a=built, year=year,
                      years=list(range(this_year(today), this_year(today) - 4, -1)), refused=refused, error=error,
                      form=form or {})

    @router.post("/self-assessment/{year}/{provision}")
    async def assessment_entry(request: Request, year: int, provision: str) -> Response:
        """A person's answer, evidence and commentary for one provision; carried into later years."""
        form = {key: str(value) for key, value in (await request.form()).items()}

        def work(session: Session, user: User, console_session: ConsoleSession) -> Response:
            if not is_provision(provision) or not 2000 <= year <= 2099:
                return render("error.html", 404, user=user, csrf=console_session.csrf,
                              message="There is no such provision or year.")
            try:
                set_entry(session, year, provision, actor=user.username, at=now(), comply=form.get("comply"),
                          evidence=form.get("evidence"), commentary=form.get("commentary"))
            except DomainError as error:
                session.rollback()
                return assessment_form(session, user, console_session, year, code=400, refused=provision,
                                  error=f"Nothing was saved for {provision}: {error}.", form=form)
            say(console_session, f"Saved {provision}.")
            session.commit()
            return RedirectResponse(f"/console/self-assessment?year={year}#p{provision}", status_code=303)

        return await run_in_threadpool(guarded, Role.SUPERVISOR, work, request, form.get("csrf", ""), True)
