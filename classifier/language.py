"""Which language a message is in, when it is not English, so an advisor can arrange help (Code 5.10).

No model download: the script a message is written in names most languages; for messages in
the Latin alphabet, the share of each language's commonest words decides. The languages listed
are those most spoken in England after English.
"""

from __future__ import annotations

import re

_SCRIPTS: list[tuple[str, str]] = [
    ("ar", "\u0600-\u06ff"),  # Arabic script: Arabic, Urdu, Farsi, Pashto (an advisor confirms which)
    ("bn", "\u0980-\u09ff"),
    ("pa", "\u0a00-\u0a7f"),
    ("gu", "\u0a80-\u0aff"),
    ("ta", "\u0b80-\u0bff"),
    ("hi", "\u0900-\u097f"),
    ("zh", "\u4e00-\u9fff"),
    ("ru", "\u0400-\u04ff"),
    ("el", "\u0370-\u03ff"),
    ("ti", "\u1200-\u137f"),
]
_SCRIPT_PATTERNS = [(code, re.compile(f"[{chars}]")) for code, chars in _SCRIPTS]

_COMMON_WORDS: dict[str, set[str]] = {
    "en": set("the and to i my is it of in for you a have that not was this on with be me are please no but".split()),
    "pl": set("i w nie na się jest że do to z mam jak mnie proszę nikt dzień dobry bardzo już po".split()),
    "ro": set("și nu la am în de că este mă vă pentru cu un o bună ziua mulțumesc nimeni".split()),
    "es": set("el la que de y no en es mi por favor los las una con para hola gracias".split()),
    "pt": set("o a que de e não em é meu minha por favor os as uma com para olá obrigado".split()),
    "fr": set("le la que de et ne pas en est mon ma je vous les des une avec pour bonjour merci".split()),
    "lt": set("ir ne yra kad mano į su man labas prašau ačiū".split()),
    "so": set("waxaan iyo ma aan waa ku ka la soo guriga fadlan".split()),
    "tr": set("ve bir bu değil ben benim için evim lütfen merhaba çok".split()),
    "it": set("il la che di e non è mio mia per favore una con ciao grazie".split()),
    "de": set("der die das und nicht ist mein ich sie bitte mit eine für hallo danke".split()),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _languages_of_words() -> dict[str, list[str]]:
    """Each common word and the languages it is common in, so a message is read once, not once a language."""
    languages: dict[str, list[str]] = {}
    for code, words in _COMMON_WORDS.items():
        for word in words:
            languages.setdefault(word, []).append(code)
    return languages


_LANGUAGES_OF = _languages_of_words()


def detect(text: str) -> tuple[str | None, list[str]]:
    """(ISO 639-1 code, the evidence) for a non-English message; (None, []) for English or too little text."""
    if not text.isascii():
        letters = sum(ch.isalpha() for ch in text)
        for code, pattern in _SCRIPT_PATTERNS:
            found = pattern.findall(text)
            if len(found) >= max(3, letters // 4):
                return code, found[:5]
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 4:
        return None, []
    scores = dict.fromkeys(_COMMON_WORDS, 0)
    for word in words:
        for code in _LANGUAGES_OF.get(word, ()):
            scores[code] += 1
    best = max(scores, key=lambda code: scores[code])
    if best == "en" or scores[best] < 2 or scores[best] <= scores["en"] * 1.5:
        return None, []
    return best, [w for w in words if w in _COMMON_WORDS[best]][:5]
