"""Letters: every resident-facing text carries the landlord's and the Ombudsman's details, can be
replaced by an admin's file, and never goes out with a gap."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.settings import Settings
from tests.letter_samples import FORMS, STAFF_ONLY, samples
from workflow.letters import SAMPLE_VALUES, Letters, long_date

DAY = dt.date(2026, 12, 4)
VALUES = {**SAMPLE_VALUES, "adjustments": [{"kind": "large_print", "detail": None}]}


@pytest.fixture
def letters(tmp_path: Path) -> Letters:
    return Letters(Settings(_env_file=None).letterhead(), tmp_path / "templates")


@pytest.mark.parametrize("name", sorted(set(Letters(Settings(_env_file=None).letterhead()).names()) - STAFF_ONLY))
def test_every_resident_letter_names_the_ombudsman_and_the_landlord(letters: Letters, name: str) -> None:
    text = letters.render(name, **VALUES)
    assert "0300 111 3000" in text and "Housing Ombudsman Service" in text
    assert "Example Housing" in text
    assert "  " not in text and "\n\n\n" not in text


def test_a_letter_follows_an_agreed_adjustment_and_never_echoes_the_residents_words(letters: Letters) -> None:
    """The resident's words held a phone number; the letter says what we will do, not what they wrote."""
    text = letters.render("receipt", **{**VALUES, "adjustments": [{"kind": "phone", "detail": None},
                                                                  {"kind": "interpreter", "detail": "Polish"}]})
    assert "we will phone you about this too" in text and "a Polish interpreter when we speak to you" in text
    assert "You asked us for" not in text and "07700" not in text


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
    assert "We have your message" in letters.render("receipt", **VALUES)


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


# -- the rules every letter follows (issue 24), on rendered letters -------------------------------

LETTERHEAD = Settings(_env_file=None).letterhead()
ALL = list(samples(Letters(LETTERHEAD)))
# Letters the Code makes carry the Ombudsman's full contact details whatever the channel: a refusal
# (2.4), an extension (6.5, 6.16), the final answer (6.19) and a reply after it.
FULL_DETAILS = {"refusal", "extension", "final_response_given"}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]


# The letters that answer a new message, which may report a hazard.
ABOUT_A_MESSAGE = ("receipt", "choice", "complaint_logged", "added_to_case", "restricted_receipt")


@pytest.mark.parametrize("sample", [s for s in ALL if s.values["hazard"] == "emergency" and s.letter in ABOUT_A_MESSAGE],
                         ids=lambda s: f"{s.letter}-{s.form}")
def test_an_emergency_is_answered_first_with_what_to_do_now(sample) -> None:  # noqa: ANN001
    """The safety advice is the first two sentences; a hazard report is not greeted as unhappiness."""
    first_two = " ".join(_sentences(sample.text)[:2])
    assert first_two.startswith("If you smell gas") and "leave the home now" in first_two
    assert "0800 111 999" in first_two and "call 999" in first_two
    assert "unhappy with us" not in sample.text


@pytest.mark.parametrize("form", FORMS)
def test_the_choice_is_short_and_says_what_each_answer_means_and_when(letters: Letters, form: str) -> None:
    values = {**SAMPLE_VALUES, **FORMS[form]}
    body = letters.body("choice", **values)
    assert len(body.split()) <= 120, body
    assert "working days" in body and ("Monday to Friday" in body or "about three weeks" in body)
    assert "complaint" in body.lower() and "request" in body.lower()
    if values["chat"]:
        choice_lines = [line for line in letters.body("choice", **{**values, "hazard": "none"}).splitlines() if line]
        assert len(choice_lines) <= 4, choice_lines


@pytest.mark.parametrize("sample", [s for s in ALL if not s.values["chat"]], ids=lambda s: f"{s.letter}-{s.form}")
def test_an_email_gives_the_ombudsmans_details_once(sample) -> None:  # noqa: ANN001
    assert sample.text.count(LETTERHEAD.ombudsman_phone) == 1, sample.text
    assert sample.text.count(LETTERHEAD.landlord_name) >= 1 and LETTERHEAD.landlord_email in sample.text


