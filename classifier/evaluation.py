"""The figures `triage eval` prints (DESIGN.md's contract), computed from suggestions and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from classifier.data import Example
from classifier.labels import KINDS, THEMES
from classifier.suggestion import Suggestion


def _r(value: float) -> float:
    return round(float(value), 4)


def figures(examples: Sequence[Example], suggestions: Sequence[Suggestion]) -> dict[str, Any]:
    if len(examples) != len(suggestions):
        raise ValueError("one suggestion per example")
    if not examples:
        raise ValueError("no examples to evaluate")
    true_kind = [e.kind for e in examples]
    pred_kind = [s.kind for s in suggestions]
    kinds_seen = [k for k in KINDS if k in true_kind or k in pred_kind]
    precision, recall, f1, support = precision_recall_fscore_support(true_kind, pred_kind, labels=kinds_seen,
                                                                     zero_division=0)
    per_class = {k: {"precision": _r(p), "recall": _r(r), "f1": _r(f), "support": int(n)}
                 for k, p, r, f, n in zip(kinds_seen, precision, recall, f1, support)}
    themes_seen = [t for t in THEMES if t in {e.theme for e in examples} | {s.theme for s in suggestions}]
    complaints = [s for e, s in zip(examples, suggestions) if e.kind == "complaint"]
    others = [s for e, s in zip(examples, suggestions) if e.kind != "complaint"]
    result: dict[str, Any] = {
        "n": len(examples),
        "kind": {"accuracy": _r(accuracy_score(true_kind, pred_kind)),
                 "macro_f1": _r(f1_score(true_kind, pred_kind, labels=kinds_seen, average="macro", zero_division=0)),
                 "per_class": per_class},
        "theme": {"accuracy": _r(accuracy_score([e.theme for e in examples], [s.theme for s in suggestions])),
                  "macro_f1": _r(f1_score([e.theme for e in examples], [s.theme for s in suggestions],
                                          labels=themes_seen, average="macro", zero_division=0))},
        "complaint_recall_at_offer": (_r(sum(s.offer_choice for s in complaints) / len(complaints))
                                      if complaints else None),
        "offer_rate_non_complaint": _r(sum(s.offer_choice for s in others) / len(others)) if others else None,
    }
    result["vulnerable"] = _precision_recall([(e.vulnerable, s.flags.vulnerable) for e, s in zip(examples, suggestions)
                                              if e.vulnerable is not None])
    hazards = [(e.hazard, s.flags.hazard) for e, s in zip(examples, suggestions) if e.hazard is not None]
    result["hazard"] = {"accuracy": _r(sum(t == p for t, p in hazards) / len(hazards)) if hazards else None,
                        "any": _precision_recall([(t != "none", p != "none") for t, p in hazards]),
                        "emergency": _precision_recall([(t == "emergency", p == "emergency") for t, p in hazards])}
    return result


def _precision_recall(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float | None]:
    """Of the flags raised, how many were right; of those that should be, how many were raised."""
    hits = sum(t and p for t, p in pairs)
    raised, due = sum(p for _, p in pairs), sum(t for t, _ in pairs)
    return {"precision": _r(hits / raised) if raised else None, "recall": _r(hits / due) if due else None}
