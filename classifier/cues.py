"""Rule-based flags with spaCy's Matcher over a blank English pipeline (no model download).

Rules rather than a model because each flag must show the words that raised it, and because a
missed gas leak or a missed vulnerable resident costs more than a false alarm: the rules lean
towards raising. A cue is dropped when a negation stands just before it in the same sentence
("no damp at all") and, for hazards, when the sentence says the problem was put right.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import spacy
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, NORM, SENT_START
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from classifier import language
from classifier.suggestion import Flags

# A tiny phrase syntax: words separated by spaces; "a|b" either word; "word*" any word starting
# so; "?" one optional word; "#old" an age of 65 to 119, "#young" a child's age of 0 to 5,
# "#num" any other number. Prefixes and numbers are read into each word's NORM once, when spaCy
# first meets the word, so the rules compare strings only (REGEX predicates on every token made
# them ten times slower). Phrases go to PhraseMatchers, which look them up by hash whatever
# their number; only a phrase with an optional word needs a Matcher (see `matchers`).
RULES: dict[str, list[str]] = {
    "vulnerable": [
        "disabled", "disability", "disabilities", "wheelchair*", "walking stick", "walking frame|aid", "uses a frame",
        "zimmer", "mobility scooter", "dementia", "alzheimer*", "pregnan*", "baby*", "babies", "newborn",
        "#num|#young|#old month|months|week|weeks old", "#young year|yr old", "elderly", "frail",
        "#old years|yrs old", "aged #old", "i 'm|am|m #old",
        "she|he 's|is #old", "mum|dad|mother|father|gran|grandad|grandmother|grandfather 's|is #old",
        "asthma*", "copd", "respiratory", "chest infection*", "breathing problem*", "cancer", "chemo*", "oxygen",
        "heart condition", "diabet*", "epilep*", "mental health", "depression", "depressed", "anxiety", "ptsd",
        "panic attack*", "suicid*", "self harm", "self-harm", "autis*", "adhd", "learning difficult*",
        "learning disabilit*", "dyslexi*", "partially sighted", "visually impaired", "sight loss", "blind", "deaf",
        "hard of hearing", "large print", "braille", "hospital", "occupational therapist", "ot", "carer",
        "social worker", "support worker", "floating support", "domestic abuse", "domestic violence",
        "fleeing", "do n't|not|nt feel safe", "feel unsafe", "vulnerable", "live|living alone",
        "care home", "terminal*", "poorly", "not|n't|nt coping", "struggling to cope", "nowhere to go", "homeless",
        "stair lift", "stairlift", "grab rail*", "handrail", "victim", "idva",
        "'s|his|her|my chest", "'s|his|her|my breathing", "ca n't|cannot breathe", "struggl* to breathe",
        "diagnosed", "multiple sclerosis", "arthritis", "stroke", "crutches", "housebound", "bed bound", "bedbound",
        "dialysis", "sickle cell", "chronic pain", "long covid", "special needs", "registered blind", "learning needs",
        "hearing aid*", "pensioner*", "oap", "'m|am|is|'s #num|#young months gone", "on the sick", "my nerves",
    ],
    "emergency": [
        "smell gas", "smell of gas", "gas smell", "smelling gas", "smells of gas", "gas leak*", "carbon monoxide",
        "co alarm", "exposed wire*", "live wire*", "wires hanging", "hanging wires", "spark*", "burning smell",
        "smell of burning", "socket ? smoking", "smoking socket", "electric shock*", "ceiling ? collapsed",
        "ceiling ? ? collapsed", "collapse*", "fall down", "will fall", "water ? ? ? light", "water ? ? ? ? light", "water near the light",
        "onto|into the light|lights|socket|sockets|electrics|fusebox",
        "electrics have gone", "fuse box", "flooding", "flooded", "pouring", "fire door*",
        # a ceiling down or about to come down, however said
        "ceiling|ceilings ? come|came|fallen|fell|caved down|in", "ceiling|ceilings ? ? come|came|fallen|fell|caved down|in",
        "ceiling|ceilings ? ? bowing|sagging",
        # water escaping now
        "burst pipe|pipes|radiator|radiators|tank|main", "pipe|pipes|radiator|radiators ? ? burst",
        # bare wiring
        "bare wire|wires|cable|cables", "wires ? showing|exposed", "live electric|electrical ? cable|cables",
        # a home that cannot be made secure (LABELLING.md: a broken front door or window): the
        # outer doors and the windows only (a bathroom's or a shed's lock is a repair), and not
        # "won't close" (on the training data a cupboard's or a bathroom's door five times in six).
        # spaCy reads "wont" as "wo nt" and "cant" as "ca nt", as it reads "won't" and "can't".
        "front|back|balcony|patio|main|entrance door ? wo|does|do|did|ca|can|will|is|'s n't|not|nt lock",
        "window|windows ? wo|does|do|did|ca|can|will|is|'s n't|not|nt lock",
        "ca|can n't|not|nt lock the|my front|back door", "ca|can n't|not|nt lock|secure the|my flat|house|home",
        "front|back door ? ? ? smashed|kicked", "front|back door lock ? ? smashed|broken|bust|busted",
    ],
    "significant": [
        "damp*", "mould*", "mold*", "mildew", "condensation", "leak*", "water coming through|in",
        "water ? coming through|from|out", "coming through the ceiling|roof|wall", "water dripping", "dripping from",
        "wet patch", "wet to touch", "bulging", "no heating", "no hot water", "without heating", "without hot water",
        "heating ? ? stopped|broken", "heating not|n't|nt working|work", "heating ? not|n't|nt working|work",
        "heating ? not|n't|nt been working",
        "hot water ? ? not|n't|nt coming|working", "boiler ? ? stopped|broken|broke|failed|packed",
        "heater not working", "radiator|radiators ? stone|freezing|ice cold", "radiator|radiators is|are|stay|stays|stayed|went|gone|still|all cold",
        "radiator|radiators is|are|have|has still|all|completely|totally|been|gone|stayed cold",
        "radiator|radiators have|has been|gone|stayed stone|freezing|ice cold", "crack* in ? ? ? wall", "crack in the wall", "rats", "mice",
        "cockroach*", "infestation", "roof ? leaking", "leaks ? when it rains",
    ],
    "explicit_complaint": [
        "make|making|made|raise|raising|log|lodge|file|submit a ? complaint", "formal complaint",
        "treat|treated this|it as a complaint", "this is a ? complaint", "want|wish|like to complain",
        "i am|'m|m complaining", "complaint on her|his|their behalf", "as a complaint",
    ],
    "escalation": [
        "stage 2", "stage two", "stage ii", "escalat*", "next stage", "take it|this|my complaint further",
        "take my complaint further", "not happy|satisfied|content with your|the ? response|answer|reply|outcome",
        "unhappy|dissatisfied with your|the ? response|answer|reply|outcome", "do n't|not|nt accept it|your",
        "review of my complaint", "reviewed at stage", "refer ? to the ombudsman",
    ],
    "representative": [
        "on behalf of", "on her|his|their behalf", "writing|emailing|contacting you for my|our",
        "i am|'m|m her|his|their carer|advocate|representative|daughter|son", "asked me to write|email|contact",
        "i am|'m|m her|his|their social|support worker",
        "my client|constituent|constituents|tenant|mother|father|mum|dad|nan|gran|neighbour lives|asked me",
        "my client", "my constituent", "a constituent", "as her|his|their carer|advocate|representative|councillor",
        "ward councillor", "member of parliament", "power of attorney", "lasting power",
    ],
}

# A negator just before a cue cancels it, unless the cue holds its own negation ("no heating").
NEGATORS = {"no", "not", "n't", "nt", "never", "without", "none", "nor", "dont", "isnt", "wasnt", "arent", "havent",
            "hasnt", "nothing"}
RESOLVED = {"sorted", "fixed", "gone", "resolved", "repaired", "finished", "cured", "cleared", "treated"}
HARM = {"cough", "coughing", "hospital", "chest", "breathing", "asthma", "asthmatic", "ill", "doctor", "gp", "wheeze",
        "wheezing", "respiratory", "infection", "infections", "inhaler", "inhalers", "rash", "rashes", "a&e"}
TAPS = {"tap", "taps", "faucet", "mixer"}
# LABELLING.md: no heating or hot water is an emergency for a household with a baby or a very ill,
# disabled or old person; these beginnings of the vulnerable rules' words say which it is
AT_RISK_FROM_COLD = ("baby", "babies", "newborn", "pregnan", "month", "week", "year", "yr", "elderly", "frail",
                     "pensioner", "oap", "dementia", "alzheimer", "zimmer", "walking", "frame", "mobility", "crutches",
                     "disab", "wheelchair", "housebound", "bed", "dialysis", "cancer", "chemo", "terminal", "oxygen",
                     "copd", "heart", "respiratory", "chest", "breath", "asthma", "sickle", "arthritis", "multiple",
                     "stroke", "chronic", "aged")
HEATING = {"heating", "hot", "boiler", "radiator", "radiators", "heater", "heat"}
ELECTRICS = {"light", "lights", "socket", "sockets", "electrics", "electrical", "fusebox", "fuse", "wiring", "wires"}
# how water reaches the electrics in a sentence ("dripping onto the light", "through the light
# fitting"), and the words that start another matter ("a leak, and the light switch is loose")
TOWARDS = {"into", "onto", "on", "near", "by", "round", "around", "through", "from", "out", "behind", "over",
           "above", "under", "inside", "down", "where"}
ANOTHER_MATTER = {"and", "also", "but", "plus", "then", "as", "well"}
WATER_COMING_IN = {"ceiling", "roof", "wall", "walls", "through", "floor", "flooding", "flooded", "light", "lights",
                   "electrics", "socket", "sockets", "downstairs", "below", "pouring"}
SURVEY = re.compile(r"\bsurvey\b|\b\d{1,2}\s*(/|out of)\s*10\b|\brated\b", re.I)
QUESTION_OPENERS = {"how", "can", "what", "where", "who", "do", "does", "is", "when", "could"}


def _token_pattern(word: str) -> dict[str, Any]:
    if word == "?":
        return {"OP": "?"}
    if word.startswith("#") or word.endswith("*"):
        return {"NORM": word}
    return {"LOWER": word}


PREFIXES = sorted({w[:-1] for phrases in RULES.values() for p in phrases for w in p.split() if w.endswith("*")},
                  key=len, reverse=True)
_PREFIX = re.compile("|".join(re.escape(p) for p in PREFIXES))
_YOUNG_WORDS = {"one", "two", "three", "four", "five"}


def token_norm(lower: str) -> str | None:
    """The class a token belongs to for the rules, or None to keep spaCy's own norm."""
    if lower.isdigit():
        number = int(lower) if len(lower) < 4 else 10_000
        return "#old" if 65 <= number <= 119 else "#young" if number <= 5 else "#num"
    if lower in _YOUNG_WORDS:
        return "#young"
    match = _PREFIX.match(lower)
    return match.group(0) + "*" if match else None


