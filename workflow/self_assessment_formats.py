"""The self-assessment's renderings: a printable HTML form, a CSV of its rows, and JSON (as_dict).

Laid out as the Ombudsman's form and the seeds lay theirs out: section, provision, requirement,
Comply: Yes / No, evidence, commentary. The HTML goes through the annual report's environment
(autoescaped, the same filters), so a team name or a commentary with markup in it prints as text.
"""

from __future__ import annotations

import csv
import io
import json

from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow.report_formats import TEMPLATES, add_filters
from workflow.self_assessment import AssessedProvision, SelfAssessment

COLUMNS = ("section", "provision", "requirement", "comply", "suggested", "evidence", "cases", "written_evidence",
           "commentary", "carried_forward")


def _environment() -> Environment:
    return add_filters(Environment(loader=FileSystemLoader(str(TEMPLATES)),
                                   autoescape=select_autoescape(default_for_string=True, default=True)))


def to_html(assessment: SelfAssessment) -> str:
    return _environment().get_template("self_assessment.html").render(a=assessment)


def to_json(assessment: SelfAssessment) -> str:
    return json.dumps(assessment.as_dict(), ensure_ascii=False)


def _csv_row(p: AssessedProvision) -> list[str]:
    return [f"{p.section}: {p.section_title}", p.provision, p.requirement, p.comply or "", p.suggested or "",
            " ".join(p.evidence), "; ".join(f"{item.reference}: {item.note}" for item in p.listed),
            p.written_evidence or "", p.commentary or "", ", ".join(p.carried_forward)]


def to_csv(assessment: SelfAssessment) -> str:
    """One provision per row, the form's columns plus the suggestion and the cases behind a 'No'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for provision in assessment.provisions:
        writer.writerow(_csv_row(provision))
    return out.getvalue()
