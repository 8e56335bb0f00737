"""Reading what residents write into data: the adjustments they ask for (5.10), a question about
how to complain (1.3), and a complaint's definition drafted from the letter around it (5.6)."""

from __future__ import annotations

import pytest

from bot.answers import asks_how_to_complain, read_adjustments
from workflow.definitions import draft_definition


@pytest.mark.parametrize("words,language,expected", [
    ("Yes please, I find it easier if you phone me. My number is 07700 900123.", None, [("phone", None)]),
    ("Please do not phone me, I work nights", None, [("writing_only", None)]),
    ("I need large print and my daughter helps me with letters", None,
     [("large_print", None), ("supporter", "your daughter")]),
    ("Polish interpreter please", None, [("interpreter", "Polish")]),
    ("I would like an interpreter", "pl", [("interpreter", "Polish")]),
    ("BSL please, I am deaf", None, [("sign_language", None)]),
    ("Easy read please", None, [("easy_read", None)]),
    ("Only deal with Sam Jones please", None, [("named_contact", "Sam Jones")]),
    ("my dog bites so knock loudly", None, [("other", None)]),
    ("no thanks", None, []),
])
def test_the_adjustment_asked_for_is_read_as_choices(words: str, language: str | None,
                                                      expected: list[tuple[str, str | None]]) -> None:
    assert [(a["kind"], a["detail"]) for a in read_adjustments(words, language)] == expected


@pytest.mark.parametrize("words,asks", [
    ("How do I make a complaint? Is there a form?", True), ("is there a form to complain", True),
    ("who do I complain to", True), ("Where is your complaints procedure", True),
    ("I want to complain about the noise", False), ("The boiler is broken", False),
])
def test_a_question_about_how_to_complain_is_recognised(words: str, asks: bool) -> None:
    assert asks_how_to_complain(words) is asks


@pytest.mark.parametrize("letter,definition", [
    ("Hello,\n\nThe boiler has broken again and nobody came on Tuesday.\n\nKind regards\nCllr Jane Smith\n"
     "Flat 4, 12 Oak Road\nLondon SE1 2AB\n07700 900123\n", "The boiler has broken again and nobody came on Tuesday."),
    ("Dear Housing Team, my kitchen ceiling is leaking. Nobody has called back.\nThanks\nBob",
     "My kitchen ceiling is leaking. Nobody has called back."),
    ("Hi the lift is broken again\nMrs Patel", "The lift is broken again"),
    ("Dear Sir/Madam\nI wish to complain about the noise.\nYours faithfully\nA. Resident",
     "I wish to complain about the noise."),
    ("The mould is back.\n> On Monday you wrote:\n> We will send someone", "The mould is back."),
    ("The repairs took 3 months. 14 Elm Street residents are fed up.",
     "The repairs took 3 months. 14 Elm Street residents are fed up."),  # an address in a sentence is kept
])
def test_a_definition_holds_the_complaint_not_the_letter_around_it(letter: str, definition: str) -> None:
    assert draft_definition(letter) == definition
