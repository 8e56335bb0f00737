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

from workflow.vocabulary import Awaiting, ChoiceAnswer

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
