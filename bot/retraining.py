"""Retraining with advisors' corrections, as the supervisor's console offers it: train a
candidate in the background, measure it and the current model on the same held-out messages,
and switch only when the supervisor accepts. The console reaches the classifier only through
this object.

Training takes a minute or two and about 700 MB at its peak, so it runs in a process of its
own (as the first build does, bot/models.build_apart), watched by a thread of the web process:
the console stays quick while it trains, `triage run` gives the memory back when it is done, and
a training that crashes or is killed is reported as failed while the current model stays in use.
It says how far it has got in training.json beside the model; the page reads that file, so a
refresh (or another web process) shows the same progress. A lock on training.lock, held by the
watching thread, means one training at a time across every process that shares the data
directory: a second request while one runs starts nothing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from bot.context import Context
from bot.models import build, in_training_process, load_model
from bot.settings import Settings
from classifier.data import read_jsonl
from classifier.model import TriageModel
from classifier.training import HELDOUT_FILE, evaluate
from workflow import audit

log = logging.getLogger(__name__)


class Retrainer:
    def __init__(self, context: Context, on_accept: Callable[[TriageModel], None] | None = None) -> None:
        self.context = context
        self.on_accept = on_accept
        folder = context.settings.model_path.parent
        self.candidate = folder / "candidate.skops"
        self.state_file = folder / "training.json"
        self.lock_file = folder / "training.lock"

    def propose(self, progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
        """Train a candidate with the reviews; both models' figures on the held-out split."""
        summary = build(self.context, with_reviews=True, path=self.candidate, progress=progress)
        heldout = read_jsonl(self.context.settings.training_data_dir / HELDOUT_FILE)
        current = load_model(self.context.settings)
        return {"current": {"version": current.version, **evaluate(current, heldout)},
                "candidate": {"version": summary["version"], **summary["heldout"]},
                "n_reviews": summary["n_reviews"], "n_heldout": len(heldout)}

    def start(self, by: str) -> bool:
        """Start training a candidate in the background; False, starting nothing, when one is
        already being trained here or in another process."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = self.lock_file.open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        try:
            self._write({"state": "training", "step": "starting", "fraction": 0.0, "by": by, "started": time.time()})
            threading.Thread(target=self._train, args=(lock, by), name="retraining", daemon=True).start()
        except BaseException:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
            raise
        return True

    def status(self) -> dict[str, Any]:
        """What the page shows: idle, training (step, fraction), ready (figures) or failed (why)."""
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"state": "idle"}
        if state.get("state") == "training" and not self._locked():
            return {"state": "failed", "error": "the training stopped before it finished (the process ended)"}
        return state

    def pending(self) -> bool:
        return self.candidate.exists()

    def accept(self) -> str:
        """Put the candidate in place and into use; returns its version."""
        if self._locked():
            raise FileNotFoundError("a candidate is being trained; wait until it is measured")
        if not self.candidate.exists():
            raise FileNotFoundError("there is no candidate model; train one first")
        model = load_model(self.context.settings, self.candidate)
        os.replace(self.candidate, self.context.settings.model_path)
        self.state_file.unlink(missing_ok=True)
        if self.on_accept is not None:
            self.on_accept(model)
        return model.version

    def discard(self) -> None:
        if self._locked():
            return  # the training under way writes its own candidate
        self.candidate.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)

    def _train(self, lock: IO[str], by: str) -> None:
        """Watch the training process; release the lock and record the candidate once it has ended."""
        try:
            child = multiprocessing.get_context("spawn").Process(
                target=train_apart, args=(self.context.settings, by, time.time(), os.getpid()), name="retraining",
                daemon=True)  # ended with `triage run`, as the thread watching it is
            child.start()
            child.join()
            state = self.status()
            if state.get("state") == "training":  # it ended without saying how: killed, or out of memory
                self._write({"state": "failed", "by": by, "error": f"the training process ended before it finished "
                                                                    f"(exit code {child.exitcode})"})
            elif state.get("state") == "ready":
                self._audit(by, state["figures"])
        except Exception as error:  # anything: the supervisor is told, and the current model stays
            log.exception("training a candidate model failed")
            self._write({"state": "failed", "error": f"{type(error).__name__}: {error}", "by": by})
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _audit(self, by: str, figures: dict[str, Any]) -> None:
        try:
            with self.context.sessions() as session:
                audit.record(session, "model_candidate_trained", by, self.context.now(),
                             version=figures["candidate"]["version"], n_reviews=figures["n_reviews"])
                session.commit()
        except Exception:  # the candidate stands; the record of it is what failed
            log.exception("recording the trained candidate in the audit trail failed")

    def train_here(self, by: str, started: float, parent: int) -> None:
        """The training process's work: the candidate and its figures, or why there are none, in
        training.json. A training whose web process has died (killed, out of memory) stops at its
        next step: the lock died with the web process, so a restarted one may start another."""
        def progress(step: str, fraction: float) -> None:
            if os.getppid() != parent:
                raise SystemExit("the web process that started this training has gone")
            self._write({"state": "training", "step": step, "fraction": round(fraction, 3), "by": by,
                         "started": started})

        try:
            figures = self.propose(progress)
            self._write({"state": "ready", "figures": figures, "by": by, "seconds": round(time.time() - started)})
        except Exception as error:  # anything: the supervisor is told, and the current model stays
            log.exception("training a candidate model failed")
            self._write({"state": "failed", "error": f"{type(error).__name__}: {error}", "by": by})

    def _locked(self) -> bool:
        try:
            with self.lock_file.open("a") as probe:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(probe, fcntl.LOCK_UN)
                return False
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _write(self, state: dict[str, Any]) -> None:
        partial = self.state_file.with_suffix(".partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        partial.replace(self.state_file)


def train_apart(settings: Settings, by: str, started: float, parent: int) -> None:
    """The entry point of the training process: a fresh interpreter, its own database connections."""
    in_training_process()
    Retrainer(Context(settings)).train_here(by, started, parent)