@pytest.mark.parametrize("sample", [s for s in ALL if s.values["chat"] and s.letter not in FULL_DETAILS],
                         ids=lambda s: f"{s.letter}-{s.form}")
def test_a_chat_message_names_the_ombudsman_in_one_line_once_a_conversation(sample) -> None:  # noqa: ANN001
    lines = [line for line in sample.text.splitlines() if LETTERHEAD.ombudsman_website in line]
    if sample.values["ombudsman_told"]:
        assert not lines and LETTERHEAD.ombudsman_name not in sample.text
    else:
        assert len(lines) == 1 and LETTERHEAD.ombudsman_phone not in sample.text
    assert f"{LETTERHEAD.landlord_phone} | " not in sample.text  # no letterhead in a chat bubble


@pytest.mark.parametrize("name", sorted(FULL_DETAILS))
def test_letters_the_code_gives_the_ombudsmans_details_keep_them_in_chat(letters: Letters, name: str) -> None:
    text = letters.render(name, **{**SAMPLE_VALUES, "chat": True, "ombudsman_told": True})
    assert text.count(LETTERHEAD.ombudsman_phone) == 1 and LETTERHEAD.ombudsman_address in text


def test_the_final_answer_carries_the_ombudsman_once(letters: Letters) -> None:
    text = letters.render("response", **{**SAMPLE_VALUES, "stage": 2})
    assert text.count(LETTERHEAD.ombudsman_phone) == 1 and text.count(LETTERHEAD.ombudsman_website) == 1
    assert "final answer" in text and "look at it again" not in text


@pytest.mark.parametrize("outcome,said", [("upheld", "We agree with your complaint."),
                                          ("partly_upheld", "We agree with part of your complaint."),
                                          ("not_upheld", "We do not agree that we got this wrong.")])
def test_outcomes_and_remedies_are_sentences_not_labels(letters: Letters, outcome: str, said: str) -> None:
    every = FORMS["email, partly upheld, every remedy"]["remedies"]
    text = letters.render("response", **{**SAMPLE_VALUES, "outcome": outcome, "remedies": every})
    assert said in text
    for label in (*every, "upheld", "acknowledge failings", "apology.", "financial."):
        assert label not in text.replace(said, ""), label
    assert "We are sorry." in text and "We accept that we got things wrong." in text


@pytest.mark.parametrize("sample", ALL, ids=lambda s: f"{s.letter}-{s.form}")
def test_terms_are_explained_where_used_and_the_grammar_holds(sample) -> None:  # noqa: ANN001
    text = sample.text
    if "working days" in text:
        assert "Monday to Friday" in text or "about three weeks" in text or "(two weeks)" in text
    if "stage 2" in text and sample.letter not in ("choice",):
        assert "someone who did not deal with" in text.lower() or "look at it again" in text
    if sample.letter != "help" and LETTERHEAD.ombudsman_name in text and "free and independent" not in text:
        assert sample.values["chat"] and sample.values["ombudsman_told"] and sample.letter in FULL_DETAILS
    assert not re.search(r"\b[Aa] [aeiouAEIOU]\w", text), text  # "a emergency"
    assert not re.search(r"[a-z]_[a-z]", text.replace(LETTERHEAD.ombudsman_email, "").replace(
        LETTERHEAD.landlord_email, "")), text  # a raw label such as partly_upheld
    assert ".." not in text and " ," not in text and " ." not in text


@pytest.mark.parametrize("sample", ALL, ids=lambda s: f"{s.letter}-{s.form}")
def test_every_letter_body_reads_at_grade_five_or_under(sample) -> None:  # noqa: ANN001
    textstat = pytest.importorskip("textstat")
    assert textstat.flesch_kincaid_grade(sample.body) <= 5, sample.body


def test_the_staff_notice_uses_an_before_a_vowel() -> None:
    from workflow.letters import with_article

    assert with_article("emergency hazard") == "an emergency hazard" and with_article("repair") == "a repair"
