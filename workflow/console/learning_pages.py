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
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from workflow import cases, improvements, self_assessment_formats
from workflow.assessment_entries import set_entry
from workflow.console.actions import form_date
from workflow.console.auth import say
from workflow.console.page import Fields, Page, Supervisor, SupervisorForm
from workflow.errors import DomainError
from workflow.findings import Finding, findings_between, record_finding
from workflow.models import Improvement, User
from workflow.patterns import find_patterns
from workflow.provisions import is_provision
from workflow.reports import Period
from workflow.self_assessment import build_self_assessment
from workflow.users import active_users
from workflow.vocabulary import row_id

router = APIRouter()


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


def _improvement_list(page: Page, status: str = "", team: str = "", error: str = "",
                      form: Mapping[str, str] | None = None, code: int = 200) -> HTMLResponse:
    try:
        shown = improvements.views(page.db, page.console.today(), status=status or None, team=team or None)
    except ValueError:
        shown, error = [], "There is no such status."
    return page.render("improvements.html", code, rows=shown,
                       statuses=[s.value for s in improvements.ImprovementStatus], teams=page.console.teams(),
                       people=active_users(page.db), chosen={"status": status, "team": team}, error=error, form=form or {})


@router.get("/improvements")
def improvement_page(page: Supervisor, status: str = "", team: str = "") -> Response:
    """Every service improvement, the soonest due first, with the complaints behind each."""
    return _improvement_list(page, status, team)


@router.post("/improvements")
def improvement_create(page: SupervisorForm, form: Fields) -> Response:
    field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
    try:
        if field("team") not in page.console.teams():
            raise DomainError("choose one of the teams")
        due = _date(field("due_on"), "the due date")
        if due < page.console.today():
            raise DomainError("the due date is today or later")
        item = improvements.create(page.db, title=field("title"), team=field("team"), owner_id=_owner(field("owner")),
                                   due_on=due, actor=page.user.username, at=page.now(),
                                   complaints=_complaints(page.db, field("complaints")))
    except DomainError as error:
        page.db.rollback()
        return _improvement_list(page, error=f"Nothing was saved: {error}.", form=form, code=400)
    say(page.signed, f"Recorded the service improvement {item.reference}.")
    page.db.commit()
    return RedirectResponse(f"/console/improvements/{item.reference}", status_code=303)


def _improvement_detail(page: Page, item: Improvement, error: str = "", code: int = 200) -> HTMLResponse:
    view = improvements.view_of(page.db, item, page.console.today())
    moves = sorted(s.value for s in improvements.TRANSITIONS[improvements.ImprovementStatus(item.status)])
    listed = active_users(page.db)  # with its owner even once removed, so that saving a change keeps them
    owner = page.db.get(User, item.owner_id) if item.owner_id is not None else None
    return page.render("improvement.html", code, item=item, view=view, moves=moves,
                       teams=sorted({*page.console.teams(), item.team}), error=error,
                       people=listed + ([owner] if owner is not None and owner not in listed else []))


@router.get("/improvements/{reference}")
def improvement_one(page: Supervisor, reference: str) -> Response:
    item = improvements.by_reference(page.db, reference)
    if item is None:
        return page.error(404, f"There is no improvement {reference}.")
    return _improvement_detail(page, item)


@router.post("/improvements/{reference}/{step}")
def improvement_step(page: SupervisorForm, form: Fields, reference: str, step: str) -> Response:
    """change (what, team, owner, due date), status (with the evidence for done), link, unlink."""
    field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
    session, actor = page.db, page.user.username
    item = improvements.by_reference(session, reference)
    if item is None or step not in ("change", "status", "link", "unlink"):
        return page.error(404, f"There is no improvement {reference}, or no such step.")
    try:
        if step == "change":
            if field("team") not in {*page.console.teams(), item.team}:
                raise DomainError("choose one of the teams")
            owner = _owner(field("owner"))
            same = owner == item.owner_id  # a removed owner kept: not a change, and not refused
            changed = improvements.change(session, item, actor=actor, at=page.now(), title=field("title"),
                                          team=field("team"), owner_id=None if same else owner,
                                          clear_owner=not same and owner is None,
                                          due_on=_date(field("due_on"), "the due date"))
            told = f"Changed: {', '.join(changed)}." if changed else "Nothing had changed."
        elif step == "status":
            improvements.set_status(session, item, field("status"), actor, page.now(), evidence=field("evidence"))
            told = f"{item.reference} is now {item.status.replace('_', ' ')}."
        else:
            named = _complaints(session, field("complaint"))
            if len(named) != 1:
                raise DomainError("give one complaint's reference")
            case = named[0]
            if step == "link":
                linked = improvements.link(session, item, case, actor, page.now())
                told = f"Linked {case.reference}." if linked else f"{case.reference} was already linked."
            else:
                improvements.unlink(session, item, case, actor, page.now())
                told = f"{case.reference} is no longer linked."
    except (DomainError, ValueError) as error:
        session.rollback()
        return _improvement_detail(page, item, error=f"Nothing was changed: {error}.", code=400)
    say(page.signed, told)
    session.commit()
    return RedirectResponse(f"/console/improvements/{item.reference}", status_code=303)


