"""Marker words appended to a message before it is vectorised: domain knowledge the corpus is too small to teach.

A resident who writes "harassed by the lads downstairs" uses words no training example may
hold; a lexicon of the words housing teams hear for each theme, and of the ways people say
they are unhappy, asking, thanking or suggesting, lets the linear model generalise from a few
hundred messages to the many ways residents write. The markers are ordinary tokens, so the
saved model holds nothing but scikit-learn's own types.
"""

from __future__ import annotations

import re

_LEXICON: dict[str, str] = {
    # what it is
    "zzunhappy": r"still (not|no|waiting|there|broken|leaking|outstanding|nothing)|again\b|(weeks|months|days) ago|"
                 r"since (january|february|march|april|may|june|july|august|september|october|november|december|"
                 r"last|the)|"
                 r"no ?one (has|came|come|rang|called|contacted|turned)|nobody|nothing (has|happened|done)|fed up|"
                 r"sick of|ridiculous|disgrace|unacceptable|not acceptable|not good enough|useless|joke\b|appalling|"
                 r"disappointed|frustrat|unhappy|not happy|dissatisf|ignored|chas(e|ed|ing)|"
                 r"(third|fourth|fifth|\d+(rd|th)) time|never (came|turned|showed|rang|called|replied|responded|got)|"
                 r"promised|cancelled|missed|no show|rude|shouted|swore|laughed|waste|lost (a|another) day|complain|"
                 r"escalat|stage (2|two)|how long|wasting|had enough|patient|kept waiting|"
                 r"didn'?t (turn|show|come|finish|clean|fix)|left (a|my|the) mess",
    "zzrequest": r"\b(can|could|would) (you|someone|somebody|u)\b.*"
                 r"\b(send|come|fix|book|repair|arrange|look|check|replace|sort)|"
                 r"please (send|come|fix|book|repair|arrange|can|could)|i'?d like to (report|request|book|apply)|"
                 r"i want to report|i would like to (report|request|book|apply)|request(ing)? (a|permission)|"
                 r"can i (book|report|request|have)|need (someone|a new|an engineer|a plumber|help)|urgent|asap",
    "zzquestion": r"^(how|what|when|where|who|which|is|are|do|does|can|will|am) [^.!]*\?|"
                  r"\b(how|what|when|where|who) (do|does|is|are|can|will|long|much|many)\b",
    "zzthanks": r"\bthank|\bthanks\b|\bcheers\b|grateful|appreciate|brilliant|fantastic|amazing|lovely|wonderful|"
                r"great job|well done|credit to",
    "zzsuggest": r"it would (be|help)|would be (good|nice|helpful|useful|better)|suggest|could you (add|put|have)|"
                 r"maybe (you|put|add|have)|idea\b|i think you should|feedback|survey|out of 10|/10\b",
    # what it is about
    "zzasb": r"neighbou?r|noise|noisy|loud|music|party|parties|shout|bang|stamp|harass|threat|abuse|intimidat|drug|"
             r"cannabis|dealing|graffiti|vandal|youths|teenagers|gang|fight|barking|dog\b|anti.?social|\basb\b|police|"
             r"cctv|fly.?tip|dumped|nuisance|scared|frightened|racial|hate crime",
    "zzrent": r"\brent\b|arrears|direct debit|standing order|payment plan|overcharg|refund|service charge|"
              r"universal credit|housing benefit|\bbalance\b|statement|\bpaid\b|\bpay\b|income (team|officer)|money|"
              r"£\d|debt",
    "zztenancy": r"tenancy|tenant\b|succession|joint tenan|mutual exchange|swap|lodger|sublet|permission|pet\b|cat\b|"
                 r"dog\b|notice (to|seeking)|end my|passed away|died|alteration|shed|satellite|possession|evict|garden",
    "zzallocations": r"housing register|register|band(ing)?\b|\bbid|bidding|transfer|waiting list|housing application|"
                     r"homeless|temporary accommodation|overcrowd|downsiz|offer(ed)? (me|a|of)|bedroom (house|flat)|"
                     r"rehous|housing options|medical (priority|letter|form)",
    "zzcommunal": r"communal|stair(well|s)|landing|corridor|\blift\b|bin store|bins\b|lights? (in|on) the|entrance|"
                  r"door entry|intercom|cleaner|cleaning|caretaker|grounds|grass|hedges|estate|block\b|car park|"
                  r"fire door|hallway",
    "zzleasehold": r"leasehold|leaseholder|\blease\b|section 20|major works|freehold|ground rent|management pack|"
                   r"buildings insurance|service charge",
    "zzstaff": r"officer|staff|advisor|adviser|receptionist|call (centre|handler)|on the phone|"
               r"(he|she) (was|said|told|shouted|laughed)|attitude|rude|manner|spoke to me|spoken to|behaviou?r|"
               r"unprofessional|disrespect",
    "zzhandling": r"complaint|stage (1|one|2|two)|escalat|ombudsman|response to my|your response|your reply|"
                  r"investigat|the outcome",
    "zzdamp": r"damp|mou?ld|condensation|black (spots|marks)|mildew|musty|wet (wall|patch)|dehumidifier|extractor",
    "zzrepairs": r"repair|broken|fix|leak|boiler|heating|hot water|tap\b|toilet|shower|window|door|lock|roof|gutter|"
                 r"plumber|electrician|engineer|operative|contractor|socket|light|kitchen|bathroom|fence|gate|ceiling|"
                 r"floor|job (number|ref)",
}
# Matched against the lowercased text without re.IGNORECASE: the same matches, four to five
# times faster, because case-folding every character defeats the regex engine's literal scans.
_COMPILED = [(marker, re.compile(pattern, re.M)) for marker, pattern in _LEXICON.items()]


def with_hints(text: str) -> str:
    """The text followed by one marker per lexicon entry it matches (repeated for strong matches).

    Given normalise()'d text, at most MAX_CHARS long: zzrequest's `.*` and zzquestion's `[^.!]*`
    may read on to the end of the line (or the text) from every opening that fails, so crafted
    text costs up to about 50 ms, and no more however long the letter it came from.
    """
    markers = []
    lower = text.lower()
    for marker, pattern in _COMPILED:
        count = len(pattern.findall(lower))
        markers.extend([marker] * min(count, 3))
    return text + "\n" + " ".join(markers) if markers else text
