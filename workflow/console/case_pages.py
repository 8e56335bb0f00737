"""A case's page and what is done from it: confirming or correcting the suggestion, and every
action a handler takes (workflow/console/actions.py says which apply and does them).

A refused action draws the page again with the reason beside its form and what was typed kept;
an action posted from a page drawn before the case last changed is refused with what changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import blocks, cases, improvements, learning, ownership, presence, records, saved_replies, undelivered
from workflow.console.actions import allowed, perform, tell_about_change
from workflow.console.auth import say
from workflow.console.page import HEADERS, Advisor, AdvisorForm, Fields, Page
from workflow.correspondence import residents_words
from workflow.errors import DomainError
from workflow.models import Case, Message, User
from workflow.report_formats import moment
from workflow.residents import active_restriction
from workflow.reviews import latest_classification, record_review
from workflow.users import active_users
from workflow.vocabulary import AdjustmentKind, Kind, Outcome, RefusalReason, Remedy, row_id

router = APIRouter()


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


def _learning_values(session: Session, case: Case) -> dict[str, Any]:
    """The case page's learning section (Code 9.1): what went wrong per stage, the block, improvements."""
    if case.kind != Kind.COMPLAINT:
        return {}
    prompted = improvements.prompted_by(session, case)
    return {"learning_due": [s for s in case.stages if learning.needs_learning(s)],
            "learned": {row.stage_number: row for row in learning.learning_of(session, case)},
            "causes": learning.causes_for(case.theme), "block": blocks.block_of(session, case), "prompted": prompted,
            "open_improvements": [i for i in improvements.open_improvements(session) if i not in prompted],
            "people": active_users(session)}


def case_view(page: Page, case: Case, *, status: int = 200, failed: Failed | None = None, use: int | None = None,
              reply_draft: str = "") -> HTMLResponse:
    """The case page, renewing the viewer's presence (workflow/presence.py)."""
    session, user, today = page.db, page.user, page.console.today()
    messages = list(session.scalars(select(Message).where(Message.case_id == case.id)
                                    .order_by(Message.received_at, Message.id)))
    stage = case.stage_record(case.stage)
    due = None
    if stage is not None and case.ended_on is None and stage.responded_on is None:  # none after the response
        due = stage.acknowledgement_due if stage.acknowledged_on is None else stage.response_due
    linked = cases.complaints_about(session, case) if case.kind == Kind.SERVICE_REQUEST else []
    restriction = active_restriction(session, case.resident_id, today) if case.resident_id is not None else None
    owner = session.get(User, case.owner_id) if case.owner_id is not None else None
    try:
        records.who_may_write(restriction, user)
        write_refused = ""
    except DomainError as error:
        write_refused = str(error)
    presence.mark_viewing(session, case, user, page.now())
    drawn = page.render("case.html", status, case=case, messages=messages, linked_complaints=linked,
                        notes=cases.notes_of(session, case), restriction=restriction, owner=owner,
                        candidates=ownership.candidates(session, case), write_refused=write_refused,
                        saved_replies=saved_replies.listed(session), use=use, reply_draft=reply_draft,
                        panel=records.panel(session, case, today),
                        teams=sorted({*page.console.teams(), *([case.team] if case.team else [])}),
                        suggestion=latest_classification(session, case), actions=allowed(case), stage=stage,
                        draft=residents_words(session, case),
                        days_left=page.console.calendar.between(today, due) if due else None,
                        outcomes=[o.value for o in Outcome if o != Outcome.WITHDRAWN],
                        remedies=[r.value for r in Remedy], refusal_reasons=[r.value for r in RefusalReason],
                        adjustment_kinds=[k.value for k in AdjustmentKind], seen=presence.version(session, case),
                        viewers=presence.viewers(session, case, user, page.now()), failed=failed,
                        undelivered=undelivered.failed_message_ids(session, [m.id for m in messages]),
                        **_learning_values(session, case))
    session.commit()
    return drawn


