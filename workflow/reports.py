"""The figures the governing body and the Member Responsible for Complaints receive (Code 8.1, 9.7).

Every seed builds these tables by hand from spreadsheets, and one could not count refused
complaints at all. Here each figure is computed from the record itself, over a period of London
dates with both ends included, and the rule behind each count is written beside it so a
council can explain its published numbers:

- a stage is counted as received in the period when its request date (the complaint's received
  date, or the escalation request's date) falls in it; CH01 divides those counts by homes owned;
- CH02 counts stages whose response date falls in the period, and a response is within the Code's
  timescale when it is no later than 10 (stage 1) or 20 (stage 2) working days after the
  acknowledgement (6.3, 6.14); "with extensions" measures against the deadline as extended by
  the extensions agreed and recorded (6.4, 6.15), "without" against the deadline before any;
- refusals, withdrawals and everything else that ends a case are counted on the day it ended;
- other contacts (service requests, enquiries, compliments, feedback) are counted on the day
  their case was opened, and a service request "became a complaint" when a complaint about it
  was linked under 1.5 at any time up to the end of the period;
- a service improvement was made in the period when it was marked done in it, and is planned when
  it was created by the period's end and not done by then; each is listed once, with every
  complaint that prompted it (8.1 d);
- learning is counted on the stages answered upheld or partly upheld in the period, by the theme
  the case had when the learning was recorded;
- the Ombudsman's findings are counted on the date of the Ombudsman's decision (8.1 c).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow import improvements, learning
from workflow.calendar import WorkingCalendar, london_date, london_midnight
from workflow.findings import Finding, findings_between
from workflow.lifecycle import RESPOND_WITHIN
from workflow.models import Case, CaseLink, ComplaintStage, Review
from workflow.vocabulary import ComplaintStatus, Kind, LinkRelation, Outcome, Remedy, Theme

UNRECORDED = "not recorded"
T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # included

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as UTC instants: London midnight at the start to London midnight after the end."""
        return london_midnight(self.start), london_midnight(self.end + dt.timedelta(days=1))

    def months(self) -> list[str]:
        months, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _counts(values: Iterable[str | None], keys: Iterable[str] = ()) -> dict[str, int]:
    """Counts with every expected key present (zeros shown, as in a published table), then the rest by size."""
    counted = Counter(value or UNRECORDED for value in values)
    ordered = {key: counted.pop(key, 0) for key in keys}
    ordered.update(sorted(counted.items(), key=lambda item: (-item[1], item[0])))
    return ordered


def _stage_figures(stages: list[ComplaintStage], period: Period, calendar: WorkingCalendar, number: int,
                   homes: int) -> dict[str, object]:
    mine = [s for s in stages if s.number == number]
    received = [s for s in mine if s.requested_on in period]
    acknowledged = [s for s in mine if s.acknowledged_on in period]
    responded = [s for s in mine if s.responded_on in period]
    within = [s for s in responded if s.responded_on and s.acknowledged_on
              and s.responded_on <= calendar.add(s.acknowledged_on, RESPOND_WITHIN[number])]
    within_extended = [s for s in responded if s.responded_on and s.response_due and s.responded_on <= s.response_due]
    withdrawn = [s for s in mine if s.outcome == Outcome.WITHDRAWN and s.case.ended_on in period]
    decided = responded + withdrawn
    outcomes = _counts((s.outcome for s in decided), [o.value for o in Outcome])
    by_team: dict[str, list[ComplaintStage]] = {}
    for stage in decided:
        by_team.setdefault(stage.case.team or UNRECORDED, []).append(stage)
    remedies = _counts((r for s in responded for r in s.remedies), [r.value for r in Remedy])
    return {
        "received": len(received),
        "per_1000_homes": round(len(received) * 1000 / homes, 1) if homes else None,
        "acknowledged": len(acknowledged),
        "acknowledged_within_5_working_days": sum(1 for s in acknowledged
                                                  if s.acknowledged_on and s.acknowledged_on <= s.acknowledgement_due),
        "responded": len(responded),
        "within_timescale": len(within),
        "within_timescale_share": _share(len(within), len(responded)),
        "within_timescale_with_extensions": len(within_extended),
        "within_timescale_with_extensions_share": _share(len(within_extended), len(responded)),
        "extended": sum(1 for s in responded if s.extensions),
        "average_working_days_to_acknowledge": _average(
            [calendar.between(s.requested_on, s.acknowledged_on) for s in acknowledged if s.acknowledged_on]),
        "average_working_days_to_respond": _average(
            [calendar.between(s.acknowledged_on, s.responded_on) for s in responded
             if s.acknowledged_on and s.responded_on]),
        "outcomes": outcomes,
        "remedies": remedies,
        "outcomes_by_team": {team: _counts((s.outcome for s in rows), [o.value for o in Outcome])
                             for team, rows in sorted(by_team.items())},
    }


