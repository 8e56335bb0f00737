"""Letters: every resident-facing text carries the landlord's and the Ombudsman's details, can be
replaced by an admin's file, and never goes out with a gap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.settings import Settings
from workflow.letters import SAMPLE_VALUES, Letters, long_date

DAY = dt.date(2026, 12, 4)
VALUES = {**SAMPLE_VALUES, "alternative_formats": "large print"}
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


def test_an_admins_edit_is_checked_before_it_is_saved(letters: Letters) -> None:
    with pytest.raises(ValueError, match="undefined"):
        letters.save("receipt", "Your reference is {{ referense }}.")
    assert letters.source("receipt")[1] is False  # nothing was saved
    preview = letters.save("receipt", "Ref {{ reference }}. {{ ombudsman_phone }}")
    assert preview == "Ref CMP-2026-00007. 0300 111 3000"
    assert letters.render("receipt", **VALUES) == preview and letters.source("receipt")[1] is True
    letters.restore("receipt")
    assert "We have it safely" in letters.render("receipt", **VALUES)


ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ joiner.__init__.__globals__['os'].system('touch MARK') }}",
    "{% set x = namespace() %}{{ x.__class__.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_template_that_reaches_for_python_is_refused_at_preview_and_runs_nothing(
        letters: Letters, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: str) -> None:
    monkeypatch.chdir(tmp_path)
    payload = payload.replace("MARK", str(tmp_path / "ran"))
    with pytest.raises(ValueError):
        letters.save("receipt", f"Ref {{{{ reference }}}}. {payload}")
    assert not (tmp_path / "ran").exists()
    assert letters.source("receipt")[1] is False  # nothing was saved


def test_a_planted_template_file_that_reaches_for_python_sends_nothing_and_runs_nothing(
        letters: Letters, tmp_path: Path) -> None:
    """A file put in the override folder by hand is rendered in the same sandbox as the editor's."""
    (tmp_path / "templates").mkdir()
    marker = tmp_path / "ran"
    (tmp_path / "templates" / "receipt.txt").write_text(ESCAPES[0].replace("MARK", str(marker)))
    with pytest.raises(Exception) as caught:
        letters.render("receipt", **VALUES)
    assert "unsafe" in str(caught.value) or "undefined" in str(caught.value)
    assert not marker.exists()


def test_a_compliment_is_passed_on_and_a_request_finished(letters: Letters) -> None:
    """"We have finished your compliment" is not what a resident who thanked us should read."""
    compliment = letters.render("request_done", **{**VALUES, "what": "compliment", "summary": ""})
    assert "passed it to the team" in compliment and "finished" not in compliment and "not done" not in compliment
    request = letters.render("request_done", **{**VALUES, "what": "request"})
    assert "We have finished your request" in request and "reply to this message" in request
