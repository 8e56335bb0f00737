"""Classifier speed and size: messages per second, latency, load time, file size, memory, training time.

Runs on one core (thread pools pinned to 1, the sentence encoder on one thread) over the
real-text test set's messages and the hand-written held-out ones (long emails with quoted
threads). Training is timed on the same one core. Prints one JSON object last.
Usage: python bench/classify.py [--json] [--repeat N] [--no-train]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from classifier.data import read_jsonl  # noqa: E402
from classifier.model import TriageModel  # noqa: E402
from classifier.training import HELDOUT_FILE, REAL_TEST_DIR, train, training_examples  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "training_data"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the held-out messages")
    parser.add_argument("--no-train", action="store_true",
                        help="use the model `make run` built (data/model) instead of training and timing one")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    examples = training_examples(DATA)
    built = DATA.parent / "data" / "model" / "triage.skops"
    if args.no_train and built.exists():  # the model `make run` built, as it is
        model, train_seconds = TriageModel.load(built), None
    else:
        started = time.perf_counter()
        model = train(examples)
        train_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "triage.skops"
        model.save(path)
        size = path.stat().st_size
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            model = TriageModel.load(path)
            loads.append(time.perf_counter() - started)

    def speed(texts: list[str]) -> dict[str, object]:
        model.suggest(texts[0])  # warm the rule pipeline and the encoder
        single = []
        for _ in range(args.repeat):
            for text in texts:
                started = time.perf_counter()
                model.suggest(text)
                single.append(time.perf_counter() - started)
        batch_rates = {}
        for size_of_batch in (20, 64):  # 20: what the worker hands over at once
            done, started = 0, time.perf_counter()
            for _ in range(args.repeat):
                for i in range(0, len(texts), size_of_batch):
                    done += len(model.suggest_many(texts[i:i + size_of_batch]))
            batch_rates[str(size_of_batch)] = round(done / (time.perf_counter() - started), 1)
        return {"messages": len(texts), "mean_chars": round(statistics.mean(len(t) for t in texts), 1),
                "single": {"messages_per_second": round(len(single) / sum(single), 1),
                           "p50_ms": round(percentile(single, 50) * 1000, 3),
                           "p99_ms": round(percentile(single, 99) * 1000, 3)},
                "batch_messages_per_second": batch_rates}

    real = [e.text for path in sorted((DATA / REAL_TEST_DIR).glob("*.jsonl")) for e in read_jsonl(path)]
    written = [e.text for e in read_jsonl(DATA / HELDOUT_FILE)]
    residents, heldout = speed(real), speed(written)
    result = {
        "real_text": residents,
        "heldout_hand_written": heldout,
        "model_load_seconds": round(statistics.median(loads), 4),
        "model_file_bytes": size,
        "train_seconds": None if train_seconds is None else round(train_seconds, 1),
        "train_examples": len(examples),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cores": 1,
    }
    if not args.json:
        print(f"residents' messages: {residents}; hand-written held-out: {heldout}; load {result['model_load_seconds']}s, "
              f"file {size / 1e6:.1f} MB, train {result['train_seconds']}s, peak {result['peak_memory_mb']} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
