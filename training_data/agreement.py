"""How far two people labelling the real-text test set by LABELLING.md agree, field by field.

The first pass is the label in realtest/<name>.jsonl; the second was made blind (text only) into
realtest/second_pass_<name>.tsv. Prints one JSON object: per set and field, the share of
messages on which both agree and Cohen's kappa (agreement beyond what chance would give), and
the ids where they differ. `--agreed DIR` also writes, per set, the messages both passes
labelled alike on kind and theme, so the model can be measured on the labels nobody disputes.
Run: python training_data/agreement.py [--agreed DIR]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
from pathlib import Path

HERE = Path(__file__).parent / "realtest"
FIELDS = ("kind", "theme", "vulnerable", "hazard")


def kappa(first: list[str], second: list[str]) -> float:
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second)) / n
    counts_a, counts_b = collections.Counter(first), collections.Counter(second)
    expected = sum(counts_a[label] * counts_b[label] for label in counts_a) / (n * n)
    return round((observed - expected) / (1 - expected), 4) if expected < 1 else 1.0


def passes(name: str) -> tuple[list[dict[str, object]], dict[str, dict[str, str]]]:
    first = [json.loads(line) for line in (HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line]
    with (HERE / f"second_pass_{name}.tsv").open(encoding="utf-8") as handle:
        second = {row["id"]: row for row in csv.DictReader(handle, delimiter="\t")}
    return first, second


def compare(name: str) -> dict[str, object]:
    first, second = passes(name)
    missing = [row["id"] for row in first if row["id"] not in second]
    if missing:
        raise SystemExit(f"{name}: the second pass lacks {missing[:5]}")
    result: dict[str, object] = {"n": len(first)}
    for field in FIELDS:
        a = [str(row[field]).lower() for row in first]
        b = [second[str(row["id"])][field].lower() for row in first]
        result[field] = {"agreement": round(sum(x == y for x, y in zip(a, b)) / len(a), 4), "kappa": kappa(a, b),
                         "differ": [row["id"] for row, x, y in zip(first, a, b) if x != y]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agreed", type=Path, help="write <DIR>/<set>.jsonl of the undisputed messages")
    args = parser.parse_args()
    names = sorted(p.stem.removeprefix("second_pass_") for p in HERE.glob("second_pass_*.tsv"))
    report = {name: compare(name) for name in names}
    if args.agreed:
        args.agreed.mkdir(parents=True, exist_ok=True)
        for name in names:
            first, second = passes(name)
            kept = [row for row in first if all(str(row[f]).lower() == second[str(row["id"])][f].lower()
                                                 for f in ("kind", "theme"))]
            (args.agreed / f"{name}.jsonl").write_text(
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")
            report[name]["agreed_on_kind_and_theme"] = len(kept)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
