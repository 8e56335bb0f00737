"""Every resident letter rendered in every form it goes out in, with sample values: what the
letter rules (tests/test_letters.py) and the reading measure (bench/letters.py) both read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workflow.letters import SAMPLE_VALUES, Letters
from workflow.vocabulary import AdjustmentKind

STAFF_ONLY = frozenset({"staff_notice"})
CHAT_ONLY = frozenset({"help", "status"})  # answers to chat commands (/help, /status)
EVERY_ADJUSTMENT = [{"kind": kind.value, "detail": {"interpreter": "Polish", "named_contact": "Sam Jones",
                                                    "supporter": "your daughter"}.get(kind.value)}
                    for kind in AdjustmentKind]
FORMS: dict[str, dict[str, Any]] = {
    "email": {},
    "chat": {"chat": True},
    "chat, Ombudsman already named": {"chat": True, "ombudsman_told": True},
    "email, emergency hazard": {"hazard": "emergency"},
    "chat, emergency hazard": {"chat": True, "hazard": "emergency"},
    "email, significant hazard": {"hazard": "significant"},
    "email, stage 2": {"stage": 2},
    "email, partly upheld, every remedy": {"outcome": "partly_upheld", "remedies": [
        "apology", "acknowledge_failings", "explanation", "action_on_delay", "changed_decision", "amended_record",
        "financial", "changed_policy"]},
    "email, not upheld": {"outcome": "not_upheld", "remedies": []},
    "email, asked how to complain": {"asked_how": True},
    "email, every adjustment": {"adjustments": EVERY_ADJUSTMENT},
}


@dataclass(frozen=True)
class Sample:
    letter: str
    form: str
    values: dict[str, Any]
    text: str  # the whole letter
    body: str  # without the Ombudsman's paragraph and the signature


def resident_letters(letters: Letters) -> list[str]:
    return [name for name in letters.names() if name not in STAFF_ONLY]


def samples(letters: Letters) -> Iterator[Sample]:
    for name in resident_letters(letters):
        for form, changes in FORMS.items():
            if name in CHAT_ONLY and not changes.get("chat"):
                continue
            values = {**SAMPLE_VALUES, **changes}
            yield Sample(name, form, values, letters.render(name, **values), letters.body(name, **values))
