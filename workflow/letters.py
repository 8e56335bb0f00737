"""Resident-facing text, from templates an admin can edit.

Every letter carries the landlord's and the Ombudsman's details (the Code asks for the
Ombudsman's at every stage and every extension). Templates are plain text in plain English; a
file of the same name in the override folder (TRIAGE_DATA_DIR/templates) replaces the shipped
one, so a landlord can reword a letter without touching code. A template that uses a name it
was not given fails loudly instead of sending a letter with a gap in it.

Templates are code an admin writes, so they run in Jinja2's immutable sandbox: a template
reaches only the values it is given and their safe attributes, never a function's globals
(`cycler.__init__.__globals__.os` ran shell commands from the editor's preview before).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, Undefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

SHIPPED = Path(__file__).with_name("templates") / "letters"
_DAY = dt.date(2026, 12, 4)
# Every name any letter may use, with a plausible value: the editor's preview and check use them.
# What every letter is given unless its caller says otherwise: the channel's form (chat: short, no
# letterhead; the Ombudsman's line once a conversation), the agreed adjustments it follows, the hazard.
DEFAULTS: dict[str, Any] = dict(chat=False, buttons=True, ombudsman_told=False, adjustments=[], hazard="none")
SAMPLE_VALUES: dict[str, Any] = dict(
    DEFAULTS,
    reference="CMP-2026-00007", team="Repairs", language=None, acknowledgement_due=_DAY,
    response_due=_DAY, request_reference=None, asked_how=False, asked_help=False, complaint=True,
    contact=None, found=["CMP-2026-00007: complaint at stage 1."], asked="CMP-2026-00008", stage=1,
    definition="The kitchen doors were left hanging off.", outcomes_sought="New doors", responsible_for="Repairs",
    not_responsible_for="", auto=True, own_words=True, outcome="upheld",
    decision="The doors should have been fixed in March.", reasons="The repair was late.",
    remedies=["apology", "financial"], remedy_detail="We will pay you £50.", actions=["Replace the doors"],
    reason="We are waiting for a survey.", new_due=_DAY, explanation="Court proceedings have started.",
    headline="Due Friday 4 December 2026", details="The stage 1 response is due.", what="repair request",
    summary="The plumber fitted a new washer to the kitchen tap.", text="We have booked the plumber for Monday.")
# The parts every letter shares, left out when a letter's own words are measured (bench/letters.py).
SHARED_PARTS = ("_ombudsman", "_ombudsman_full", "_signature")


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


def _tidy(text: str) -> str:
    """Paragraphs separated by one blank line, no trailing spaces: templates can leave a part out
    without leaving a hole."""
    paragraphs: list[str] = []
    blank = False
    for line in (line.rstrip() for line in text.strip().splitlines()):
        if not line:
            blank = True
            continue
        if blank and paragraphs:
            paragraphs.append("")
        paragraphs.append(line)
        blank = False
    return "\n".join(paragraphs)


def long_date(day: dt.date) -> str:
    """'Friday 4 December 2026': the form residents read most easily."""
    if isinstance(day, Undefined):  # a letter missing its date fails as any missing value does
        day._fail_with_undefined_error()
    return f"{day:%A} {day.day} {day:%B %Y}"


def with_article(words: str) -> str:
    """'an emergency hazard', 'a repair request': notices and letters are read by people."""
    return f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"


class Letters:
    def __init__(self, letterhead: Letterhead, override_dir: Path | None = None) -> None:
        self.letterhead = letterhead
        self.override_dir = override_dir

    @cached_property
    def environment(self) -> Environment:
        loaders = [FileSystemLoader(str(SHIPPED))]
        if self.override_dir is not None:
            loaders.insert(0, FileSystemLoader(str(self.override_dir)))
        environment = ImmutableSandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                                                   autoescape=False, trim_blocks=False, lstrip_blocks=True)
        environment.filters["long_date"] = long_date
        environment.filters["a"] = with_article
        return environment

    def render(self, name: str, **values: Any) -> str:
        """The text of one letter; paragraphs separated by one blank line, no trailing spaces."""
        return _tidy(self.environment.get_template(f"{name}.txt").render(**self._values(values)))

    def body(self, name: str, **values: Any) -> str:
        """The letter's own words: without the Ombudsman's paragraph and the signature every letter
        shares, which are measured once on their own. Rules on length and reading age apply to this."""
        text = self.render(name, **values)
        for part in SHARED_PARTS:
            shared = _tidy(self.environment.get_template(f"{part}.txt").render(**self._values(values)))
            if shared:
                text = text.replace(shared, "")
        return _tidy(text)

    def _values(self, values: dict[str, Any]) -> dict[str, Any]:
        return {**asdict(self.letterhead), **DEFAULTS, **values}

    def source(self, name: str) -> tuple[str, bool]:
        """(the template's text, whether it is the admin's own version)."""
        own = self._own(name)
        if own is not None and own.exists():
            return own.read_text(encoding="utf-8"), True
        return (SHIPPED / f"{name}.txt").read_text(encoding="utf-8"), False

    def preview(self, text: str) -> str:
        """A version rendered with every value a letter may get, in the sandbox; ValueError with Jinja's
        message when it fails. The editor shows it before anything is saved."""
        try:
            return self.environment.from_string(text).render(**self._values(SAMPLE_VALUES))
        except Exception as error:  # any template error: shown, and nothing is saved
            raise ValueError(f"{type(error).__name__}: {error}") from None

    def names_used(self, name: str) -> tuple[list[str], list[str]]:
        """(the names the shipped letter uses, the letterhead's names every letter may use), for the
        editor: an admin rewording a letter sees what they can put in it."""
        shipped = (SHIPPED / f"{name}.txt").read_text(encoding="utf-8")
        letterhead = sorted(asdict(self.letterhead))
        used = meta.find_undeclared_variables(self.environment.parse(shipped))
        return sorted(used - set(letterhead)), letterhead

    def changes(self, name: str, text: str) -> str:
        """A version against the shipped letter, as a unified diff (empty when they are the same)."""
        shipped = (SHIPPED / f"{name}.txt").read_text(encoding="utf-8")
        return "".join(difflib.unified_diff(shipped.splitlines(keepends=True), text.splitlines(keepends=True),
                                            "shipped", "this version"))

    def save(self, name: str, text: str) -> str:
        """Check a new version (it must render with every value a letter may get), then put it in place.

        Returns the preview. Raises ValueError with Jinja's message and saves nothing when it fails.
        """
        own = self._own(name)
        if own is None:
            raise ValueError("letters can be edited only when a data directory is configured")
        preview = self.preview(text)
        own.parent.mkdir(parents=True, exist_ok=True)
        partial = own.with_suffix(".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(own)
        self.environment.cache.clear()  # type: ignore[union-attr]
        return preview

    def restore(self, name: str) -> None:
        own = self._own(name)
        if own is not None:
            own.unlink(missing_ok=True)
            self.environment.cache.clear()  # type: ignore[union-attr]

    def _own(self, name: str) -> Path | None:
        if name not in self.names():
            raise KeyError(name)
        return self.override_dir / f"{name}.txt" if self.override_dir is not None else None

    def names(self) -> list[str]:
        return sorted(p.stem for p in SHIPPED.glob("*.txt") if not p.stem.startswith("_"))
