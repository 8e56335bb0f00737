"""How the theme's vote of nearest training messages was chosen: out-of-fold theme accuracy on
the real training messages for each weight, number of neighbours and sharpness.

The same folds (grouped by page), features, linear head, temperature and vote as
`TriageModel.fit`; the real-text test set is never read. Takes about two minutes on two cores.
Usage: python bench/theme_vote.py [--json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from classifier.hints import with_hints
from classifier.model import TriageModel, _fit_temperature, _softmax
from classifier.text import normalise
from classifier.training import training_examples

DATA = Path(__file__).resolve().parents[1] / "training_data"
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5)
NEIGHBOURS = (10, 20, 40)
SHARPNESS = (10.0, 20.0, 40.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    examples = training_examples(DATA)
    model = TriageModel()
    clean = [normalise(e.text) for e in examples]
    unit = model._encoder().encode(clean)
    memory = unit.astype(np.float16)
    groups = [e.group or f"#{i}" for i, e in enumerate(examples)]
    folds = list(GroupKFold(n_splits=model.folds).split(clean, groups=groups))
    classes, truth = np.unique(np.array([e.theme for e in examples]), return_inverse=True)
    heads = {"theme": ([e.theme for e in examples], model.theme_c)}
    logits = model._out_of_fold([with_hints(t) for t in clean], unit * model.embedding_weight, heads, folds,
                                lambda step, fraction: None)["theme"]
    real = np.array([e.source is not None for e in examples])
    results = []
    for k in NEIGHBOURS:
        for sharpness in SHARPNESS:
            voter = replace(model, theme_neighbours=k, neighbour_sharpness=sharpness)
            votes = np.zeros((len(examples), len(classes)))
            for train, test in folds:
                votes[test] = voter._votes(unit[test], memory[train], truth[train], len(classes))
            for weight in WEIGHTS:
                blender = replace(voter, neighbour_weight=weight)
                temperature = _fit_temperature(logits, truth, then=lambda p, b=blender: b._blend(p, votes))
                chosen = blender._blend(_softmax(logits / temperature), votes).argmax(axis=1)
                results.append({"neighbours": k, "sharpness": sharpness, "weight": weight,
                                "theme_accuracy_real": round(float(np.mean(chosen[real] == truth[real])), 4)})
    best = max(results, key=lambda r: r["theme_accuracy_real"])
    report = {"examples": len(examples), "real": int(real.sum()), "results": results, "best": best,
              "linear_head_alone": next(r["theme_accuracy_real"] for r in results if r["weight"] == 0.0)}
    if not args.json:
        for r in results:
            print(r)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
