"""What went wrong, recorded where it happened: on every stage upheld or partly upheld (Code 9.1).

The seeds' learning sections were written at the year's end from memory ("lessons learned are
discussed"); here the handler picks from a short list for the complaint's theme when they answer,
adds their own words, and the annual report counts the choices by theme (8.1 d). A choice list
rather than free text alone, so that twelve handlers' "contractor didn't turn up" add up to one
figure. Every record and change is audited with the case; the audit holds the choices, never the
words.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow import audit
from workflow.errors import DomainError
from workflow.models import Case, ComplaintLearning, ComplaintStage
from workflow.vocabulary import Kind, Outcome, Theme

# Causes every theme can have: what the Ombudsman's spotlight reports name again and again.
COMMON_CAUSES: dict[str, str] = {
    "delay": "Took too long to put right",
    "communication": "Poor communication or not kept informed",
    "promise_broken": "Did not do what we said we would",
    "staff_conduct": "Staff attitude or behaviour",
    "procedure_not_followed": "Policy or procedure not followed",
    "record_wrong": "Wrong or missing information on our records",
    "policy_at_fault": "Our policy or process itself was at fault",
}
# And those of one theme, as the seeds' councils name them.
THEME_CAUSES: dict[str, dict[str, str]] = {
    Theme.REPAIRS: {"repair_not_done": "Repair not done", "repair_quality": "Repair done badly",
                    "appointment_missed": "Appointment missed or not made",
                    "contractor": "Contractor's work or conduct"},
    Theme.DAMP_MOULD: {"not_inspected": "Not inspected in time", "cause_not_treated": "Cause not treated, only the signs",
                       "health_risk_missed": "Risk to health not considered"},
    Theme.ASB: {"reports_not_acted_on": "Reports not acted on", "no_action_plan": "No action plan or updates",
                "risk_not_assessed": "Risk not assessed"},
    Theme.TENANCY: {"wrong_advice": "Wrong advice about the tenancy"},
    Theme.RENT: {"charge_wrong": "Wrong charge or balance", "payment_not_recorded": "Payment not recorded",
                 "arrears_action": "Arrears action not appropriate"},
    Theme.ALLOCATIONS: {"priority_wrong": "Banding or priority wrong",
                        "offer_handled_badly": "Offer or bidding handled badly"},
    Theme.COMMUNAL: {"cleaning_not_done": "Cleaning or grounds work not done",
                     "communal_safety": "Safety problem in a shared area not dealt with"},
    Theme.LEASEHOLD: {"service_charge": "Service charge wrong or unexplained",
                      "consultation": "Consultation not done properly"},
    Theme.STAFF_CONDUCT: {"not_returned": "Calls or emails not returned"},
    Theme.COMPLAINT_HANDLING: {"complaint_late": "Complaint answered late",
                               "complaint_not_logged": "Complaint not recognised or logged",
                               "complaint_misunderstood": "Complaint misunderstood"},
    Theme.OTHER: {},
}
LEARNING_OUTCOMES = (Outcome.UPHELD.value, Outcome.PARTLY_UPHELD.value)
DETAIL_CHARS = 2000


def causes_for(theme: str | None) -> dict[str, str]:
    """The choices a handler is offered for a complaint of this theme: its own first, then the common ones."""
    return {**THEME_CAUSES.get(theme or "", {}), **COMMON_CAUSES}


def cause_label(cause: str) -> str:
    for choices in (COMMON_CAUSES, *THEME_CAUSES.values()):
        if cause in choices:
            return choices[cause]
    return cause.replace("_", " ")


def needs_learning(stage: ComplaintStage) -> bool:
    """A stage answered upheld or partly upheld: something went wrong, so the learning is asked for."""
    return stage.responded_on is not None and stage.outcome in LEARNING_OUTCOMES


def record_learning(session: Session, case: Case, stage_number: int, causes: list[str], detail: str, actor: str,
                    at: dt.datetime) -> ComplaintLearning:
    """Record (or correct) what went wrong at one stage; only on a stage upheld or partly upheld."""
    if case.kind != Kind.COMPLAINT:
        raise DomainError(f"{case.reference} is not a complaint")
    stage = case.stage_record(stage_number)
    if stage is None or not needs_learning(stage):
        raise DomainError(f"stage {stage_number} of {case.reference} was not upheld or partly upheld: "
                          "learning is recorded where something went wrong")
    allowed = causes_for(case.theme)
    chosen = list(dict.fromkeys(c.strip() for c in causes if c.strip()))
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise DomainError(f"not a choice for {(case.theme or 'this theme').replace('_', ' ')}: {', '.join(unknown)}")
    if not chosen:
        raise DomainError("choose at least one thing that went wrong")
    words = " ".join(detail.split())[:DETAIL_CHARS] or None
    row = session.scalar(select(ComplaintLearning).where(ComplaintLearning.case_id == case.id,
                                                         ComplaintLearning.stage_number == stage_number))
    previous = list(row.causes) if row is not None else None
    if row is None:
        row = ComplaintLearning(case_id=case.id, stage_number=stage_number)
        session.add(row)
    row.theme, row.team, row.causes, row.detail = case.theme, case.team, chosen, words
    row.recorded_by, row.recorded_at = actor, at
    session.flush()
    audit.record(session, "learning_recorded" if previous is None else "learning_changed", actor, at, case=case,
                 stage=stage_number, causes=chosen, previous=previous)
    return row


def learning_of(session: Session, case: Case) -> list[ComplaintLearning]:
    return list(session.scalars(select(ComplaintLearning).where(ComplaintLearning.case_id == case.id)
                                .order_by(ComplaintLearning.stage_number)))


@dataclass(frozen=True)
class ThemeLearning:
    """One theme's learning over a period: how many stages recorded it, and each cause chosen how often."""

    theme: str
    stages: int
    causes: dict[str, int]  # cause -> count, most often first


@dataclass(frozen=True)
class LearningSummary:
    upheld_stages: int  # answered upheld or partly upheld in the period
    recorded: int  # of those, with learning recorded
    missing: list[tuple[str, int]]  # (reference, stage) upheld without learning
    by_theme: list[ThemeLearning]


def summarise(session: Session, start: dt.date, end: dt.date) -> LearningSummary:
    """Learning on stages answered upheld or partly upheld between start and end (London dates, both included)."""
    stages = list(session.scalars(
        select(ComplaintStage).join(Case)
        .where(ComplaintStage.responded_on >= start, ComplaintStage.responded_on <= end,
               ComplaintStage.outcome.in_(LEARNING_OUTCOMES))
        .options(selectinload(ComplaintStage.case)).order_by(ComplaintStage.responded_on, ComplaintStage.id)))
    rows = {(r.case_id, r.stage_number): r for r in session.scalars(
        select(ComplaintLearning).where(ComplaintLearning.case_id.in_([s.case_id for s in stages])))}
    found = [rows[(s.case_id, s.number)] for s in stages if (s.case_id, s.number) in rows]
    missing = [(s.case.reference, s.number) for s in stages if (s.case_id, s.number) not in rows]
    themes: dict[str, list[ComplaintLearning]] = {}
    for row in found:
        themes.setdefault(row.theme or "not recorded", []).append(row)
    by_theme = [ThemeLearning(theme, len(group), dict(sorted(Counter(c for r in group for c in r.causes).items(),
                                                             key=lambda item: (-item[1], item[0]))))
                for theme, group in sorted(themes.items(), key=lambda item: (-len(item[1]), item[0]))]
    return LearningSummary(upheld_stages=len(stages), recorded=len(found), missing=missing, by_theme=by_theme)
