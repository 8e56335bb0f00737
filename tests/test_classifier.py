"""The model as its callers use it: suggestions, offering the choice, bad input, saving and loading."""

from __future__ import annotations

import copy

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import skops.io as sio

from classifier.data import Example, read_jsonl
from classifier.evaluation import figures
from classifier.model import NotFitted, TriageModel
from classifier.suggestion import Flags, Suggestion
from classifier.text import MAX_CHARS, EmptyMessage, normalise
from classifier.training import train
from tests.servers import TRIAGE, triage_env

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(trained_data_dir: Path) -> TriageModel:
    return TriageModel.load(trained_data_dir / "model" / "triage.skops")


def run_triage(data_dir: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, *args], env=triage_env(TRIAGE_DATA_DIR=str(data_dir)), cwd=data_dir,
                          capture_output=True, text=True, input=input, timeout=300)


def suggestion(kind: str, theme: str, offer: bool, vulnerable: bool = False, hazard: str = "none") -> Suggestion:
    return Suggestion(kind=kind, kind_scores={kind: 1.0}, theme=theme, theme_scores={theme: 1.0}, offer_choice=offer,
                      flags=Flags(vulnerable=vulnerable, hazard=hazard), model_version="test")


def test_figures_are_computed_exactly() -> None:
    examples = [
        Example("a", "complaint", "repairs", vulnerable=True, hazard="significant"),
        Example("b", "complaint", "rent", vulnerable=False, hazard="none"),
        Example("c", "service_request", "repairs", vulnerable=True, hazard="emergency"),
        Example("d", "enquiry", "rent", vulnerable=False, hazard="none"),
    ]
    suggestions = [
        suggestion("complaint", "repairs", True, vulnerable=True, hazard="significant"),
        suggestion("service_request", "rent", False, vulnerable=True, hazard="significant"),
        suggestion("service_request", "asb", True, vulnerable=False, hazard="emergency"),
        suggestion("enquiry", "rent", False, vulnerable=False, hazard="none"),
    ]
    result = figures(examples, suggestions)
    assert result["n"] == 4
    assert result["kind"]["accuracy"] == 0.75
    # complaint: P=1, R=0.5, F1=2/3; service_request: P=0.5, R=1, F1=2/3; enquiry: F1=1 -> macro 7/9
    assert result["kind"]["macro_f1"] == round(7 / 9, 4)
    assert result["kind"]["per_class"]["complaint"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert result["theme"]["accuracy"] == 0.75
    assert result["complaint_recall_at_offer"] == 0.5
    assert result["offer_rate_non_complaint"] == 0.5
    assert result["vulnerable"] == {"precision": 0.5, "recall": 0.5}
    # any hazard: raised for a, b, c, due for a, c; emergency: raised and due for c alone
    assert result["hazard"] == {"accuracy": 0.75, "any": {"precision": 0.6667, "recall": 1.0},
                                "emergency": {"precision": 1.0, "recall": 1.0}}


def test_suggestions_for_plainly_different_messages(model: TriageModel) -> None:
    chasing = model.suggest("I reported my broken boiler five weeks ago and nobody has come. I keep ringing and "
                            "being told someone will call back. This is not good enough.")
    assert chasing.kind == "complaint" and chasing.offer_choice and chasing.theme == "repairs"
    thanks = model.suggest("Thank you to the plumber who came today, he was polite and tidy.")
    assert thanks.kind == "compliment" and not thanks.offer_choice
    question = model.suggest("What day are the bins collected on our estate?")
    assert question.kind == "enquiry" and not question.offer_choice
    noise = model.suggest("My neighbour plays loud music every night until 3am, can someone look into it?")
    assert noise.theme == "asb"
    for s in (chasing, thanks, question, noise):
        assert abs(sum(s.kind_scores.values()) - 1) < 0.01 and abs(sum(s.theme_scores.values()) - 1) < 0.01


def test_an_explicit_complaint_always_offers_the_choice(model: TriageModel) -> None:
    stated = model.suggest("I want to make a formal complaint.")
    assert stated.offer_choice and stated.flags.explicit_complaint
    escalation = model.suggest("Please escalate to stage 2.")
    assert escalation.offer_choice and escalation.flags.escalation


@pytest.mark.parametrize("text", [
    "x" * 1_000_000,
    ("my repair is late " * 60_000),
    "😡😡😡",
    "<html><script>alert('complaint')</script><style>p{}</style><p>Thanks for fixing my door &amp; gate</p></html>",
    "broken\x00 boiler\x07\x1b[31m again",
    "Dzień dobry, mam przeciekający kran w kuchni. Proszę o naprawę.",
])
def test_odd_input_gets_a_suggestion(model: TriageModel, text: str) -> None:
    result = model.suggest(text)
    assert result.kind in result.kind_scores and result.theme in result.theme_scores


@pytest.mark.parametrize("text", ["", "   \n\t", "\x00\x01\x02", "<p> </p><script>x</script>"])
def test_nothing_readable_is_a_clear_error(model: TriageModel, text: str) -> None:
    with pytest.raises(EmptyMessage, match="no readable text"):
        model.suggest(text)


def test_normalise_bounds_and_cleans() -> None:
    assert len(normalise("word " * 100_000)) <= MAX_CHARS
    cleaned = normalise("<p>Hello<br>there</p><script>steal()</script> &pound;5\x00")
    assert "steal" not in cleaned and "<" not in cleaned and "£5" in cleaned and "\x00" not in cleaned


def test_skops_round_trip_gives_the_same_suggestions(model: TriageModel) -> None:
    again = TriageModel.from_bytes(model.to_bytes())
    texts = ["my ceiling is leaking", "thank you so much", "how much is my rent", "I want to complain"]
    assert [s.to_dict() for s in again.suggest_many(texts)] == [s.to_dict() for s in model.suggest_many(texts)]
    assert again.version == model.version and again.data_hash == model.data_hash


class Gadget:
    def __init__(self) -> None:
        self.payload = "anything"


def test_a_file_with_foreign_types_is_refused() -> None:
    hostile = sio.dumps({"format": 2, "vectoriser": Gadget()})
    with pytest.raises(ValueError, match="not trusted"):
        TriageModel.from_bytes(hostile)


def _node(module: str, cls: str, loader: str, **fields: object) -> dict[str, object]:
    return {"__class__": cls, "__module__": module, "__loader__": loader, **fields}


def _with_schema_entry(data: bytes, key: str, node: dict[str, object]) -> bytes:
    """A real model file with one more entry in its top-level dict, as an attacker would edit it."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    schema["content"][key] = node
    schema["key_types"]["content"].append(_node("builtins", "str", "TypeNode"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, json.dumps(schema) if name == "schema.json" else source.read(name))
    return out.getvalue()


def _calls(function: str, argument: str) -> dict[str, object]:
    """A skops reduce node whose constructor is builtins.<function>, called with one string."""
    text = _node("builtins", "str", "JsonNode", content=json.dumps(argument), is_json=True)
    return _node("builtins", function, "LossNode", content=_node("builtins", "dict", "DictNode", content={},
                 key_types=_node("builtins", "list", "ListNode", content=[])),
                 __reduce__={"args": _node("builtins", "tuple", "TupleNode", content=[text])})


@pytest.mark.parametrize("function", ["eval", "exec"])
def test_a_model_file_whose_node_calls_a_builtin_is_refused_and_nothing_runs(model: TriageModel, tmp_path: Path,
                                                                            function: str) -> None:
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    hostile = _with_schema_entry(model.to_bytes(), "extra", _calls(function, code))
    with pytest.raises(ValueError, match=f"not trusted.*builtins.{function}"):
        TriageModel.from_bytes(hostile)
    assert not marker.exists()


def test_a_model_file_with_any_type_outside_the_exact_list_is_refused(model: TriageModel) -> None:
    for node in (_node("builtins", "set", "SetNode", content=[]),
                 _node("sklearn.linear_model._logistic", "LogisticRegression", "ReduceNode", content={}),
                 _node("numpy", "load", "FunctionNode", content={"module_path": "numpy", "function": "load"})):
        with pytest.raises(ValueError, match="not trusted"):
            TriageModel.from_bytes(_with_schema_entry(model.to_bytes(), "extra", node))


def test_a_running_bot_loads_its_model_without_importing_every_estimator(model: TriageModel, tmp_path: Path) -> None:
    """skops, imported plainly, imports all of scikit-learn (and pytest) to list the estimators it
    trusts by default: 12 MB of a running bot's memory for a list the exact allow-list leaves unused."""
    path = tmp_path / "triage.skops"
    model.save(path)
    script = ("import sys, pathlib, sklearn.utils, sklearn.utils.discovery\n"
              "from classifier.model import TriageModel\n"
              f"loaded = TriageModel.load(pathlib.Path({str(path)!r}))\n"
              "print(loaded.suggest('The boiler has broken down again and nobody has come').kind)\n"
              "print(sorted(m for m in ('sklearn.datasets', '_pytest') if m in sys.modules))\n"
              "print(sklearn.utils.all_estimators is sklearn.utils.discovery.all_estimators)\n")
    python = Path(TRIAGE).parent / "python"
    result = subprocess.run([str(python), "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    kind, imported, restored = result.stdout.split("\n")[:3]
    assert kind == model.suggest("The boiler has broken down again and nobody has come").kind
    assert imported == "[]"
    assert restored == "True"


def test_training_is_deterministic() -> None:
    examples = read_jsonl(REPO / "training_data" / "train.jsonl")[:400]
    first, second = train(examples), train(examples)
    assert hashlib.sha256(first.to_bytes()).digest() == hashlib.sha256(second.to_bytes()).digest()
    assert first.version == second.version and first.version.startswith("triage-2-")


def test_an_untrained_model_says_so() -> None:
    with pytest.raises(NotFitted, match="triage train"):
        TriageModel().suggest("hello")


def test_classify_json_follows_the_contract(trained_data_dir: Path) -> None:
    result = run_triage(trained_data_dir, "classify", "--json", "There is black mould in my baby's bedroom and she "
                        "keeps coughing. I reported it in March and nobody came.")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"kind", "kind_scores", "theme", "theme_scores", "offer_choice", "flags"} <= set(data)
    assert set(data["flags"]) == {"vulnerable", "hazard", "explicit_complaint", "escalation"}
    assert data["flags"]["vulnerable"] is True and data["flags"]["hazard"] == "emergency"
    assert "baby" in data["cues"]["vulnerable"] and data["offer_choice"] is True
    assert data["team"] == "Repairs and maintenance"


def test_classify_refuses_empty_text_clearly(trained_data_dir: Path) -> None:
    result = run_triage(trained_data_dir, "classify", "--json", "   ")
    assert result.returncode == 2 and "no readable text" in result.stderr


def test_eval_agrees_with_classify(trained_data_dir: Path, tmp_path: Path) -> None:
    rows = [
        {"text": "Nobody has fixed my door after 6 weeks, I've chased it three times.", "kind": "complaint",
         "theme": "repairs", "vulnerable": False, "hazard": "none"},
        {"text": "Can I pay my rent by direct debit?", "kind": "enquiry", "theme": "rent"},
        {"text": "Thanks to the caretaker, the block looks great.", "kind": "compliment", "theme": "communal"},
        {"text": "I can smell gas in the hallway, please come now.", "kind": "service_request", "theme": "repairs",
         "vulnerable": False, "hazard": "emergency"},
        {"text": "Survey: 6/10, the app could be easier.", "kind": "feedback", "theme": "other"},
    ]
    fixture = tmp_path / "fixture.jsonl"
    fixture.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_triage(trained_data_dir, "eval", str(fixture), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    model = TriageModel.load(trained_data_dir / "model" / "triage.skops")
    expected = figures([Example(r["text"], r["kind"], r["theme"], r.get("vulnerable"), r.get("hazard")) for r in rows],
                       model.suggest_many([r["text"] for r in rows]))
    assert printed == expected
    assert printed["n"] == 5 and printed["hazard"]["accuracy"] == 1.0
    assert printed["hazard"]["emergency"] == {"precision": 1.0, "recall": 1.0}


def test_eval_rejects_a_malformed_file(trained_data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "kind": "moan", "theme": "repairs"}\n')
    result = run_triage(trained_data_dir, "eval", str(bad), "--json")
    assert result.returncode == 2 and "moan" in result.stderr


def test_fast_scores_equal_scikit_learns(model: TriageModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """With words' n-grams made afresh, remembered, and remembered in a store that keeps filling up."""
    import numpy as np
    from scipy import sparse

    from classifier.hints import with_hints
    from classifier.model import _Part, _two_columns

    raw = [e.text for e in read_jsonl(REPO / "training_data" / "heldout.jsonl")[:200]]
    raw += ["🙂🙂", "Ça ne marche pas, l'évier fuit."]
    texts = [with_hints(normalise(t)) for t in raw] + ["", "   "]
    embedded = model._encoder().encode([normalise(t) for t in raw] + ["", "   "])
    features = sparse.hstack([model.vectoriser_.transform(texts), embedded * model.embedding_weight], format="csr")
    expected = {name: _two_columns(head.decision_function(features)) for name, head in model.heads_.items()}
    assert {"kind", "theme", "vulnerable", "hazard"} <= set(expected)

    def same(found: dict[str, np.ndarray]) -> bool:
        return all(np.allclose(found[name], expected[name], atol=1e-4) for name in expected)

    fresh = copy.copy(model)
    fresh._parts_cache = None  # nothing remembered yet
    assert same(fresh._logits(texts, embedded)) and same(fresh._logits(texts, embedded))
    monkeypatch.setattr(_Part, "WORDS_KEPT", 7)
    small = copy.copy(model)
    small._parts_cache = None
    assert same(small._logits(texts, embedded))
    assert len(small._parts()[1].by_word) <= 7


def test_a_message_worded_like_a_training_message_takes_its_theme_from_it(model: TriageModel) -> None:
    """The theme's vote of nearest training messages: alone and with one neighbour, a message
    that is a training message word for word gets that message's theme, whatever the linear head
    says. The file's own blend changes the theme's probabilities, which still sum to one, and a
    message scores the same alone as in a batch."""
    from classifier.training import training_examples

    real = [e for e in training_examples(REPO / "training_data") if e.source][:60]
    by_neighbour = copy.copy(model)
    by_neighbour.neighbour_weight, by_neighbour.theme_neighbours = 1.0, 1
    found = by_neighbour.suggest_many([e.text for e in real])
    assert [s.theme for s in found] == [e.theme for e in real]
    assert all(s.theme_scores[e.theme] == 1.0 for s, e in zip(found, real))  # its one neighbour's vote, nothing else
    linear = copy.copy(model)
    linear.neighbour_weight = 0.0
    alone, blended = linear.suggest_many([e.text for e in real]), model.suggest_many([e.text for e in real])
    assert [s.theme_scores for s in alone] != [s.theme_scores for s in blended]
    for s in blended:
        assert abs(sum(s.theme_scores.values()) - 1) < 1e-3
    assert [model.suggest(e.text).theme_scores for e in real[:10]] == [s.theme_scores for s in blended[:10]]


@pytest.mark.parametrize("change", ["float32", "short", "unknown theme", "infinite row", "negative weight", "missing"])
def test_a_model_file_with_a_malformed_theme_memory_is_a_clear_error(model: TriageModel, change: str) -> None:
    import numpy as np

    state = sio.loads(model.to_bytes(), trusted=sio.get_untrusted_types(data=model.to_bytes()))
    if change == "float32":
        state["memory"] = state["memory"].astype(np.float32)
    elif change == "short":
        state["memory_themes"] = state["memory_themes"][:-1]
    elif change == "unknown theme":
        state["memory_themes"] = state["memory_themes"] + 50
    elif change == "infinite row":
        state["memory"][3] = np.inf
    elif change == "negative weight":
        state["params"]["neighbour_weight"] = -1.0
    else:
        del state["memory"]
    with pytest.raises(ValueError, match="theme memory is malformed|theme vote's settings|can read: 'memory'"):
        TriageModel.from_bytes(sio.dumps(state))


@pytest.mark.parametrize("junk", [b"", b"not a model", b"PK\x03\x04truncated"])
def test_a_file_that_is_not_a_model_is_a_clear_error(junk: bytes) -> None:
    """`triage run` retrains and a worker keeps its model when the file is corrupt; neither may crash."""
    with pytest.raises(ValueError, match="not a model file"):
        TriageModel.from_bytes(junk)


def test_the_rules_vocabulary_stays_bounded_in_a_long_running_worker(model: TriageModel,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reference number and address is a new word to spaCy; a worker reading them for months
    must not keep them all, and the flags must be as good after the rules are built again."""
    from classifier.cues import CueRules
    from classifier.model import _rules

    monkeypatch.setattr(CueRules, "VOCABULARY_LIMIT", len(_rules().nlp.vocab) + 300)
    used: list[CueRules] = []  # kept alive, so each is told apart by identity
    for number in range(400):
        suggestion = model.suggest(f"I can smell gas at flat {number}b, job JB{number:07d}, tenant{number}@example.net")
        assert suggestion.flags.hazard == "emergency"
        if not used or used[-1] is not _rules():
            used.append(_rules())
        assert len(_rules().nlp.vocab) <= CueRules.VOCABULARY_LIMIT + 20
    assert len(used) >= 2, "the rules were built again once their vocabulary had grown"


@pytest.mark.parametrize("text,hazard", [
    ("The radiators have been stone cold for two weeks now and it's December.", "significant"),
    ("our flat has had no heat since last thursday, the boiler just clicks", "significant"),
    ("Can someone fix the sticking bedroom door when you're next in the area?", "none"),
    ("When is the rent going up next year?", "none"),
    ("radiators stone cold since friday, weve had to buy heaters", "significant"),
    ("The radiators are not cold any more, thanks for sending someone so quickly.", "none"),
])
def test_a_hazard_is_read_from_what_the_message_means(model: TriageModel, text: str, hazard: str) -> None:
    assert model.suggest(text).flags.hazard == hazard


@pytest.mark.parametrize("text,vulnerable", [
    ("I suffer with my nerves and the banging upstairs is making it so much worse", True),
    ("My mum is 85 and can't manage the stairs to the bathroom any more.", True),
    ("My neighbour's music is too loud at night, can you have a word?", False),
    ("What day are the bins collected on our road?", False),
])
def test_vulnerability_is_read_from_what_the_message_says(model: TriageModel, text: str, vulnerable: bool) -> None:
    flags = model.suggest(text).flags
    assert flags.vulnerable is vulnerable
    if vulnerable:
        assert flags.cues["vulnerable"]  # the words, or "read from the message as a whole (NN%)"


@pytest.mark.parametrize("text", ["Since my husband's heart attack he can't do the stairs",
                                  "I struggle to get about since my hip went and the lift is broken again"])
def test_a_disclosure_no_rule_names_is_read_by_the_learned_head(model: TriageModel, text: str) -> None:
    flags = model.suggest(text).flags
    assert flags.vulnerable and flags.cues["vulnerable"][0].startswith("read from the message as a whole")


def test_a_message_in_another_language_is_not_offered_the_choice_on_english_features(model: TriageModel) -> None:
    unhappy = model.suggest("Zgłaszałam to trzy razy i nikt nie przyszedł. Jestem bardzo niezadowolona, to skandal.")
    assert unhappy.flags.language == "pl" and not unhappy.offer_choice


def test_an_english_complaint_with_a_welsh_sign_off_is_english(model: TriageModel) -> None:
    suggestion = model.suggest("Nobody came to fix the boiler and I am fed up, this is the third time I have asked."
                               "\n\nDiolch yn fawr,\nSian")
    assert suggestion.flags.language is None and suggestion.offer_choice
