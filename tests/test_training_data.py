"""The training data is what build.py makes from the hand-written messages, and covers what the issue asks."""

from __future__ import annotations

import collections
import importlib.util
import json
import sys
from pathlib import Path

from classifier.labels import KINDS, THEMES

DATA = Path(__file__).resolve().parents[1] / "training_data"


def load_build():
    spec = importlib.util.spec_from_file_location("training_build", DATA / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_committed_files_are_what_build_makes() -> None:
    build = load_build()
    train, heldout = build.build()
    assert rows("train.jsonl") == [e.row() for e in train]
    assert rows("heldout.jsonl") == [e.row() for e in heldout]


def test_heldout_shares_no_message_with_training() -> None:
    train_groups = {r["group"] for r in rows("train.jsonl")}
    assert not train_groups & {r["group"] for r in rows("heldout.jsonl")}
    train_texts = {r["text"] for r in rows("train.jsonl")}
    assert not train_texts & {r["text"] for r in rows("heldout.jsonl") + rows("fresh.jsonl")}


def test_size_and_coverage() -> None:
    everything = rows("train.jsonl") + rows("heldout.jsonl")
    assert len(everything) >= 2500
    kinds = collections.Counter(r["kind"] for r in everything)
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 100
    for kind in ("complaint", "service_request", "enquiry", "compliment", "feedback"):
        themes = {r["theme"] for r in everything if r["kind"] == kind}
        assert len(themes) >= 9, (kind, sorted(set(THEMES) - themes))
    assert {r["theme"] for r in everything if r["kind"] == "complaint"} == set(THEMES)
    assert {r["channel"] for r in everything} == {"email", "chat"}
    assert {r["hazard"] for r in everything} == {"none", "significant", "emergency"}
    assert sum(r["vulnerable"] for r in everything) >= 100