def _agreement(session: Session, period: Period) -> dict[str, object]:
    start, end = period.bounds()
    reviews = list(session.execute(select(Review.suggested_kind, Review.confirmed_kind, Review.suggested_theme,
                                          Review.confirmed_theme, Review.created_at)
                                   .where(Review.created_at >= start, Review.created_at < end)))
    counts = {month: [0, 0] for month in period.months()}  # reviews, both agreed
    kind = theme = both = 0
    for r in reviews:
        kind_ok, theme_ok = r.suggested_kind == r.confirmed_kind, r.suggested_theme == r.confirmed_theme
        kind, theme, both = kind + kind_ok, theme + theme_ok, both + (kind_ok and theme_ok)
        month = counts[london_date(r.created_at).strftime("%Y-%m")]
        month[0], month[1] = month[0] + 1, month[1] + (kind_ok and theme_ok)
    by_month: dict[str, dict[str, object]] = {month: {"reviews": n, "both_agreed": agreed, "share": _share(agreed, n)}
                                              for month, (n, agreed) in counts.items()}
    return {"reviews": len(reviews), "kind_agreed": kind, "kind_share": _share(kind, len(reviews)),
            "theme_agreed": theme, "theme_share": _share(theme, len(reviews)),
            "both_agreed": both, "both_share": _share(both, len(reviews)), "by_month": by_month}


def _improvements(session: Session, period: Period) -> dict[str, object]:
    """8.1 d: improvements made in the period and those planned at its end, each once with its complaints."""
    made = improvements.made_and_planned(session, period.start, period.end)
    return {"made": {v.reference: v.as_dict() for v in made.made},
            "planned": {v.reference: v.as_dict() for v in made.planned},
            "made_total": len(made.made), "planned_total": len(made.planned),
            "complaints_behind_them": len({ref for v in made.made + made.planned for ref in v.complaints})}


def _learning(session: Session, period: Period) -> dict[str, object]:
    """Learning by theme: stages answered upheld or partly upheld in the period, and what went wrong."""
    summary = learning.summarise(session, period.start, period.end)
    return {"upheld_stages": summary.upheld_stages, "recorded": summary.recorded,
            "not_recorded": [f"{reference} stage {stage}" for reference, stage in summary.missing],
            "by_theme": {t.theme: {"stages": t.stages, "causes": {learning.cause_label(c): n
                                                                  for c, n in t.causes.items()}}
                         for t in summary.by_theme}}


def _findings(session: Session, period: Period) -> dict[str, object]:
    """8.1 c and 9.7 c: the Ombudsman's findings decided in the period, as a supervisor entered them."""
    found = findings_between(session, period.start, period.end)
    cases = dict(session.execute(select(Case.id, Case.reference)
                                 .where(Case.id.in_([f.case_id for f in found if f.case_id is not None]))).all())
    return {"total": len(found),
            "non_compliance": sum(1 for f in found if f.finding == Finding.NON_COMPLIANCE),
            "by_finding": _counts((f.finding for f in found), [f.value for f in Finding]),
            "findings": {key: {"ombudsman_reference": f.ombudsman_reference, "decided_on": f.decided_on.isoformat(),
                               "finding": f.finding, "provisions": list(f.provisions), "summary": f.summary,
                               "orders": f.orders,
                               "complaint": cases.get(f.case_id) if f.case_id is not None else None}
                         for key, f in _keyed(found, lambda f: f.ombudsman_reference)}}


def _keyed(rows: list[T], name: Callable[[T], str]) -> list[tuple[str, T]]:
    """Rows named for a table's keys, a repeated name numbered ("2026-001", "2026-001 (2)")."""
    seen: Counter[str] = Counter()
    keyed = []
    for row in rows:
        seen[name(row)] += 1
        keyed.append((name(row) if seen[name(row)] == 1 else f"{name(row)} ({seen[name(row)]})", row))
    return keyed


def teams_of(team_for: Callable[[str], str]) -> list[str]:
    """Every team the configuration names, so a team with no complaints still shows its zero."""
    return sorted({team_for(theme.value) for theme in Theme})


