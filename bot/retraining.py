"""Retraining with advisors' corrections, as the supervisor's console offers it: train a
candidate, measure it and the current model on the same held-out messages, and switch only
when the supervisor accepts. The console reaches the classifier only through this object."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from bot.context import Context
from bot.models import build
from classifier.data import read_jsonl
from classifier.model import TriageModel
from classifier.training import HELDOUT_FILE, evaluate


class Retrainer:
    def __init__(self, context: Context, on_accept: Callable[[TriageModel], None] | None = None) -> None:
        self.context = context
        self.on_accept = on_accept
        self.candidate = context.settings.model_path.with_name("candidate.skops")

    def propose(self) -> dict[str, Any]:
        """Train a candidate with the reviews; both models' figures on the held-out split."""
        summary = build(self.context, with_reviews=True, path=self.candidate)
        heldout = read_jsonl(self.context.settings.training_data_dir / HELDOUT_FILE)
        current = TriageModel.load(self.context.settings.model_path)
        return {"current": {"version": current.version, **evaluate(current, heldout)},
                "candidate": {"version": summary["version"], **summary["heldout"]},
                "n_reviews": summary["n_reviews"], "n_heldout": len(heldout)}

    def pending(self) -> bool:
        return self.candidate.exists()

    def accept(self) -> str:
        """Put the candidate in place and into use; returns its version."""
        if not self.candidate.exists():
            raise FileNotFoundError("there is no candidate model; train one first")
        model = TriageModel.load(self.candidate)
        os.replace(self.candidate, self.context.settings.model_path)
        if self.on_accept is not None:
            self.on_accept(model)
        return model.version

    def discard(self) -> None:
        self.candidate.unlink(missing_ok=True)
