"""Letters: every resident-facing text carries the landlord's and the Ombudsman's details, can be
replaced by an admin's file, and never goes out with a gap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.settings import Settings
from workflow.letters import Letters, long_date

DAY = dt.date(2026, 12, 4)
VALUES = dict(reference="CMP-2026-00007", team="Repairs", language=None, hazard="none", chat=False,
              acknowledgement_due=DAY, response_due=DAY, request_reference=None, escalation_requested=False,
              adjustments=False, complaint=True, contact=None, found=["CMP-2026-00007: complaint"], asked="X",
              stage=1, definition="The doors", outcomes_sought="Fix them", responsible_for="Repairs",
              not_responsible_for="", auto=True, alternative_formats="large print", outcome="upheld",
              decision="We agree.", reasons="The repair was late.", remedies="an apology", remedy_detail="",
              actions=["Replace the doors"], reason="We are waiting for a survey.", new_due=DAY,
              explanation="Court proceedings have started.")
STAFF_ONLY = {"staff_notice"}


@pytest.fixture
def letters(tmp_path: Path) -> Letters:
    return Letters(Settings(_env_file=None).letterhead(), tmp_path / "templates")


@pytest.mark.parametrize("name", sorted(set(Letters(Settings(_env_file=None).letterhead()).names()) - STAFF_ONLY))
def test_every_resident_letter_names_the_ombudsman_and_the_landlord(letters: Letters, name: str) -> None:
    text = letters.render(name, **VALUES)
    assert "0300 111 3000" in text and "Housing Ombudsman Service" in text
    assert "Example Housing" in text
    assert "  " not in text and "\n\n\n" not in text


def test_a_resident_who_asked_for_another_format_is_told_so(letters: Letters) -> None:
    assert "You asked us for: large print" in letters.render("receipt", **VALUES)


def test_an_admins_file_replaces_the_shipped_letter(letters: Letters, tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "receipt.txt").write_text("Dear resident, {{ reference }} is yours. {{ ombudsman_phone }}")
    assert letters.render("receipt", **VALUES) == "Dear resident, CMP-2026-00007 is yours. 0300 111 3000"


def test_a_letter_missing_a_value_is_refused_not_sent_with_a_gap(letters: Letters) -> None:
    with pytest.raises(UndefinedError):
        letters.render("complaint_logged", reference="CMP-2026-00007")


def test_dates_are_written_as_people_read_them() -> None:
    assert long_date(DAY) == "Friday 4 December 2026"