def _phrases(text: str) -> list[list[dict[str, Any]]]:
    """Every spelling a phrase allows, one pattern each: plain equality is the Matcher's fast path."""
    choices = [word.split("|") for word in text.split()]
    return [[_token_pattern(w) for w in words] for words in itertools.product(*choices)]


@dataclass(frozen=True)
class Hit:
    rule: str
    words: str
    start: int
    end: int
    sentence: int


class _Reading:
    """One message's words and sentences, read once: each rule's checks then index plain lists
    instead of asking spaCy for tokens and sentences again for every hit."""

    def __init__(self, doc: Doc) -> None:
        strings = doc.vocab.strings
        lower, norm, punct, space, starts = doc.to_array([LOWER, NORM, IS_PUNCT, IS_SPACE, SENT_START]).T.tolist()
        self.lower = [strings[key] for key in lower]  # cheaper than making a Token object per word
        self.words = set(self.lower) | {strings[key] for key in set(norm)}  # "leak*", "#old"
        self.punct = [bool(flag) for flag in punct]
        self.space = [bool(flag) for flag in space]
        self.sentence_of: list[int] = []
        self.bounds: list[list[int]] = []
        for i, flag in enumerate(starts):
            if i == 0 or flag == 1:
                self.bounds.append([i, i + 1])
            else:
                self.bounds[-1][1] = i + 1
            self.sentence_of.append(len(self.bounds) - 1)


