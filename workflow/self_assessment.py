"""The annual self-assessment against the Code (8.1 a), filled in from the product's own record.

Landlords fill in the Ombudsman's form by hand each year (the seeds show three): for every
provision, the requirement, 'Comply: Yes / No', evidence and commentary. Most of the evidence the
Ombudsman asks for about handling (were acknowledgements on time, were escalations refused, who
handled stage 2) is in this product's record, so here each such provision gets a suggested answer
from the record and the figures behind it, with the cases listed wherever the record shows a
failure. Where the provision is about policy or governance the product cannot see, the form
says so and leaves the evidence to a person (workflow/assessment_entries.py), whose words carry
forward from year to year.

The year is the landlord's financial year, 1 April to 31 March, as every seed reports.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from workflow import evidence_clocks as clocks
from workflow import evidence_record as record
from workflow.assessment_entries import Entry, entries_for
from workflow.assessment_facts import Evidence, Facts, Listed
from workflow.calendar import WorkingCalendar
from workflow.findings import Finding, findings_between
from workflow.models import Case
from workflow.provisions import ATTRIBUTION, SECTIONS
from workflow.report_formats import day
from workflow.reports import Period

CANNOT_SEE = ("The product cannot see this: it is about the landlord's policy, staff or governance. "
              "The evidence is for a person to write.")

EVIDENCE: dict[str, Callable[[Facts], Evidence]] = {
    "1.3": record.choice_to_complain,
    "1.4": record.service_requests,
    "1.5": record.requests_become_complaints,
    "2.1": record.refusal_reasons,
    "2.4": record.refusal_letters,
    "3.1": record.channels,
    "3.6": record.representatives,
    "5.2": record.two_stages,
    "5.3": record.two_stages,
    "5.6": record.definitions,
    "5.7": record.responsibilities,
    "5.9": clocks.updates_when_late,
    "5.10": record.adjustments,
    "5.11": record.escalation_refusal_reasons,
    "5.12": record.full_record,
    "5.13": record.remedies_any_stage,
    "5.14": record.restrictions,
    "6.2": lambda facts: clocks.acknowledgements(facts, 1),
    "6.3": lambda facts: clocks.responses(facts, 1),
    "6.4": lambda facts: clocks.extensions(facts, 1),
    "6.5": lambda facts: clocks.ombudsman_on_extension(facts, 1),
    "6.6": lambda facts: record.outstanding_actions(facts, 1),
    "6.9": lambda facts: record.response_contents(facts, 1),
    "6.11": lambda facts: clocks.acknowledgements(facts, 2),
    "6.12": record.escalations_refused,
    "6.13": record.stage2_handlers,
    "6.14": lambda facts: clocks.responses(facts, 2),
    "6.15": lambda facts: clocks.extensions(facts, 2),
    "6.16": lambda facts: clocks.ombudsman_on_extension(facts, 2),
    "6.17": lambda facts: record.outstanding_actions(facts, 2),
    "6.19": lambda facts: record.response_contents(facts, 2),
    "7.1": record.remedies,
    "9.1": record.learning_and_improvements,
}


def financial_year(year: int) -> Period:
    """2026 is the year 1 April 2026 to 31 March 2027 (the seeds' "2026/27")."""
    return Period(dt.date(year, 4, 1), dt.date(year + 1, 3, 31))


@dataclass(frozen=True)
class AssessedProvision:
    """One row of the form, laid out as the Ombudsman's: section, provision, requirement, comply,
    evidence, commentary; with what the product suggested beside what a person decided."""

    section: int
    section_title: str
    provision: str
    requirement: str
    product_sees: bool  # the record holds evidence for it
    suggested: str | None  # Yes | No | None (for a person to decide)
    comply: str | None  # a person's answer when given, else the suggestion
    decided_by_person: bool
    evidence: list[str]  # the product's sentences, with their figures
    figures: dict[str, object]
    listed: list[Listed]  # the cases behind a 'No'
    written_evidence: str | None  # a person's
    commentary: str | None
    carried_forward: list[str]  # which of a person's fields came from an earlier year
    written_in: dict[str, int]  # field -> the year it was written

    def as_dict(self) -> dict[str, object]:
        return {"section": self.section, "section_title": self.section_title, "provision": self.provision,
                "requirement": self.requirement, "product_sees": self.product_sees, "suggested": self.suggested,
                "comply": self.comply, "decided_by_person": self.decided_by_person, "evidence": list(self.evidence),
                "figures": self.figures, "listed": [item.as_dict() for item in self.listed],
                "written_evidence": self.written_evidence, "commentary": self.commentary,
                "carried_forward": list(self.carried_forward), "written_in": dict(self.written_in)}


@dataclass(frozen=True)
class SelfAssessment:
    landlord: str
    year: int
    period: Period
    as_of: dt.date
    attribution: str
    provisions: list[AssessedProvision]

    def provision(self, number: str) -> AssessedProvision:
        return next(p for p in self.provisions if p.provision == number)

    @property
    def summary(self) -> dict[str, int]:
        answers = Counter(p.comply or "undecided" for p in self.provisions)
        return {"provisions": len(self.provisions), "yes": answers.get("Yes", 0), "no": answers.get("No", 0),
                "undecided": answers.get("undecided", 0),
                "evidenced_by_product": sum(1 for p in self.provisions if p.product_sees)}

    def as_dict(self) -> dict[str, object]:
        return {"landlord": self.landlord, "year": self.year,
                "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
                "as_of": self.as_of.isoformat(), "attribution": self.attribution, "summary": self.summary,
                "provisions": [p.as_dict() for p in self.provisions]}


def _findings(session: Session, period: Period) -> tuple[dict[str, list[Listed]], int]:
    """Provisions the Ombudsman found not complied with in the year, each with the findings; and how
    many findings of non-compliance there were."""
    named: dict[str, list[Listed]] = {}
    findings = [f for f in findings_between(session, period.start, period.end) if f.finding == Finding.NON_COMPLIANCE]
    for finding in findings:
        case = session.get(Case, finding.case_id) if finding.case_id is not None else None
        for provision in finding.provisions:
            named.setdefault(provision, []).append(Listed(
                case.reference if case is not None else finding.ombudsman_reference,
                f"the Ombudsman found non-compliance ({finding.ombudsman_reference}, {day(finding.decided_on)})"))
    return named, len(findings)


def _row(section: int, title: str, number: str, requirement: str, evidence: Evidence, sees: bool,
         entry: Entry | None, year: int) -> AssessedProvision:
    written_in = {}
    if entry is not None and entry.evidence_year is not None:
        written_in["evidence"] = entry.evidence_year
    if entry is not None and entry.commentary_year is not None:
        written_in["commentary"] = entry.commentary_year
    person = entry.comply if entry is not None else None
    return AssessedProvision(
        section=section, section_title=title, provision=number, requirement=requirement, product_sees=sees,
        suggested=evidence.suggestion, comply=person or evidence.suggestion, decided_by_person=person is not None,
        evidence=evidence.lines, figures=evidence.figures, listed=evidence.listed,
        written_evidence=entry.evidence if entry else None, commentary=entry.commentary if entry else None,
        carried_forward=entry.carried(year) if entry else [], written_in=written_in)


def build_self_assessment(session: Session, year: int, calendar: WorkingCalendar, *, landlord: str,
                          today: dt.date) -> SelfAssessment:
    """Every provision of sections 1-9 for one financial year; deadlines are judged up to today when
    the year has not ended, so a form run in June does not call a deadline of July missed."""
    period = financial_year(year)
    as_of = min(period.end, today)
    # a deadline on the year's last day is missed once that day is over: judged as of the day after
    facts = Facts.load(session, period, min(period.end + dt.timedelta(days=1), today), calendar)
    entries = entries_for(session, year)
    found, non_compliance = _findings(session, period)
    rows = []
    for section in SECTIONS:
        for provision in section.provisions:
            number = provision.number
            if number == "8.1":
                evidence = record.annual_report(facts, non_compliance)
            elif number in EVIDENCE:
                evidence = EVIDENCE[number](facts)
            else:
                evidence = Evidence(None, [CANNOT_SEE])
            sees = number in EVIDENCE or number == "8.1"
            if number in found:
                evidence = Evidence("No", [*evidence.lines, f"The Ombudsman found this provision not complied with in "
                                                            f"{len(found[number])} decision(s) in the year."],
                                    evidence.figures, [*evidence.listed, *found[number]])
            rows.append(_row(section.number, section.title, number, provision.requirement, evidence, sees,
                             entries.get(number), year))
    return SelfAssessment(landlord=landlord, year=year, period=period, as_of=as_of, attribution=ATTRIBUTION,
                          provisions=rows)
