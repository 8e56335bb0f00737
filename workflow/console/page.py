"""What every console page is given, and the checks it is given it through.

A page is a module-level function whose first parameter is one of the role types below
(`Advisor`, `Supervisor`, `Admin`, and `…Form` for a POST). FastAPI resolves that parameter
before the page runs: the session cookie is looked up, the user's role checked and, on a form,
the session's CSRF token compared with the one the form carried. A visitor who fails a check
gets the sign-in page or a refusal and the page never runs, so no page can forget a check, and a
page can be imported and tried alone by handing it a `Page`. tests/test_console_pages.py checks
that every route takes one of these types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from workflow.calendar import WorkingCalendar, london_date, london_midnight
from workflow.console import signin
from workflow.console.auth import IDLE, csrf_ok, may, said, signed_in
from workflow.letters import Letters
from workflow.models import ConsoleSession, User
from workflow.report_formats import TEMPLATES as REPORT_TEMPLATES
from workflow.report_formats import add_filters
from workflow.reports import teams_of
from workflow.vocabulary import Kind, Role, Theme

HERE = Path(__file__).parent
COOKIE = "triage_console"
HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # 9999-12-31 overflowed a day later: a 500


class ModelTraining(Protocol):
    """What `bot` hands the console for retraining; the console never touches the classifier itself."""

    def start(self, by: str) -> bool: ...
    def status(self) -> dict[str, Any]: ...
    def pending(self) -> bool: ...
    def accept(self) -> str: ...
    def discard(self) -> None: ...


@dataclass(frozen=True)
class Console:
    """The console's settings and services, built once by `bot` and kept on the app (`app.state.console`).

    `wake` tells a worker in this process that a message is back in its queue (others find it on
    their next pass)."""

    sessions: sessionmaker[Session]
    now: Callable[[], dt.datetime]
    calendar: WorkingCalendar
    letters: Letters
    team_for: Callable[[str], str]
    training: ModelTraining
    secure_cookies: bool = False
    homes_owned: int = 0
    wake: Callable[[], None] = lambda: None
    idle: dt.timedelta = IDLE
    password_checks: signin.PasswordChecks = field(default_factory=signin.PasswordChecks)

    @cached_property
    def templates(self) -> Environment:
        templates = add_filters(Environment(loader=ChoiceLoader([FileSystemLoader(str(HERE / "templates")),
                                                                 FileSystemLoader(str(REPORT_TEMPLATES))]),
                                            autoescape=select_autoescape()))
        templates.globals.update(landlord_name=self.letters.letterhead.landlord_name,
                                 kinds=[k.value for k in Kind], themes=[t.value for t in Theme])
        return templates

    def teams(self) -> list[str]:
        return teams_of(self.team_for)

    def today(self) -> dt.date:
        return london_date(self.now())

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        """Every value goes through Jinja2's autoescaping, so a resident's `<script>` is shown as text."""
        values.setdefault("flash", "")
        return HTMLResponse(self.templates.get_template(template).render(**values), status_code=status,
                            headers=HEADERS)


def console_of(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


@dataclass
class Page:
    """A signed-in visitor on one page: their database session, who they are, and whether they
    posted a form (a form's answer shows no message; the page it leads to does)."""

    console: Console
    db: Session
    user: User
    signed: ConsoleSession
    posted: bool = False
    _shown: str | None = field(default=None, repr=False)

    def flash(self) -> str:
        """The message left by this user's last action, taken (and so shown once) only by a page that
        draws it: live.js's JSON poll, landing between a form and the page it leads to, took it before."""
        if self.posted:
            return ""
        if self._shown is None:
            self._shown = said(self.db, self.signed)
        return self._shown

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return self.console.render(template, status, user=self.user, csrf=self.signed.csrf,
                                   **{"flash": self.flash(), **values})

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status, message=message)

    def bad_dates(self) -> HTMLResponse:
        return self.error(400, f"Those dates cannot be used. Dates are written like 2026-11-23, between "
                               f"{EARLIEST.year} and {LATEST.year}, and a period ends on or after the day it starts.")

    def now(self) -> dt.datetime:
        return self.console.now()


class Denied(Exception):
    """A visitor refused before the page ran; the app answers with `response` (see `install`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def form_data(request: Request) -> FormData:
    """The posted form, read once: the CSRF check and the page share it."""
    return await request.form()


Posted = Annotated[FormData, Depends(form_data)]


def _visit(request: Request, role: Role, csrf: str | None) -> Iterator[Page]:
    """`csrf` is the token a form carried, or None on a page that is only looked at."""
    console = console_of(request)
    with console.sessions() as db:
        found = signed_in(db, request.cookies.get(COOKIE), console.now(), console.idle)
        if found is None:
            raise Denied(RedirectResponse("/console/login", status_code=303))
        page = Page(console, db, *found, posted=csrf is not None)
        if not may(page.user, role):
            raise Denied(page.error(403, "This page is for supervisors. Ask a supervisor if you need it."))
        if csrf is not None and not csrf_ok(page.signed.csrf, csrf):
            raise Denied(page.error(403, "This form had expired. Go back, reload the page and try again."))
        yield page


def looking(role: Role) -> Callable[[Request], Iterator[Page]]:
    def visitor(request: Request) -> Iterator[Page]:
        yield from _visit(request, role, None)

    visitor.__qualname__ = f"looking({role.value})"
    return visitor


def posting(role: Role) -> Callable[[Request, FormData], Iterator[Page]]:
    def visitor(request: Request, form: Posted) -> Iterator[Page]:
        yield from _visit(request, role, str(form.get("csrf", "")))

    visitor.__qualname__ = f"posting({role.value})"
    return visitor


CHECKS = {role: (looking(role), posting(role)) for role in Role}
Advisor = Annotated[Page, Depends(CHECKS[Role.ADVISOR][0])]
AdvisorForm = Annotated[Page, Depends(CHECKS[Role.ADVISOR][1])]
Supervisor = Annotated[Page, Depends(CHECKS[Role.SUPERVISOR][0])]
SupervisorForm = Annotated[Page, Depends(CHECKS[Role.SUPERVISOR][1])]
Admin = Annotated[Page, Depends(CHECKS[Role.ADMIN][0])]
AdminForm = Annotated[Page, Depends(CHECKS[Role.ADMIN][1])]
ConsoleOf = Annotated[Console, Depends(console_of)]


def form_fields(form: Posted) -> dict[str, str]:
    """A form's fields as text, a field given more than once (ticked boxes) joined with commas."""
    return {key: ",".join(str(v) for v in form.getlist(key)) for key in form}


Fields = Annotated[dict[str, str], Depends(form_fields)]


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