@router.get("/patterns")
def patterns_page(page: Supervisor, since: Annotated[str, Query(alias="from")] = "",
                  until: Annotated[str, Query(alias="to")] = "") -> Response:
    """Themes and teams rising, repeat complaints, requests that became complaints (Code 9.1, 9.2)."""
    today = page.console.today()
    try:
        start = _date(since, "the first day") if since else today - dt.timedelta(days=89)
        end = _date(until, "the last day") if until else today
        if end < start:
            raise DomainError("the period ends on or after the day it starts")
    except DomainError as error:
        return page.render("patterns.html", 400, found=None, chosen={"from": since, "to": until},
                           error=f"Those dates cannot be used: {error}.")
    return page.render("patterns.html", found=find_patterns(page.db, Period(start, end)), error="",
                       chosen={"from": start.isoformat(), "to": end.isoformat()})


def _findings(page: Page, error: str = "", form: Mapping[str, str] | None = None, code: int = 200) -> HTMLResponse:
    everything = findings_between(page.db, dt.date(2000, 1, 1), dt.date(2099, 12, 31))
    return page.render("findings.html", code, rows=everything, findings=[f.value for f in Finding], error=error,
                       form=form or {})


@router.get("/findings")
def findings_list(page: Supervisor) -> Response:
    return _findings(page)


@router.post("/findings")
def finding_save(page: SupervisorForm, form: Fields) -> Response:
    """8.1 c: a finding arrives by letter from the Ombudsman; a supervisor enters it here."""
    field = lambda name: form.get(name, "").strip()  # noqa: E731 - a local shorthand
    try:
        linked = _complaints(page.db, field("complaint"))
        if len(linked) > 1:
            raise DomainError("a finding is about one complaint")
        finding = Finding(field("finding")) if field("finding") in {f.value for f in Finding} else None
        if finding is None:
            raise DomainError("choose what the Ombudsman found")
        record_finding(page.db, page.user, page.now(), ombudsman_reference=field("ombudsman_reference"),
                       decided_on=_date(field("decided_on"), "the date of the decision"), finding=finding,
                       summary=field("summary"), provisions=field("provisions").replace(",", " ").split(),
                       orders=field("orders"), case=linked[0] if linked else None)
    except DomainError as error:
        page.db.rollback()
        return _findings(page, error=f"Nothing was saved: {error}.", form=form, code=400)
    say(page.signed, "Recorded. The annual report and the self-assessment show it.")
    page.db.commit()
    return RedirectResponse("/console/findings", status_code=303)


DOWNLOADS = {"csv": ("text/csv; charset=utf-8", self_assessment_formats.to_csv),
             "json": ("application/json", self_assessment_formats.to_json),
             "html": ("text/html; charset=utf-8", self_assessment_formats.to_html)}


@router.get("/self-assessment")
def assessment_page(page: Supervisor, year_text: Annotated[str, Query(alias="year")] = "",
                    form: Annotated[str, Query(alias="format")] = "") -> Response:
    """The Code self-assessment for a financial year, as a page to complete, or as the printable
    form, CSV or JSON to paste into the published report (format=html|csv|json)."""
    today = page.console.today()
    year = row_id(year_text) if year_text else this_year(today)
    if year is None or not 2000 <= year <= 2099:
        return page.error(400, "The year is written like 2026 (the year from 1 April 2026).")
    assessment = build_self_assessment(page.db, year, page.console.calendar,
                                       landlord=page.console.letters.letterhead.landlord_name, today=today)
    name = f"self-assessment-{year}-{(year + 1) % 100:02d}"
    if form in DOWNLOADS:
        media, write = DOWNLOADS[form]
        disposition = "inline" if form == "html" else f'attachment; filename="{name}.{form}"'
        return Response(write(assessment), media_type=media, headers={
            "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
    return _assessment_form(page, year, built=assessment)


def _assessment_form(page: Page, year: int, *, built: Any = None, code: int = 200, refused: str = "",
                     error: str = "", form: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page to complete; a refused provision's form is drawn again with the words typed."""
    today = page.console.today()
    built = built or build_self_assessment(page.db, year, page.console.calendar,
                                           landlord=page.console.letters.letterhead.landlord_name, today=today)
    return page.render("assessment.html", code, a=built, year=year,
                       years=list(range(this_year(today), this_year(today) - 4, -1)), refused=refused, error=error,
                       form=form or {})


@router.post("/self-assessment/{year}/{provision}")
def assessment_entry(page: SupervisorForm, form: Fields, year: int, provision: str) -> Response:
    """A person's answer, evidence and commentary for one provision; carried into later years."""
    if not is_provision(provision) or not 2000 <= year <= 2099:
        return page.error(404, "There is no such provision or year.")
    try:
        set_entry(page.db, year, provision, actor=page.user.username, at=page.now(), comply=form.get("comply"),
                  evidence=form.get("evidence"), commentary=form.get("commentary"))
    except DomainError as error:
        page.db.rollback()
        return _assessment_form(page, year, code=400, refused=provision,
                                error=f"Nothing was saved for {provision}: {error}.", form=form)
    say(page.signed, f"Saved {provision}.")
    page.db.commit()
    return RedirectResponse(f"/console/self-assessment?year={year}#p{provision}", status_code=303)
