"""Language detection on residents' messages: accuracy per language, English wrongly flagged, speed, load, memory.

Measures, on tests/fixtures/languages.jsonl, each detector in its own subprocess pinned to one core:
  lingua_low   lingua LanguageDetectorBuilder.from_languages(<the file's languages>), low accuracy mode, preloaded
  lingua_high  the same in high accuracy mode (the default), preloaded
  py3langid    py3langid with set_languages(<the file's languages>)
  product      classifier.language.detect, what the product runs: py3langid, another language only at
               MIN_CONFIDENCE or more (None means English)
Memory is the process's VmRSS from /proc/self/status read before and after building the detector (the import
of the package is reported apart, as the bot may already have loaded e.g. numpy). For lingua and py3langid the
accuracy is also given when a message whose top confidence is below a threshold is routed as "unknown, an
advisor checks". Prints one JSON object last.
Usage: python bench/language.py [--json] [--repeat N] [--only NAME ...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "languages.jsonl"
DETECTORS = ("lingua_low", "lingua_high", "py3langid", "product")
THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
UNKNOWN = "unknown"
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")


def read_fixture(path: Path = FIXTURE) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def vm_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: the peak resident so far)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- the worker: one detector in this process --------------------------------------------------------------


def _build(name: str, codes: list[str]):
    """Import and build one detector: (detect(text) -> (code or None, top confidence or None), notes, rss figures)."""
    notes: dict[str, object] = {}
    rss_start = vm_kib("VmRSS")
    started = time.perf_counter()
    if name.startswith("lingua"):
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        imported = time.perf_counter()
        rss_imported = vm_kib("VmRSS")
        languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code)) for code in codes]
        builder = LanguageDetectorBuilder.from_languages(*languages)
        if name == "lingua_low":
            builder = builder.with_low_accuracy_mode()
        detector = builder.with_preloaded_language_models().build()
        built = time.perf_counter()

        def detect(text: str):
            language = detector.detect_language_of(text)
            return (language.iso_code_639_1.name.lower() if language else UNKNOWN), None

        def confidence(text: str):
            values = detector.compute_language_confidence_values(text)
            top = values[0]
            english = next(v.value for v in values if v.language == Language.ENGLISH)
            return top.language.iso_code_639_1.name.lower(), top.value, english

    elif name == "py3langid":
        import py3langid
        from py3langid import langid

        imported = time.perf_counter()
        rss_imported = vm_kib("VmRSS")
        supported = set(langid._get_identifier().labels)
        usable = [code for code in codes if code in supported]
        notes["unsupported_languages"] = sorted(set(codes) - supported)
        py3langid.set_languages(usable)
        built = time.perf_counter()

        def detect(text: str):
            return py3langid.classify(text)[0], None

        scorer = None

        def confidence(text: str):
            # A second identifier with normalised probabilities, built after the memory is read.
            nonlocal scorer
            if scorer is None:
                scorer = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
                scorer.set_languages(usable)
            ranked = scorer.rank(text)
            return ranked[0][0], ranked[0][1], dict(ranked).get("en", 0.0)

    elif name == "product":
        import importlib.util

        imported = time.perf_counter()
        rss_imported = vm_kib("VmRSS")
        # The module alone, by its path, so the classifier package's other imports do not count.
        spec = importlib.util.spec_from_file_location("language", REPO / "classifier" / "language.py")
        current = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(current)
        current.detect("warming the detector up, so building it counts here")

        built = time.perf_counter()

        def detect(text: str):
            code, _evidence = current.detect(text)
            return (code or "en"), None

        confidence = None
    else:
        raise SystemExit(f"unknown detector {name}")
    rss_built = vm_kib("VmRSS")
    memory = {
        "import_seconds": round(imported - started, 4),
        "build_seconds": round(built - imported, 4),
        "rss_before_import_mb": round(rss_start / 1024, 1),
        "rss_added_by_import_mb": round((rss_imported - rss_start) / 1024, 1),
        "rss_added_by_build_mb": round((rss_built - rss_imported) / 1024, 1),
        "peak_rss_mb": round(vm_kib("VmHWM") / 1024, 1),
    }
    return detect, confidence, notes, memory


def worker(name: str, repeat: int) -> dict:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rows = read_fixture()
    codes = sorted({row["language"] for row in rows} | {"en"})
    detect, confidence, notes, memory = _build(name, codes)
    texts = [row["text"] for row in rows]
    predictions = [detect(text)[0] for text in texts]  # also warms anything lazy
    timings, by_message = [], [[] for _ in texts]
    for _ in range(repeat):
        for i, text in enumerate(texts):
            started = time.perf_counter()
            detect(text)
            elapsed = time.perf_counter() - started
            timings.append(elapsed)
            by_message[i].append(elapsed)
    medians = [statistics.median(times) for times in by_message]
    result = {
        "predictions": predictions,
        "ms_per_message": {"mean": round(statistics.mean(timings) * 1000, 4),
                           "p50": round(percentile(timings, 50) * 1000, 4),
                           "p99": round(percentile(timings, 99) * 1000, 4),
                           "max": round(max(timings) * 1000, 4),
                           # the p99 over each message's median of the passes: steadier on a shared machine
                           "p99_of_message_medians": round(percentile(medians, 99) * 1000, 4),
                           "timed_calls": len(timings)},
        **memory,
        **notes,
    }
    if confidence is not None:
        scored = [confidence(text) for text in texts]
        result["confidences"] = scored
        if name.startswith("lingua"):
            confidence_timings = []
            for _ in range(repeat):
                for text in texts:
                    started = time.perf_counter()
                    confidence(text)
                    confidence_timings.append(time.perf_counter() - started)
            result["confidence_ms_per_message"] = {
                "mean": round(statistics.mean(confidence_timings) * 1000, 4),
                "p99": round(percentile(confidence_timings, 99) * 1000, 4)}
    return result


# --- the parent: scoring ------------------------------------------------------------------------------------


def group_of(row: dict[str, str]) -> str | None:
    """A subset worth its own line: Punjabi in Shahmukhi (Arabic script) rather than Gurmukhi."""
    if row["language"] == "pa":
        return "pa_shahmukhi" if _ARABIC_SCRIPT.search(row["text"]) else "pa_gurmukhi"
    return None


def score(rows: list[dict[str, str]], predicted: list[str], scored: list[list] | None = None) -> dict:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    subsets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusions: Counter[str] = Counter()
    english_flagged, missed_as_english = [], 0
    for i, (row, got) in enumerate(zip(rows, predicted)):
        expected = row["language"]
        ok = got == expected
        per[expected][0] += ok
        per[expected][1] += 1
        subset = group_of(row)
        if subset:
            subsets[subset][0] += ok
            subsets[subset][1] += 1
        if not ok:
            confusions[f"{expected}->{got}"] += 1
            if expected == "en":
                why = f" (top {scored[i][1]:.2f}, en {scored[i][2]:.2f})" if scored else ""
                english_flagged.append(f"{row['text']} -> {got}{why}")
            elif got == "en":
                missed_as_english += 1
    non_english = sum(1 for row in rows if row["language"] != "en")
    english = len(rows) - non_english
    correct = sum(ok for ok, _ in per.values())
    non_english_correct = sum(ok for code, (ok, _) in per.items() if code != "en")
    return {
        "accuracy": round(correct / len(rows), 4),
        "accuracy_non_english": round(non_english_correct / non_english, 4),
        "macro_accuracy": round(statistics.mean(ok / n for ok, n in per.values()), 4),
        "english_called_non_english_rate": round(len(english_flagged) / english, 4),
        "non_english_called_english_rate": round(missed_as_english / non_english, 4),
        "per_language": {code: round(ok / n, 3) for code, (ok, n) in sorted(per.items())},
        "subsets": {name: f"{ok}/{n}" for name, (ok, n) in sorted(subsets.items())},
        "confusions": dict(confusions.most_common()),
        "english_flagged": english_flagged,
    }


def thresholded(rows: list[dict[str, str]], scored: list[list], threshold: float) -> dict:
    """Below the threshold a message is 'unknown, an advisor checks': safe for a non-English message, a needless
    referral for an English one."""
    n = len(rows)
    correct = unknown = wrong = english_referred = missed_as_english = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, (code, value, _english) in zip(rows, scored):
        expected = row["language"]
        got = code if value is not None and value >= threshold else UNKNOWN
        per[expected][1] += 1
        if got == expected:
            correct += 1
            per[expected][0] += 1
        elif got == UNKNOWN:
            unknown += 1
            english_referred += expected == "en"
        else:
            wrong += 1
            english_referred += expected == "en"
            missed_as_english += got == "en"
    english = sum(1 for row in rows if row["language"] == "en")
    return {
        "correct": round(correct / n, 4),
        "unknown": round(unknown / n, 4),
        "confidently_wrong": round(wrong / n, 4),
        "correct_or_unknown": round((correct + unknown) / n, 4),
        "english_not_passed_as_english_rate": round(english_referred / english, 4),
        "non_english_confidently_called_english": missed_as_english,
        "per_language_correct": {code: round(ok / k, 3) for code, (ok, k) in sorted(per.items())},
    }


def run_worker(name: str, repeat: int) -> dict:
    completed = subprocess.run([sys.executable, __file__, "--worker", name, "--repeat", str(repeat)],
                               capture_output=True, text=True, check=False, cwd=REPO)
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--repeat", type=int, default=10, help="timed passes over the messages")
    parser.add_argument("--only", nargs="+", choices=DETECTORS, help="measure only these detectors")
    parser.add_argument("--worker", choices=DETECTORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat), ensure_ascii=False))
        return

    rows = read_fixture()
    codes = sorted({row["language"] for row in rows} | {"en"})
    result: dict[str, object] = {
        "fixture": str(FIXTURE.relative_to(REPO)),
        "messages": len(rows),
        "per_language_messages": dict(sorted(Counter(row["language"] for row in rows).items())),
        "languages": codes,
        "one_core": True,
        "timed_passes": args.repeat,
        "detectors": {},
    }
    for name in args.only or DETECTORS:  # one at a time: the machine is shared
        if not args.json:
            print(f"measuring {name} ...", file=sys.stderr)
        raw = run_worker(name, args.repeat)
        entry = {key: value for key, value in raw.items() if key not in ("predictions", "confidences")}
        entry.update(score(rows, raw["predictions"], raw.get("confidences")))
        if "confidences" in raw:
            entry["top_confidence_threshold"] = {str(t): thresholded(rows, raw["confidences"], t)
                                                 for t in THRESHOLDS}
        result["detectors"][name] = entry
        if not args.json:
            print(f"  {name}: accuracy {entry['accuracy']}, English flagged "
                  f"{entry['english_called_non_english_rate']}, {entry['ms_per_message']['mean']} ms, "
                  f"+{entry['rss_added_by_build_mb']} MB", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
