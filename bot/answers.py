"""Reading a resident's answer to the bot's questions in their own words.

The choice question names two keywords (COMPLAINT, REQUEST) and chat shows two buttons, but
people answer as they speak: "yes please make it a complaint", "just fix it", "no I don't want
to complain". A refusal of a complaint is checked before the word complaint, because "I don't
want to complain" contains it.

An answer is read from the message's first READ_WORDS words: a long letter is a message of its
own, not an answer, and every pattern here then reads a bounded text however big the letter.
The patterns are unambiguous anyway (literal alternatives, optional words of fixed spelling).
"""

from __future__ import annotations

import re

from workflow.vocabulary import AdjustmentKind, Awaiting, ChoiceAnswer

READ_WORDS = 1000  # about four pages

_REQUEST = re.compile(
    r"\b(request|just (fix|sort|repair|do|get|send|come)|(no|not|don'?t|do not|dont|without)( want| need| wish)?"
    r"( to)?( make| making| raise| log)?( a| it a)? (formal )?complain(t|ing)?|no thanks?|no need|"
    r"no,? (thank you|ta)|option (2|two)|second option|deal with it as a request|not a complaint)\b",
    re.I,
)
_COMPLAINT = re.compile(
    r"\b(complaint|complain|complaining|formal|option (1|one)|first option|go ahead|yes|yeah|yep|yup|please do|"
    r"definitely|of course)\b",
    re.I,
)
_BARE = {"1": ChoiceAnswer.COMPLAINT, "2": ChoiceAnswer.REQUEST, "no": ChoiceAnswer.REQUEST,
         "n": ChoiceAnswer.REQUEST, "y": ChoiceAnswer.COMPLAINT, "nope": ChoiceAnswer.REQUEST}
_NOTHING = re.compile(
    r"^\W*(no|nope|none|nothing|n/?a|no thanks?|no thank you|not really|i'?m fine|i am fine|all good|that'?s all|"
    r"no,? (i'?m|i am) (ok|okay|fine)|nothing (else|needed)|no need)\W*$",
    re.I,
)


def _words(text: str) -> str:
    """The first READ_WORDS words, one space between: splitting stops there, so a 25 MB letter
    costs no more than a page."""
    return " ".join(text.split(maxsplit=READ_WORDS)[:READ_WORDS])


def read_choice(text: str) -> ChoiceAnswer | None:
    """The resident's choice, or None when the words do not say; never guesses a complaint away."""
    words = _words(text)
    bare = words.lower().strip(" .!")
    if bare in _BARE:
        return _BARE[bare]
    if _REQUEST.search(words):
        return ChoiceAnswer.REQUEST
    if _COMPLAINT.search(words):
        return ChoiceAnswer.COMPLAINT
    return None


def says_nothing_needed(text: str) -> bool:
    """'No', 'none', 'I'm fine': the resident needs no adjustment."""
    return bool(_NOTHING.match(_words(text)))


_HELP_WORDS = re.compile(
    r"\b(large print|print|phone|call|ring|email|e-mail|letter|text|sms|language|interpreter|translat\w*|help|"
    r"support|deaf|blind|braille|disab\w*|carer|easy read|wheelchair|hearing|sight|read|write|advocate|"
    r"bsl|sign language|audio|access\w*|adjust\w*|speak|english|polish|urdu|arabic|romanian|somali)\b",
    re.I,
)


def answers_question(awaiting: str, text: str) -> bool:
    """Whether a message answers the question asked, or is about something else.

    A choice or an outcome can be said in any words, so any message answers them. The
    adjustments question gets a short reply or one about help and formats; a long message
    about the problem itself is a message of its own and is handled as one.
    """
    if awaiting != Awaiting.ADJUSTMENTS:
        return True
    words = _words(text)  # the help words are single words, or end in one: spacing does not change a match
    return len(words.split()) <= 8 or says_nothing_needed(words) or bool(_HELP_WORDS.search(words))


_LANGUAGES = ("Albanian", "Amharic", "Arabic", "Bengali", "Bulgarian", "Cantonese", "Chinese", "Czech", "Farsi",
              "French", "German", "Greek", "Gujarati", "Hindi", "Hungarian", "Italian", "Kurdish", "Latvian",
              "Lithuanian", "Mandarin", "Pashto", "Persian", "Polish", "Portuguese", "Punjabi", "Romanian", "Russian",
              "Slovak", "Somali", "Spanish", "Sylheti", "Tamil", "Tigrinya", "Turkish", "Twi", "Ukrainian", "Urdu",
              "Vietnamese", "Welsh", "Yoruba")
_LANGUAGE_NAMES = {"ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "cs": "Czech", "cy": "Welsh", "de": "German",
                   "es": "Spanish", "fa": "Farsi", "fr": "French", "gu": "Gujarati", "hi": "Hindi", "it": "Italian",
                   "lt": "Lithuanian", "lv": "Latvian", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto",
                   "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "so": "Somali",
                   "ta": "Tamil", "ti": "Tigrinya", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
                   "vi": "Vietnamese", "zh": "Chinese"}  # the detector's codes, for a letter
