"""What an advisor does to a complaint from its page, and the letter each action sends.

Each action is one lifecycle call (which checks the Code's rules and refuses anything out of
turn) and, where the resident must be told, one letter from the templates through the outbox,
in the same transaction. Letters say exactly what the Code asks: the acknowledgement 5.6 and
6.2, the response 6.9 a-g or 6.19 a-g, the extension 6.5 and 6.16, the refusal 2.4.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from workflow.calendar import WorkingCalendar
from workflow.correspondence import to_resident
from workflow.errors import DomainError
from workflow.hazards import record_made_safe
from workflow.letters import Letters
from workflow.lifecycle import TRANSITIONS, ActionPlan, ComplaintLifecycle, Event
from workflow.models import Case, User
from workflow.vocabulary import Kind, Outcome, Remedy

ACTIONS = ("acknowledge", "extend", "respond", "escalate", "refuse", "withdraw", "close")
EVENTS = {"acknowledge": (Event.ACKNOWLEDGE_STAGE1, Event.ACKNOWLEDGE_STAGE2),
          "extend": (Event.EXTEND_STAGE1, Event.EXTEND_STAGE2),
          "respond": (Event.RESPOND_STAGE1, Event.RESPOND_STAGE2),
          "escalate": (Event.REQUEST_ESCALATION,), "refuse": (Event.REFUSE,), "withdraw": (Event.WITHDRAW,),
          "close": (Event.CLOSE,)}


def allowed(case: Case) -> list[str]:
    """The actions the Code allows on this complaint now, for the forms the page shows."""
    if case.kind != Kind.COMPLAINT:
        return []
    return [name for name in ACTIONS if any(case.status in TRANSITIONS[e][0] for e in EVENTS[name])]


def perform(session: Session, calendar: WorkingCalendar, letters: Letters, case: Case, user: User, action: str,
            form: Mapping[str, str], at: dt.datetime) -> str:
    """Do one action; returns what to tell the advisor. DomainError when the Code does not allow it."""
    lifecycle = ComplaintLifecycle(session, calendar)
    field = lambda name: (form.get(name) or "").strip()  # noqa: E731 - a local shorthand
    subject = f"Your complaint {case.reference}"
    if action == "made_safe":
        record_made_safe(session, case, at, user.username, field("action"))
        return "Recorded what was done about the hazard."
    if action not in ACTIONS:
        raise DomainError(f"unknown action {action}")
    if action == "acknowledge":
        stage = lifecycle.acknowledge(case, at, user.username, handler_id=user.id, definition=field("definition"),
                                      outcomes_sought=field("outcomes_sought"),
                                      responsible_for=field("responsible_for"),
                                      not_responsible_for=field("not_responsible_for"))
        assert stage.response_due is not None
        to_resident(session, case, letters.render(
            "acknowledgement", reference=case.reference, stage=stage.number, definition=stage.definition,
            outcomes_sought=stage.outcomes_sought, responsible_for=stage.responsible_for,
            not_responsible_for=stage.not_responsible_for, auto=False, response_due=stage.response_due,
            alternative_formats=case.adjustments_requested), at, subject, automatic=False)
        return f"Acknowledged. The response is due by {stage.response_due:%d %B %Y}."
    if action == "extend":
        try:
            days = int(field("days"))
        except ValueError:
            raise DomainError("say how many working days the extension is") from None
        extension = lifecycle.extend(case, at, user.username, days=days, reason=field("reason"),
                                     ombudsman_details=letters.letterhead.ombudsman_details(),
                                     good_reason=field("good_reason") or None)
        to_resident(session, case, letters.render("extension", reference=case.reference, reason=extension.reason,
                                                  new_due=extension.new_due,
                                                  alternative_formats=case.adjustments_requested),
                    at, subject, automatic=False)
        return f"Extended to {extension.new_due:%d %B %Y}; the resident has been told why."
    if action == "respond":
        remedies = [r for r in form.get("remedies", "").split(",") if r]
        plans = [ActionPlan(line.strip()) for line in field("actions").splitlines() if line.strip()]
        stage = lifecycle.respond(case, at, user.username, outcome=field("outcome") or "", decision=field("decision"),
                                  reasons=field("reasons"), remedies=remedies, remedy_detail=field("remedy_detail"),
                                  actions=plans, handler_id=user.id)
        to_resident(session, case, letters.render(
            "response", reference=case.reference, stage=stage.number, definition=stage.definition or "",
            outcome=Outcome(stage.outcome).value.replace("_", " ") if stage.outcome else "",
            decision=stage.decision, reasons=stage.reasons,
            remedies=", ".join(Remedy(r).value.replace("_", " ") for r in stage.remedies),
            remedy_detail=stage.remedy_detail or "", actions=[p.description for p in plans],
            alternative_formats=case.adjustments_requested), at, subject, automatic=False)
        return "The response has been sent."
    if action == "escalate":
        stage = lifecycle.request_escalation(case, at, user.username)
        to_resident(session, case, letters.render("escalation_logged", reference=case.reference,
                                                  acknowledgement_due=stage.acknowledgement_due,
                                                  alternative_formats=case.adjustments_requested),
                    at, subject, automatic=False)
        return "Escalated to stage 2."
    if action == "refuse":
        lifecycle.refuse(case, at, user.username, reason=field("reason"), explanation=field("explanation"))
        to_resident(session, case, letters.render("refusal", reference=case.reference,
                                                  explanation=field("explanation"),
                                                  alternative_formats=case.adjustments_requested),
                    at, subject, automatic=False)
        return "Refused; the resident has been told why and about the Ombudsman."
    if action == "withdraw":
        lifecycle.withdraw(case, at, user.username, note=field("note"))
        return "Recorded as withdrawn."
    lifecycle.close(case, at, user.username)
    return "Closed."
