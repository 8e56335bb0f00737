"""Building the model from examples, deterministically, and measuring it honestly.

Training reads train.jsonl (and advisor corrections when asked); heldout.jsonl is never read
here, so the held-out figures measure messages the model has not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from classifier import evaluation
from classifier.data import Example, fingerprint, read_jsonl
from classifier.model import TriageModel

TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
MODEL_VERSION_PREFIX = "triage-1"


def training_examples(data_dir: Path) -> list[Example]:
    return read_jsonl(data_dir / TRAIN_FILE)


def train(examples: Sequence[Example], **params: Any) -> TriageModel:
    """Fit on the examples; the version names the data, so the same data gives the same file."""
    data_hash = fingerprint(examples)
    model = TriageModel(version=f"{MODEL_VERSION_PREFIX}-{data_hash[:12]}", data_hash=data_hash, **params)
    groups = [e.group or f"#{i}" for i, e in enumerate(examples)]
    model.fit([e.text for e in examples], [e.kind for e in examples], [e.theme for e in examples], groups)
    model.figures["n_train"] = len(examples)
    return model


def evaluate(model: TriageModel, examples: Sequence[Example]) -> dict[str, Any]:
    return evaluation.figures(examples, model.suggest_many([e.text for e in examples]))


def cross_validate(examples: Sequence[Example], folds: int = 5, **params: Any) -> dict[str, Any]:
    """Figures averaged over folds split by group, so no message's variants straddle a split."""
    groups = np.array([e.group or f"#{i}" for i, e in enumerate(examples)])
    per_fold = []
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(np.zeros(len(examples)), groups=groups):
        model = train([examples[i] for i in train_idx], **params)
        per_fold.append(evaluate(model, [examples[i] for i in test_idx]))
    keys = [("kind", "macro_f1"), ("kind", "accuracy"), ("theme", "accuracy"), ("complaint_recall_at_offer",),
            ("offer_rate_non_complaint",)]
    summary: dict[str, Any] = {"folds": folds}
    for key in keys:
        values = [_dig(f, key) for f in per_fold]
        worst = np.max(values) if key == ("offer_rate_non_complaint",) else np.min(values)  # lower is better there
        summary["_".join(key)] = {"mean": round(float(np.mean(values)), 4), "worst": round(float(worst), 4)}
    return summary


def _dig(figures: dict[str, Any], key: tuple[str, ...]) -> float:
    value: Any = figures
    for part in key:
        value = value[part]
    return float(value)
