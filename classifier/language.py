"""Which language a message is in, when it is not English, so a person can arrange help (Code 5.10).

py3langid (a maintained fork of langid.py; its model ships inside the package as a numpy file,
loaded without pickle) restricted to English and the languages most written in England after
it. Chosen over lingua by measurement (bench/language.py on tests/fixtures/languages.jsonl):
both read 98.7% of the non-English messages right, but lingua in low-accuracy mode called 4 of
20 short English messages something else, confidently ("pls cal me bk asap" as Welsh at 0.87),
and in high-accuracy mode cost 388 MB; py3langid called 2 of 20, both below MIN_CONFIDENCE.

Calling English something else costs more than the reverse: a message marked as another
language is not offered the choice to complain. So a message counts as another language only
when the detector is at least MIN_CONFIDENCE sure and the message has enough letters to judge;
otherwise it is read as English, as before. The language is that of the message's longest
paragraph: a Welsh sign-off or a quoted line in Polish under an English complaint leave it English.
"""

from __future__ import annotations

import re
from array import array
from functools import lru_cache
from typing import Any

LANGUAGES: dict[str, str] = {
    "en": "English", "cy": "Welsh", "pl": "Polish", "ro": "Romanian", "ur": "Urdu", "pa": "Punjabi",
    "bn": "Bengali", "ar": "Arabic", "so": "Somali", "lt": "Lithuanian", "pt": "Portuguese", "tr": "Turkish",
    "fr": "French", "es": "Spanish", "gu": "Gujarati", "ta": "Tamil", "fa": "Farsi", "it": "Italian",
    "ru": "Russian", "zh": "Chinese",
}
MIN_CONFIDENCE = 0.7
MIN_LETTERS = 12  # "ok ta", "thanks!!": too little to tell a language by

@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    # set_languages keeps the full table of all 97 languages (28 MB of float16) beside the
    # columns of our 20, only so it could be called again with others; it never is. Dropped,
    # the detector holds 51 MB instead of 78, and its answers are the same: scoring reads only
    # nb_ptc, nb_pc and nb_classes.
    identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    # Its walk over a message's bytes keeps two tables of 104,583 numbers as Python lists of
    # ints (about 36 bytes a number); as C arrays (4 bytes) they hold 5.8 MB less, for the
    # same answers: the walk only indexes them.
    identifier._rowbase = array("I", identifier._rowbase)
    identifier.tk_output = array("i", identifier.tk_output)
    return identifier


def detect(text: str) -> tuple[str | None, list[str]]:
    """(ISO 639-1 code, the evidence an advisor sees) for a non-English message; (None, []) otherwise."""
    body = max(re.split(r"\n\s*\n|\n(?=\S)", text), key=lambda part: sum(ch.isalpha() for ch in part))
    if sum(ch.isalpha() for ch in body) < MIN_LETTERS:
        return None, []
    code, confidence = _identifier().classify(body)
    if code == "en" or confidence < MIN_CONFIDENCE:
        return None, []
    return code, [f"{LANGUAGES[code]}, {confidence:.0%} sure"]