_LANGUAGE = re.compile(r"\b(" + "|".join(_LANGUAGES) + r")\b", re.I)
_NOT_PHONE = re.compile(r"\b(?:(?:don'?t|do not|dont|never|please don'?t|rather you didn'?t) (?:phone|call|ring)|"
                        r"no (?:phone ?)?calls|not by phone|(?:in|by) writing only|only (?:write|email|letters?)|"
                        r"(?:can'?t|cannot|can not) (?:hear|use the phone|talk on the phone))\b", re.I)
_PHONE = re.compile(r"\b(?:phone|call|ring|speak to) me|\b(?:phone|telephone) calls?\b|\bby (?:phone|telephone)\b|"
                    r"\b(?:a|prefer a) (?:call|phone call|ring)\b|\bcall(?:ing)? instead\b", re.I)
_PLAIN_ADJUSTMENTS: tuple[tuple[AdjustmentKind, re.Pattern[str]], ...] = (  # the choices that need no detail
    (AdjustmentKind.LARGE_PRINT, re.compile(r"\b(?:large|larger|big|bigger) (?:print|font|text|writing|letters)\b",
                                            re.I)),
    (AdjustmentKind.EASY_READ, re.compile(r"\b(?:easy[- ]read|simple (?:words|english|language)|plain english|"
                                          r"learning (?:disability|difficult(?:y|ies)))\b", re.I)),
    (AdjustmentKind.SIGN_LANGUAGE, re.compile(r"\b(?:bsl|sign language|signer)\b", re.I)),
)
_INTERPRETER = re.compile(r"\b(?:interpret\w*|translat\w*|first language|do not speak english|"
                          r"don'?t speak (?:much |good )?english|english is not)\b", re.I)
_NAMED_CONTACT = re.compile(r"\b(?:one person|the same person|same officer|named contact|one contact|"
                            r"single (?:point of )?contact)\b", re.I)
_CONTACT = re.compile(r"\b(?i:only|just) (?i:deal with|speak to|talk to|contact) ([A-Z][a-z]+(?: [A-Z][a-z]+)?)")
_SUPPORTER = re.compile(r"\b(?:my|our) (daughter|son|wife|husband|partner|mum|mother|dad|father|sister|brother|carer|"
                        r"advocate|support worker|social worker|key ?worker|friend|neighbour)\b", re.I)


def read_adjustments(text: str, language: str | None = None) -> list[dict[str, str | None]]:
    """What a resident asked for to deal with us, as choices (AdjustmentKind) with the detail a
    letter needs (the language, who helps them). `language` is the one the message was written in,
    when it was not English: an interpreter asked for without naming one is for that language.

    A reply that asks for something these choices do not cover is one OTHER choice, so a person
    reads the words: nothing the resident asked for is dropped because no pattern knew it."""
    words = _words(text)
    if says_nothing_needed(words):
        return []
    found: list[tuple[AdjustmentKind, str | None]] = []
    if _NOT_PHONE.search(words):
        found.append((AdjustmentKind.WRITING_ONLY, None))
    elif _PHONE.search(words):
        found.append((AdjustmentKind.PHONE, None))
    found += [(kind, None) for kind, pattern in _PLAIN_ADJUSTMENTS if pattern.search(words)]
    named = _LANGUAGE.search(words)
    if named or _INTERPRETER.search(words):
        found.append((AdjustmentKind.INTERPRETER,
                      named.group(1).title() if named else _LANGUAGE_NAMES.get(language or "", language)))
    contact = _CONTACT.search(words)
    if contact or _NAMED_CONTACT.search(words):
        found.append((AdjustmentKind.NAMED_CONTACT, contact.group(1) if contact else None))
    if supporter := _SUPPORTER.search(words):
        found.append((AdjustmentKind.SUPPORTER, f"your {supporter.group(1).lower()}"))
    return [{"kind": kind.value, "detail": detail} for kind, detail in found or [(AdjustmentKind.OTHER, None)]]


# "How do I make a complaint?", "is there a form to complain", "who do I complain to", "can I
# complain about the repair": a question about complaining is answered with the choice, not a receipt.
_HOW_TO_COMPLAIN = re.compile(
    r"\b(?:how (?:do|can|would|should) (?:i|we|you)|how to|where (?:do|can) (?:i|we)|who (?:do|can|should) "
    r"(?:i|we)|can (?:i|we)|is there (?:a|any) (?:form|way|process|procedure)\b[^.?!]{0,30}?)\s*"
    r"(?:go about )?(?:make |making |raise |raising |log |logging |put in |file |lodge |submit )?(?:a |an )?"
    r"(?:formal |official )?complain(?:t|ts|ing)?\b|\bcomplaints? (?:form|procedure|process|policy)\b", re.I)


def asks_how_to_complain(text: str) -> bool:
    """Whether the resident asks how to make a complaint (the steps, a form, who to write to)."""
    return _HOW_TO_COMPLAIN.search(_words(text)[:2000]) is not None
