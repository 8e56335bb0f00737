"""The supervisors' figures: corrections to the bot's suggestions and how often advisors agree
with it, the deadlines across every team, the Code's reports (8.1, 9.7), and retraining the model
on the corrections."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from workflow import audit
from workflow.console.auth import say
from workflow.console.learning_pages import this_year
from workflow.console.page import HEADERS, Supervisor, SupervisorForm, a_date, date_range
from workflow.deadlines import open_deadlines
from workflow.models import User
from workflow.report_formats import charts, to_csv
from workflow.reports import Period, build_report
from workflow.reviews import confusion, corrections

router = APIRouter()
Since = Annotated[str, Query(alias="from")]
Until = Annotated[str, Query(alias="to")]


@router.get("/reviews")
def reviews(page: Supervisor, since: Since = "", until: Until = "", kind: str = "", theme: str = "",
            advisor: str = "") -> Response:
    try:
        start, end = date_range(since, until)
    except ValueError:
        return page.bad_dates()
    advisors = list(page.db.scalars(select(User).order_by(User.username)))
    chosen = next((a.id for a in advisors if a.username == advisor), None)
    rows = corrections(page.db, since=start, until=end, kind=kind or None, theme=theme or None, reviewer_id=chosen)
    return page.render("reviews.html", rows=rows, advisors=advisors,
                       filters={"from": since, "to": until, "kind": kind, "theme": theme, "advisor": advisor})


@router.get("/agreement")
def agreement(page: Supervisor, since: Since = "", until: Until = "") -> Response:
    try:
        start, end = date_range(since, until)
    except ValueError:
        return page.bad_dates()
    return page.render("agreement.html", figures=confusion(page.db, since=start, until=end),
                       filters={"from": since, "to": until})


@router.get("/deadlines")
def deadlines(page: Supervisor) -> Response:
    today = page.console.today()
    handlers = {u.id: u.username for u in page.db.scalars(select(User))}
    rows = [{"deadline": d, "days_left": page.console.calendar.between(today, d.due),
             "handler": handlers.get(d.case.owner_id or d.stage.handler_id or -1, "nobody yet"),
             "team": d.case.team or "none"}
            for d in open_deadlines(page.db)]
    by_owner: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = by_owner.setdefault((row["handler"], row["team"]), [0, 0, 0])
        counts[0 if row["deadline"].due < today else 1 if row["deadline"].due == today else 2] += 1
    return page.render("deadlines.html", overdue=[r for r in rows if r["deadline"].due < today],
                       due_today=[r for r in rows if r["deadline"].due == today],
                       upcoming=[r for r in rows if r["deadline"].due > today], by_owner=sorted(by_owner.items()))


@router.get("/reports")
def reports(page: Supervisor, since: Since = "", until: Until = "",
            form: Annotated[str, Query(alias="format")] = "html") -> Response:
    """Code 8.1 and 9.7 figures; the default period is this financial year (from 1 April) to today."""
    console = page.console
    today = console.today()
    try:
        period = Period(a_date(since) if since else dt.date(this_year(today), 4, 1), a_date(until) if until else today)
    except ValueError:
        return page.bad_dates()
    figures = build_report(page.db, period, console.calendar, homes_owned=console.homes_owned,
                           landlord=console.letters.letterhead.landlord_name, teams=console.teams())
    name = f"complaints-report-{period.start}-to-{period.end}"
    if form == "csv":
        return Response(to_csv(figures), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'})
    if form == "json":
        return Response(json.dumps(figures, ensure_ascii=False, indent=1), media_type="application/json",
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}.json"'})
    return page.render("report.html", report=figures, charts=charts(figures), period=period)


@router.get("/model")
def model_page(page: Supervisor) -> Response:
    training = page.console.training
    return page.render("model.html", training=training.status(), pending=training.pending())


@router.post("/model/{step}")
def model_step(page: SupervisorForm, step: str) -> Response:
    training, actor = page.console.training, page.user.username
    if step == "train":  # a minute or two, in the background: the page shows how far it has got
        started = training.start(actor)
        if started:
            audit.record(page.db, "model_training_started", actor, page.now())
        say(page.signed, "Training started" if started else "A candidate is already being trained")
    elif step == "accept":
        try:
            version = training.accept()
        except (FileNotFoundError, ValueError) as error:  # none, still training, or unreadable
            return page.error(400, str(error))
        audit.record(page.db, "model_switched", actor, page.now(), version=version)
        say(page.signed, f"Now using model {version}")
    elif step == "discard":
        training.discard()
        say(page.signed, "Candidate discarded")
    else:
        return page.error(404, "No such step.")
    page.db.commit()
    return RedirectResponse("/console/model", status_code=303)
