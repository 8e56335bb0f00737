"""The training data is what build.py makes from the hand-written messages, and covers what the issue asks."""

from __future__ import annotations

import collections
import importlib.util
import json
import sys
from pathlib import Path

from classifier.labels import KINDS, THEMES

DATA = Path(__file__).resolve().parents[1] / "training_data"


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"training_{name}", DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_committed_files_are_what_build_makes() -> None:
    build = load_module("build")
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


def real_rows(folder: str) -> list[dict]:
    return [json.loads(line) for path in sorted((DATA / folder).glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_residents_own_words_cover_what_the_classifier_issue_asks() -> None:
    from classifier.data import page_key

    rows = real_rows("real")
    assert len(rows) >= 1200 and len({page_key(r["source"]) for r in rows}) >= 300
    kinds, themes = collections.Counter(r["kind"] for r in rows), collections.Counter(r["theme"] for r in rows)
    assert set(kinds) == set(KINDS) and set(themes) == set(THEMES)
    assert min(kinds[k] for k in ("enquiry", "compliment", "feedback")) >= 150
    assert min(themes[t] for t in ("staff_conduct", "complaint_handling", "leasehold", "other")) >= 60


def test_the_real_text_test_set_is_large_labelled_twice_and_from_pages_never_trained_on() -> None:
    import csv

    from classifier.data import read_jsonl
    from classifier.training import case_numbers, held_back_pages, page_of, real_examples

    test = real_rows("realtest")
    assert len(test) >= 300 and set(collections.Counter(r["kind"] for r in test)) == set(KINDS)
    for path in sorted((DATA / "realtest").glob("*.jsonl")):
        with (DATA / "realtest" / f"second_pass_{path.stem}.tsv").open(encoding="utf-8") as handle:
            second = {row["id"] for row in csv.DictReader(handle, delimiter="\t")}
        assert {e["id"] for e in (json.loads(line) for line in path.read_text().splitlines())} == second
    known = case_numbers(DATA)
    test_pages = held_back_pages(DATA)
    decision = "https://www.housing-ombudsman.org.uk/decisions/mid-suffolk-district-council-202127679/"
    assert page_of(decision, known) in test_pages  # the test set has it as ?p=42262 (case_numbers.tsv)
    assert not test_pages & {page_of(r["source"], known) for r in real_rows("real")}
    trained = real_examples(DATA)
    assert trained and not {e.group for e in trained} & {f"page:{p}" for p in test_pages}
    trained_texts = {e.text for e in read_jsonl(DATA / "train.jsonl")} | {r["text"] for r in real_rows("real")}
    assert not {r["text"] for r in test} & trained_texts


def test_no_training_message_is_a_close_paraphrase_of_a_test_message() -> None:
    from classifier.encoder import shared

    encoder = shared()
    test = encoder.encode([r["text"] for r in real_rows("realtest")])
    trained = encoder.encode([r["text"] for r in real_rows("real")])
    assert float((trained @ test.T).max()) <= 0.88


def test_sources_lists_every_page_behind_the_real_messages() -> None:
    module = load_module("sources")
    assert module.section() in (DATA / "SOURCES.md").read_text(encoding="utf-8")