def changed_under(page: Page, case: Case, action: str, seen: str, typed: Mapping[str, str]) -> HTMLResponse | None:
    """Refuse an action posted from a page drawn before the case last changed, saying what changed."""
    if not seen or seen == presence.version(page.db, case):
        return None
    return case_view(page, case, status=409, failed=Failed(
        action, "Nothing was changed: this case changed after you opened it. Read it again, then try again; "
                "what you typed is kept.", typed, presence.changes_since(page.db, case, seen)))


@router.get("/cases/{reference}")
def case_page(page: Advisor, reference: str, use: str = "") -> Response:
    case = cases.by_reference(page.db, reference)
    if case is None:
        return page.error(404, f"There is no case {reference}.")
    try:
        chosen_reply = row_id(use) if use else None
        if use and chosen_reply is None:
            raise DomainError("there is no such saved reply")
        reply_draft = saved_replies.filled(page.db, chosen_reply, case) if chosen_reply else ""
    except DomainError as error:
        return page.error(404, f"{error}.")
    return case_view(page, case, use=chosen_reply, reply_draft=reply_draft)


@router.get("/cases/{reference}/live")
def case_live(page: Advisor, reference: str, seen: str = "") -> Response:
    """For live.js on an open case page: who else has it open, and what changed since it was drawn."""
    case = cases.by_reference(page.db, reference)
    if case is None:
        return JSONResponse({"error": "no such case"}, 404, headers=HEADERS)
    presence.mark_viewing(page.db, case, page.user, page.now())
    news = {"viewers": presence.viewers(page.db, case, page.user, page.now()),
            "changes": [{"who": c.who, "what": c.what, "at": moment(c.at)}
                        for c in presence.changes_since(page.db, case, seen)] if seen else []}
    page.db.commit()
    return JSONResponse(news, headers=HEADERS)


@router.post("/cases/{reference}/review")
def review(page: AdvisorForm, reference: str, kind: Annotated[str, Form()] = "", theme: Annotated[str, Form()] = "",
           back: Annotated[str, Form()] = "", seen: Annotated[str, Form()] = "") -> Response:
    session, console = page.db, page.console
    case = cases.by_reference(session, reference)
    suggestion = latest_classification(session, case) if case is not None else None
    if case is None or suggestion is None:
        return page.error(404, f"There is no suggestion to review on {reference}.")
    stale = changed_under(page, case, "review", seen, {"kind": kind, "theme": theme})
    if stale is not None:
        return stale
    try:
        _, changed = record_review(session, console.calendar, case, suggestion, page.user,
                                   kind=kind or suggestion.kind, theme=theme or suggestion.theme,
                                   team=console.team_for(theme or suggestion.theme), at=page.now())
        told = tell_about_change(session, console.calendar, console.letters, case, changed, page.now())
    except (ValueError, DomainError) as error:
        session.rollback()
        return page.error(400, f"Nothing was changed: {error}.")
    if back == "queue":  # confirmed from the queue with one click: stay on the queue
        if told:
            say(page.signed, f"{case.reference}: {told}")
        session.commit()
        return RedirectResponse("/console/", status_code=303)
    say(page.signed, told or "Saved.")
    session.commit()
    return RedirectResponse(f"/console/cases/{case.reference}", status_code=303)


@router.post("/cases/{reference}/act/{action}")
def act(page: AdvisorForm, form: Fields, reference: str, action: str) -> Response:
    typed = dict(form)
    case = cases.by_reference(page.db, reference)
    if case is None:
        return page.error(404, f"There is no case {reference}.")
    stale = changed_under(page, case, action, typed.get("seen", ""), typed)
    if stale is not None:
        return stale
    console = page.console
    try:
        done = perform(page.db, console.calendar, console.letters, case, page.user, action, typed, page.now(),
                       teams=console.teams())
    except (DomainError, ValueError) as error:
        page.db.rollback()
        return case_view(page, case, status=400, failed=Failed(action, f"Nothing was changed: {error}.", typed))
    say(page.signed, done)
    page.db.commit()
    return RedirectResponse(f"/console/cases/{case.reference}", status_code=303)
