"""Resident-facing text, from templates an admin can edit.

Every letter carries the landlord's and the Ombudsman's details (the Code asks for the
Ombudsman's at every stage and every extension). Templates are plain text in plain English; a
file of the same name in the override folder (TRIAGE_DATA_DIR/templates) replaces the shipped
one, so a landlord can reword a letter without touching code. A template that uses a name it
was not given fails loudly instead of sending a letter with a gap in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

SHIPPED = Path(__file__).with_name("templates") / "letters"


@dataclass(frozen=True)
class Letterhead:
    landlord_name: str
    landlord_phone: str
    landlord_email: str
    landlord_website: str
    landlord_address: str
    ombudsman_name: str
    ombudsman_phone: str
    ombudsman_email: str
    ombudsman_website: str
    ombudsman_address: str

    def ombudsman_details(self) -> str:
        """As recorded on every extension (6.5, 6.16): what the resident was told."""
        return (f"{self.ombudsman_name}, {self.ombudsman_address}. Telephone {self.ombudsman_phone}, "
                f"email {self.ombudsman_email}, website {self.ombudsman_website}")


def long_date(day: dt.date) -> str:
    """'Friday 4 December 2026': the form residents read most easily."""
    return f"{day:%A} {day.day} {day:%B %Y}"


class Letters:
    def __init__(self, letterhead: Letterhead, override_dir: Path | None = None) -> None:
        self.letterhead = letterhead
        self.override_dir = override_dir

    @cached_property
    def environment(self) -> Environment:
        loaders = [FileSystemLoader(str(SHIPPED))]
        if self.override_dir is not None:
            loaders.insert(0, FileSystemLoader(str(self.override_dir)))
        environment = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                                  trim_blocks=False, lstrip_blocks=True)
        environment.filters["long_date"] = long_date
        return environment

    def render(self, name: str, **values: Any) -> str:
        """The text of one letter; paragraphs separated by one blank line, no trailing spaces."""
        text = self.environment.get_template(f"{name}.txt").render(**asdict(self.letterhead), **values)
        lines = [line.rstrip() for line in text.strip().splitlines()]
        paragraphs, blank = [], False
        for line in lines:
            if not line:
                blank = True
                continue
            if blank and paragraphs:
                paragraphs.append("")
            paragraphs.append(line)
            blank = False
        return "\n".join(paragraphs)

    def names(self) -> list[str]:
        return sorted(p.stem for p in SHIPPED.glob("*.txt") if not p.stem.startswith("_"))