def build_report(session: Session, period: Period, calendar: WorkingCalendar, *, homes_owned: int,
                 landlord: str, teams: Iterable[str] = ()) -> dict[str, object]:
    """All the figures for one period, as plain data (JSON, CSV and HTML are renderings of it)."""
    start, end = period.bounds()
    stages = list(session.scalars(
        select(ComplaintStage).join(Case)
        .where(ComplaintStage.requested_on <= period.end)
        .options(selectinload(ComplaintStage.extensions), selectinload(ComplaintStage.case))))
    stage_figures = {str(n): _stage_figures(stages, period, calendar, n, homes_owned) for n in (1, 2)}
    first_stages = [s for s in stages if s.number == 1 and s.requested_on in period]
    months = period.months()
    themes, teams = [t.value for t in Theme], list(teams)

    refusals = list(session.scalars(select(Case).where(Case.kind == Kind.COMPLAINT.value,
                                                    Case.status == ComplaintStatus.REFUSED.value,
                                                    Case.ended_on >= period.start, Case.ended_on <= period.end)
                                 .options(selectinload(Case.stages))))
    opened = list(session.scalars(select(Case).where(Case.opened_at >= start, Case.opened_at < end)))
    requests = [c for c in opened if c.kind == Kind.SERVICE_REQUEST]
    request_ids = [c.id for c in requests]
    became = set(session.scalars(
        select(CaseLink.to_case_id).where(CaseLink.relation == LinkRelation.COMPLAINT_ABOUT_REQUEST.value,
                                          CaseLink.to_case_id.in_(request_ids), CaseLink.created_at < end)))
    offered = [c for c in session.scalars(select(Case).where(Case.choice_offered_at >= start,
                                                             Case.choice_offered_at < end))]
    compliments = [c for c in opened if c.kind == Kind.COMPLIMENT]
    one, two = stage_figures["1"], stage_figures["2"]
    return {
        "landlord": landlord,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "homes_owned": homes_owned,
        "ch01": {"stage1_per_1000_homes": one["per_1000_homes"], "stage2_per_1000_homes": two["per_1000_homes"]},
        "ch02": {"stage1_within_timescale_share": one["within_timescale_share"],
                 "stage1_within_timescale_with_extensions_share": one["within_timescale_with_extensions_share"],
                 "stage2_within_timescale_share": two["within_timescale_share"],
                 "stage2_within_timescale_with_extensions_share": two["within_timescale_with_extensions_share"]},
        "stages": stage_figures,
        "complaints_by": {
            "theme": _counts((s.case.theme for s in first_stages), themes),
            "team": _counts((s.case.team for s in first_stages), teams),
            "channel": _counts(s.case.channel for s in first_stages),
            "month": _counts((s.requested_on.strftime("%Y-%m") for s in first_stages), months),
        },
        "refused": {
            "total": len(refusals),
            "by_reason": _counts(c.refusal_reason for c in refusals),
            "by_stage": _counts((f"stage {max((s.number for s in c.stages), default=0)}" if c.stages
                                 else "before logging") for c in refusals),
            "by_theme": _counts(c.theme for c in refusals),
        },
        "contacts": {
            "by_kind": _counts((c.kind for c in opened), [k.value for k in Kind]),
            "by_channel": _counts(c.channel for c in opened),
            "by_month": {month: _counts((c.kind for c in opened if london_date(c.opened_at).strftime("%Y-%m") == month),
                                        [k.value for k in Kind]) for month in months},
        },
        "service_requests": {"recorded": len(requests), "became_complaints": len(became),
                             "became_complaints_share": _share(len(became), len(requests)),
                             "by_team": _counts(c.team for c in requests)},
        "choice_offered": {"offered": len(offered),
                           "chose_complaint": sum(1 for c in offered if c.choice_answer == "complaint"),
                           "chose_request": sum(1 for c in offered if c.choice_answer == "request"),
                           "no_answer_yet": sum(1 for c in offered if c.choice_answer is None)},
        "compliments": {"total": len(compliments), "by_team": _counts(c.team for c in compliments)},
        "model_agreement": _agreement(session, period),
        "improvements": _improvements(session, period),
        "learning": _learning(session, period),
        "ombudsman_findings": _findings(session, period),
        "timescales_table": [
            {"stage": f"Stage {n}", "received": f["received"], "responded": f["responded"],
             "within_timescale": f["within_timescale"], "within_timescale_share": f["within_timescale_share"],
             "within_timescale_with_extensions": f["within_timescale_with_extensions"]}
            for n, f in (("1", one), ("2", two))],
    }
