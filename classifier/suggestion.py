"""What the classifier hands back: the suggestion an advisor confirms or corrects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Flags:
    """Flags raised by the rules (with the words that raised them) or by a learned head (with its
    reading and score), so an advisor can see why."""

    vulnerable: bool = False
    hazard: str = "none"  # none | significant | emergency
    explicit_complaint: bool = False
    escalation: bool = False
    survey: bool = False
    representative: bool = False  # someone writing for the resident (Code 1.3, 3.6)
    language: str | None = None  # ISO 639-1 code when the message is not in English
    cues: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    kind: str
    kind_scores: dict[str, float]
    theme: str
    theme_scores: dict[str, float]
    offer_choice: bool
    flags: Flags
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        """The shape `triage classify --json` prints (DESIGN.md's contract), plus cue words."""
        return {
            "kind": self.kind,
            "kind_scores": self.kind_scores,
            "theme": self.theme,
            "theme_scores": self.theme_scores,
            "offer_choice": self.offer_choice,
            "flags": {
                "vulnerable": self.flags.vulnerable,
                "hazard": self.flags.hazard,
                "explicit_complaint": self.flags.explicit_complaint,
                "escalation": self.flags.escalation,
            },
            "cues": self.flags.cues,
            "language": self.flags.language,
            "survey": self.flags.survey,
            "representative": self.flags.representative,
            "model_version": self.model_version,
        }
