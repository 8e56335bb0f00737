"""Each flag on sentences that should and should not raise it, with the words that raised it."""

from __future__ import annotations

import pytest

from classifier.cues import CueRules

rules = CueRules()


@pytest.mark.parametrize("text,words", [
    ("My mum is 90 and can't manage the stairs.", "90"),
    ("I use a wheelchair and the ramp is broken.", "wheelchair"),
    ("The mould is making my son's asthma worse.", "asthma"),
    ("I'm pregnant and the flat is freezing.", "pregnant"),
    ("I have mental health difficulties and phoning is hard for me.", "mental health"),
    ("My 3 month old baby keeps coughing.", "baby"),
    ("i'm 82 years old and have no hot water", "82 years old"),
    ("I am fleeing domestic abuse and need help.", "domestic abuse"),
    ("im 80 and it scares me", "80"),
    ("I'm not coping well at the moment.", "not coping"),
    ("The mould is back and my son's chest is no better.", "'s chest"),
    ("She was in hospital twice with her breathing.", "her breathing"),
    ("I was diagnosed with MS last year and the stairs are hard.", "diagnosed"),
    ("Since my stroke I can't get into the bath.", "stroke"),
])
def test_vulnerable_raised_with_its_words(text: str, words: str) -> None:
    flags = rules.flags(text)
    assert flags.vulnerable
    assert any(words in w for w in flags.cues["vulnerable"]), flags.cues


@pytest.mark.parametrize("text", [
    "Please can you fix my kitchen tap.", "The bins were not emptied this week.",
    "I'm 35 and work full time, can I still bid?",
    "The chest of drawers you left in the flat is broken.", "Can I have a medical form for my banding?",
])
def test_vulnerable_not_raised(text: str) -> None:
    assert not rules.flags(text).vulnerable


@pytest.mark.parametrize("text,level", [
    ("I can smell gas in my kitchen.", "emergency"),
    ("There are exposed wires hanging from the ceiling light.", "emergency"),
    ("The socket is sparking when I plug anything in.", "emergency"),
    ("My carbon monoxide alarm keeps going off.", "emergency"),
    ("There's black mould on the bedroom wall.", "significant"),
    ("Water is coming through the ceiling from upstairs.", "significant"),
    ("We have no heating and no hot water.", "significant"),
    ("My boiler has broken down again.", "significant"),
    ("The mould is making my baby's chest worse, she has been coughing for weeks.", "emergency"),
])
def test_hazard_levels(text: str, level: str) -> None:
    flags = rules.flags(text)
    assert flags.hazard == level
    assert flags.cues["hazard"], "the words that raised the hazard are shown"


@pytest.mark.parametrize("text", [
    "There is no damp at all in my flat, I just want to ask about rent.",
    "Not a leak, just a question about my bin collection.",
    "We had a leak last year which was fixed, thank you.",
    "Thank you for sorting the damp in my bedroom.",
    "Please can I have a new key fob.",
    "There's never been any mould here.",
])
def test_no_hazard_when_negated_resolved_or_absent(text: str) -> None:
    flags = rules.flags(text)
    assert flags.hazard == "none", flags.cues


def test_a_hazard_that_came_back_is_still_a_hazard() -> None:
    assert rules.flags("The leak was fixed but it's back again and dripping into the kitchen.").hazard == "significant"


@pytest.mark.parametrize("text", [
    "I want to make a formal complaint about my repair.",
    "Please treat this as a complaint.",
    "I wish to complain about the officer who visited.",
    "i want to complain",
])
def test_explicit_complaint(text: str) -> None:
    flags = rules.flags(text)
    assert flags.explicit_complaint and flags.cues["explicit_complaint"]


@pytest.mark.parametrize("text", [
    "How do I make a complaint?",
    "I don't want to make a complaint, I just want it fixed.",
    "Can a family member make a complaint for me?",
    "The repair is still not done after six weeks.",
])
def test_not_an_explicit_complaint(text: str) -> None:
    assert not rules.flags(text).explicit_complaint


@pytest.mark.parametrize("text", [
    "I'm not happy with your response and want my complaint escalated.",
    "Please take this to stage 2.",
    "I want to take my complaint further.",
    "I do not accept your response.",
    "Not happy with the outcome of my complaint.",
])
def test_escalation(text: str) -> None:
    flags = rules.flags(text)
    assert flags.escalation and flags.cues["escalation"]


