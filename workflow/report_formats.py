"""The report's renderings: an HTML document that prints, a CSV for spreadsheets, and a short text summary.

One dictionary from `workflow.reports.build_report` feeds all of them, so the CLI, the console
page and a spreadsheet never disagree about a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from workflow.calendar import LONDON
from workflow.charts import bar_chart, line_chart

TEMPLATES = Path(__file__).parent / "templates" / "reports"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def blank(value: object) -> str:
    return "–" if value is None else str(value)


def words(value: object) -> str:
    """A stored value in words: "stage1_logged" is "stage 1 logged"."""
    return re.sub(r"stage(\d)", r"stage \1", str(value).replace("_", " "))


def day(value: dt.date | dt.datetime | str | None) -> str:
    """GOV.UK style, "22 December 2026"; a moment is given its London date, and an ISO date (as the
    report's JSON holds them) is read first."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def moment(value: dt.datetime | None) -> str:
    """GOV.UK style in London time, "22 December 2026, 6:12pm"."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{day(local)}, {local.hour % 12 or 12}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def add_filters(environment: Environment) -> Environment:
    environment.filters.update(percent=percent, blank=blank, words=words, day=day, moment=moment)
    return environment


def charts(report: dict[str, Any]) -> dict[str, Markup]:
    months = report["complaints_by"]["month"]
    requests = {month: kinds.get("service_request", 0) for month, kinds in report["contacts"]["by_month"].items()}
    agreement = {month: round((row["share"] or 0) * 100, 1) for month, row in
                 report["model_agreement"]["by_month"].items()}
    return {
        "theme": bar_chart("Stage 1 complaints by theme", report["complaints_by"]["theme"]),
        "team": bar_chart("Stage 1 complaints by service area", report["complaints_by"]["team"]),
        "months": line_chart("Stage 1 complaints and service requests by month",
                             {"stage 1 complaints": months, "service requests": requests}),
        "agreement": line_chart("Share of suggestions advisors agreed with, per cent, by month",
                                {"kind and theme agreed (%)": agreement}),
    }


def _environment() -> Environment:
    return add_filters(Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(
        default_for_string=True, default=True)))


def to_html(report: dict[str, Any]) -> str:
    return _environment().get_template("document.html").render(report=report, charts=charts(report))


def _rows(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _rows(inner, (*path, str(key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            label = str(inner.get("stage", index)) if isinstance(inner, dict) else str(index)
            yield from _rows(inner, (*path, label))
    else:
        yield path, value


def to_csv(report: dict[str, Any]) -> str:
    """One figure per row (table, row, value): a pivot table in any spreadsheet rebuilds every table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "row", "value"])
    for path, value in _rows(report, ()):
        writer.writerow([" / ".join(path[:-1]), path[-1], "" if value is None else value])
    return out.getvalue()


def to_text(report: dict[str, Any]) -> str:
    one, two = report["stages"]["1"], report["stages"]["2"]
    lines = [f"{report['landlord']}: complaints {report['period']['from']} to {report['period']['to']}",
             f"{'':32}{'stage 1':>10}{'stage 2':>10}"]
    for key, label in (("received", "received"), ("per_1000_homes", "per 1,000 homes (CH01)"),
                       ("responded", "answered"), ("within_timescale_share", "within timescale (CH02)"),
                       ("within_timescale_with_extensions_share", "  counting extensions")):
        show = percent if key.endswith("share") else blank
        lines.append(f"{label:32}{show(one[key]):>10}{show(two[key]):>10}")
    lines.append(f"refused: {report['refused']['total']}; service requests: {report['service_requests']['recorded']}"
                 f" ({report['service_requests']['became_complaints']} became complaints); "
                 f"compliments: {report['compliments']['total']}")
    return "\n".join(lines)
