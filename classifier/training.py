"""Building the model from examples, deterministically, and measuring it honestly.

Training reads the hand-written train.jsonl, the real residents' messages in real/ (each from
a public page listed in SOURCES.md) and advisor corrections when asked. heldout.jsonl and the
real-text test set in realtest/ are never read here, and a real example from a page the test
set also used is left out, so the test figures measure messages from pages the model never saw.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from classifier import evaluation
from classifier.data import Example, fingerprint, page_key, read_jsonl
from classifier.encoder import Encoder
from classifier.model import Progress, TriageModel

TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
REAL_DIR = "real"
REAL_TEST_DIR = "realtest"
CASE_NUMBERS = "case_numbers.tsv"
MODEL_VERSION_PREFIX = "triage-2"
# Which of build.py's variants of a hand-written message are trained on. Measured by grouped
# cross-validation on the real residents' messages (README): with every variant (slips, email,
# chat) kind macro-F1 0.897 and theme accuracy 0.791; with the originals alone 0.904 and 0.805,
# in a third of the time. The team's machine-made variants of its own writing no longer help.
VARIANTS = ("original",)


def case_numbers(data_dir: Path) -> dict[str, str]:
    """Ombudsman decisions stored under an address without their case number (`?p=40367`), as
    found in the page's text: the same decision under its /decisions/…-NNNNNNNNN address has
    another page_key, so without this list it could serve the test set and training at once."""
    path = data_dir / CASE_NUMBERS
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {page_key(row["source"]): f"case:{row['case']}" for row in csv.DictReader(handle, delimiter="\t")}


def page_of(source: str, known: Mapping[str, str]) -> str:
    """One name for one page or decision, however it was addressed."""
    key = page_key(source)
    return known.get(key, key)


def held_back_pages(data_dir: Path, known: Mapping[str, str] | None = None) -> set[str]:
    """The pages and decisions the real-text test set was written from: never trained on."""
    known = case_numbers(data_dir) if known is None else known
    return {page_of(e.source, known) for path in sorted((data_dir / REAL_TEST_DIR).glob("*.jsonl"))
            for e in read_jsonl(path) if e.source}


def real_examples(data_dir: Path) -> list[Example]:
    """Residents' own words, grouped by page so one page's messages never straddle a fold."""
    known = case_numbers(data_dir)
    held_back = held_back_pages(data_dir, known)
    found = []
    for path in sorted((data_dir / REAL_DIR).glob("*.jsonl")):
        for e in read_jsonl(path):
            key = page_of(e.source or path.name, known)
            if key not in held_back:
                found.append(replace(e, group=f"page:{key}"))
    return found


def training_examples(data_dir: Path, variants: Sequence[str] = VARIANTS) -> list[Example]:
    written = [e for e in read_jsonl(data_dir / TRAIN_FILE) if (e.variant or "original") in variants]
    return written + real_examples(data_dir)


def train(examples: Sequence[Example], encoder: Encoder | None = None, progress: Progress | None = None,
          **params: Any) -> TriageModel:
    """Fit on the examples; the version names the data, so the same data gives the same file."""
    data_hash = fingerprint(examples)
    model = TriageModel(version=f"{MODEL_VERSION_PREFIX}-{data_hash[:12]}", data_hash=data_hash, encoder=encoder, **params)
    groups = [e.group or f"#{i}" for i, e in enumerate(examples)]
    real = [e.source is not None for e in examples]
    model.fit([e.text for e in examples], [e.kind for e in examples], [e.theme for e in examples], groups,
              threshold_mask=real if any(real) else None, vulnerable=[e.vulnerable for e in examples],
              hazards=[e.hazard for e in examples], progress=progress)
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