@pytest.mark.parametrize("text", [
    "What happens after stage 2 of the complaints process?",
    "My toilet is blocked, please send someone.",
    "I'm happy with your response, thank you.",
])
def test_not_escalation(text: str) -> None:
    assert not rules.flags(text).escalation


@pytest.mark.parametrize("text,code", [
    ("Dzień dobry, zgłaszałam naprawę okna trzy razy i nikt nie przyszedł. Proszę o pomoc.", "pl"),
    ("Bună ziua, am raportat de două ori că încălzirea nu funcționează și nimeni nu a venit.", "ro"),
    ("مرحبا، لدي مشكلة في التدفئة منذ أسبوعين ولا أحد يرد", "ar"),
    ("আমার বাড়িতে অনেক দিন ধরে গরম পানি নেই", "bn"),
])
def test_language_of_a_message_not_in_english(text: str, code: str) -> None:
    flags = rules.flags(text)
    assert flags.language == code and flags.cues["language"]


def test_english_has_no_language_flag() -> None:
    assert rules.flags("My kitchen tap is dripping, could someone come and fix it please?").language is None


def test_survey_replies_are_recognised() -> None:
    assert rules.flags("Survey reply: 3/10, the operative was late.").survey
    assert not rules.flags("My repair is late.").survey


@pytest.mark.parametrize("text,hazard", [
    ("There's a leaking kitchen tap, only a small drip, no rush.", "none"),
    ("The bathroom tap is leaking through the ceiling into the kitchen below", "significant"),
    ("water is dripping onto the light fitting in the hall and it flickers", "emergency"),
    ("rain is coming into the light in the kitchen", "emergency"),
    ("my light fitting is broken, can someone replace it", "none"),
    ("i'm 8 months gone and the bedroom is covered in black mould", "significant"),
    ("Water is leaking through the ceiling by the light in the hall", "emergency"),
    ("A pipe has burst under the sink and there's water everywhere", "emergency"),
])
def test_hazards_by_what_the_water_does_not_by_one_word(text: str, hazard: str) -> None:
    assert rules.flags(text).hazard == hazard


@pytest.mark.parametrize("text", ["i'm 8 months gone and the bedroom is covered in black mould",
                                  "I'm a pensioner and I live on my own", "I've been on the sick since my operation"])
def test_vulnerability_in_residents_own_words(text: str) -> None:
    assert rules.flags(text).vulnerable


@pytest.mark.parametrize("text,hazard", [
    ("Our heating has stopped. I have a 2 month old baby and it's really cold.", "emergency"),
    ("No hot water since Friday and my dad's 84, he's on dialysis.", "emergency"),
    ("We have no heating, I'm disabled and it's freezing in here.", "emergency"),
    ("We have no heating and it's freezing in here.", "significant"),
    ("No heating again. My son has anxiety and this isn't helping.", "significant"),
    ("the ceiling has come down in my kitchen tonight after months of the leak", "emergency"),
    ("My bedroom ceiling is bowing and splitting.", "emergency"),
    ("my front door wont lock, the key just turns round and round", "emergency"),
    ("Someone tried to break in and I can't lock my front door.", "emergency"),
    ("The bathroom door won't close properly, can someone plane it?", "none"),
    ("The kitchen cupboard doors don't close.", "none"),
    ("No heating and we have a three month old.", "emergency"),
    ("No heating and my dad has dementia.", "emergency"),
    ("the front door just won't lock", "emergency"),
    # what a reviewer found the first version of these rules raised
    ("The bathroom door won't lock.", "none"),
    ("The front door bell is bust.", "none"),
    ("I reported the ceiling. Someone came in and looked at it last week.", "none"),
    ("I finally caved in and phoned you.", "none"),
    ("The pipe has not burst, it's just a drip.", "none"),
    ("There is a leak in the bathroom and the light switch is loose", "significant"),
    ("Thank you, the heating is working now. My mum is 85 and was so pleased.", "none"),
])
def test_the_emergencies_the_rules_name_by_circumstance(text: str, hazard: str) -> None:
    """LABELLING.md: no heating or hot water where a baby or a very ill, disabled or old person
    lives; a ceiling down or about to come down; a home that cannot be locked."""
    flags = rules.flags(text)
    assert flags.hazard == hazard, flags.cues
    if hazard == "emergency":
        assert flags.cues["hazard"], "the words that raised it are shown"