class CueRules:
    """The flags of one message; build once and call many times (the pipeline is loaded once)."""

    VOCABULARY_LIMIT = 50_000  # words spaCy has met; about 30 MB past a fresh pipeline's

    def outgrown(self) -> bool:
        """True once spaCy has met so many words that a fresh pipeline should take over."""
        return "nlp" in self.__dict__ and len(self.nlp.vocab) > self.VOCABULARY_LIMIT

    @cached_property
    def nlp(self) -> spacy.language.Language:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        default_norm = nlp.vocab.lex_attr_getters[NORM]
        nlp.vocab.lex_attr_getters[NORM] = lambda word: token_norm(word.lower()) or default_norm(word)
        for lexeme in list(nlp.vocab):  # the words spaCy knew before the getter was set
            norm = token_norm(lexeme.lower_)
            if norm is not None:
                lexeme.norm_ = norm
        return nlp

    @cached_property
    def matchers(self) -> tuple[PhraseMatcher, PhraseMatcher, list[tuple[list[set[str]], Matcher]]]:
        """Plain words by LOWER and phrases with word classes by NORM, each a PhraseMatcher that finds
        every phrase by hash at once; a phrase with an optional word gets a Matcher of its own, run
        only when the message holds all the words the phrase cannot do without (a Matcher holding
        them all cost more than everything else in classifying a message). Such a phrase is added
        under "<rule>/loose" unless it holds a negation of its own: its optional words may then be
        anything but a "not" or punctuation (see `hits`)."""
        plain, classed = PhraseMatcher(self.nlp.vocab, attr="LOWER"), PhraseMatcher(self.nlp.vocab, attr="NORM")
        optional: list[tuple[list[set[str]], Matcher]] = []
        for rule, texts in RULES.items():
            for text in texts:
                patterns = _phrases(text)
                if "?" in text.split():
                    matcher = Matcher(self.nlp.vocab)
                    owned = any(NEGATORS.intersection(word.split("|")) for word in text.split())
                    matcher.add(rule if owned else f"{rule}/loose", patterns)
                    optional.append(([set(word.split("|")) for word in text.split() if word != "?"], matcher))
                    continue
                words = [[t.get("LOWER") or t.get("NORM") for t in pattern] for pattern in patterns]
                by_norm = any("NORM" in t for pattern in patterns for t in pattern)
                (classed if by_norm else plain).add(rule, [Doc(self.nlp.vocab, words=w) for w in words])
        return plain, classed, optional

    def hits(self, doc: Doc, reading: _Reading) -> list[Hit]:
        found = []
        plain, classed, optional = self.matchers
        matches = set(plain(doc)) | set(classed(doc))
        for needed, matcher in optional:
            if all(not alternatives.isdisjoint(reading.words) for alternatives in needed):
                matches.update(matcher(doc))
        # Words another rule matched ("8 months gone") are that rule's, not a sign a hazard was put right.
        claimed = {i for match_id, start, end in matches
                   if self.nlp.vocab.strings[match_id].partition("/")[0] == "vulnerable" for i in range(start, end)}
        for match_id, start, end in sorted(matches, key=lambda m: (m[1], -m[2])):
            rule, _, loose = self.nlp.vocab.strings[match_id].partition("/")
            sentence = reading.sentence_of[start]
            if loose and (any(reading.punct[start:end]) or (
                    rule != "vulnerable" and self._contains_negation(reading, start, end))):
                continue  # "the ceiling. Someone came in", "the pipe has not burst"
            if rule in ("explicit_complaint", "escalation") and self._asks_about_it(reading, sentence):
                continue
            if rule != "vulnerable" and not self._contains_negation(reading, start, end) and self._negated(
                    reading, start, sentence):
                continue
            if rule in ("emergency", "significant") and self._put_right(reading, start, end, sentence, claimed):
                continue
            if rule == "significant" and self._only_a_tap(reading, start, sentence):
                continue
            found.append(Hit(rule, doc[start:end].text, start, end, sentence))
        return found

    def flags(self, text: str) -> Flags:
        doc = self.nlp(text)
        reading = _Reading(doc)
        hits = self.hits(doc, reading)
        cues: dict[str, list[str]] = {}
        for hit in hits:
            words = cues.setdefault(hit.rule, [])
            if hit.words not in words:
                words.append(hit.words)
        emergency, significant = cues.pop("emergency", []), cues.pop("significant", [])
        vulnerable = "vulnerable" in cues
        if significant and not emergency:
            emergency = self._water_on_electrics(reading, hits)
        if significant and not emergency and vulnerable:
            emergency = self._harm_from_damp(doc, reading, hits) or self._cold_for_someone_at_risk(reading, hits)
        hazard = "emergency" if emergency else "significant" if significant else "none"
        if hazard != "none":
            cues["hazard"] = emergency + [w for w in significant if w not in emergency]
        code, evidence = language.detect(text)
        if code:
            cues["language"] = evidence
        survey = SURVEY.search(text)
        if survey:
            cues["survey"] = [survey.group(0)]
        return Flags(
            vulnerable=vulnerable,
            hazard=hazard,
            explicit_complaint="explicit_complaint" in cues,
            escalation="escalation" in cues,
            survey=survey is not None,
            representative="representative" in cues,
            language=code,
            cues=cues,
        )

    @staticmethod
    def _asks_about_it(reading: _Reading, sentence: int) -> bool:
        """'How do I make a complaint?' asks about complaining; it does not make one."""
        first, last = reading.bounds[sentence]
        opener = next((reading.lower[i] for i in range(first, last) if not reading.punct[i]), None)
        ending = next((reading.lower[i] for i in reversed(range(first, last)) if not reading.space[i]), "")
        return ending.endswith("?") and opener in QUESTION_OPENERS

    @staticmethod
    def _contains_negation(reading: _Reading, start: int, end: int) -> bool:
        return any(word in NEGATORS for word in reading.lower[start:end])

    @staticmethod
    def _negated(reading: _Reading, start: int, sentence: int) -> bool:
        for i in reversed(range(max(reading.bounds[sentence][0], start - 4), start)):
            if reading.lower[i] in {"but", "however", "still", "and"} or reading.punct[i]:
                return False
            if reading.lower[i] in NEGATORS:
                return True
        return False

    @staticmethod
    def _put_right(reading: _Reading, start: int, end: int, sentence: int, claimed: set[int]) -> bool:
        """'the leak was fixed', 'thank you for sorting the damp': a hazard that has gone."""
        first, last = reading.bounds[sentence]
        words = {reading.lower[i] for i in [*range(first, start), *range(end, last)] if i not in claimed}
        if words & {"still", "again", "back", "but", "however", "not", "n't", "nothing", "never"}:
            return False
        return bool(words & RESOLVED) or ("thank" in words or "thanks" in words) and bool(
            words & {"sorting", "fixing", "treating", "clearing"})

    @staticmethod
    def _only_a_tap(reading: _Reading, start: int, sentence: int) -> bool:
        """'a leaking kitchen tap' is a repair, not a hazard (Awaab's Law names water coming in)."""
        first, last = reading.bounds[sentence]
        words = set(reading.lower[first:last])
        return reading.lower[start].startswith(("leak", "drip")) and bool(words & TAPS) and not words & WATER_COMING_IN

    @staticmethod
    def _water_on_electrics(reading: _Reading, hits: Iterable[Hit]) -> list[str]:
        """CODE.md: electrics in contact with water. Water coming in, then within a few words a
        light, socket or the electrics it goes towards ("leaking through the ceiling by the
        light"), with nothing between that starts another matter ("a leak, and the light switch
        is loose"): a text message is often one long sentence."""
        for hit in hits:
            if hit.rule != "significant" or not reading.lower[hit.start].startswith(("leak", "water", "drip", "pour", "coming")):
                continue
            last = min(reading.bounds[hit.sentence][1], hit.end + 10)
            between: set[str] = set()
            for i in range(hit.end, last):
                word = reading.lower[i]
                if word in ANOTHER_MATTER:
                    break
                if word in ELECTRICS and between & TOWARDS:
                    return [hit.words, word]
                between.add(word)
        return []

    @staticmethod
    def _cold_for_someone_at_risk(reading: _Reading, hits: Iterable[Hit]) -> list[str]:
        """No heating or hot water where the message says a baby, or a very ill, disabled or old
        person, lives: what the rules name an emergency, which neither cue is alone."""
        hits = list(hits)
        cold = [h.words for h in hits if h.rule == "significant"
                and not HEATING.isdisjoint(reading.lower[h.start:h.end])]
        risk = [h.words for h in hits if h.rule == "vulnerable"
                and any(word.startswith(AT_RISK_FROM_COLD) or (word.isdigit() and token_norm(word) != "#num")
                        for word in reading.lower[h.start:h.end])]
        return [cold[0], risk[0]] if cold and risk else []

    @staticmethod
    def _harm_from_damp(doc: Doc, reading: _Reading, hits: Iterable[Hit]) -> list[str]:
        """CODE.md: damp and mould harming a vulnerable person is an emergency hazard."""
        damp = any(h.rule == "significant" and reading.lower[h.start].startswith(("damp", "mould", "mold"))
                   for h in hits)
        if not damp:
            return []
        return [doc[i].text for i, word in enumerate(reading.lower) if word in HARM][:5]
