"""Where the trained model lives, and when it must be (re)built.

`triage run` calls ensure_model: a missing model, one trained on other data or with another
sentence encoder, or one of an old file format is rebuilt from training_data/ before anything
is classified. An encoder file that is not the pinned one stops everything first (EncoderMismatch):
nothing is classified with it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import threading
import time
from pathlib import Path
from typing import Any

from bot.context import Context
from bot.settings import Settings
from classifier import encoder as encoders
from classifier.data import Example, fingerprint, read_jsonl
from classifier.encoder import Encoder
from classifier.model import Progress, TriageModel
from classifier.training import HELDOUT_FILE, evaluate, train, training_examples
from workflow.reviews import reviewed_messages

log = logging.getLogger(__name__)


def encoder(settings: Settings) -> Encoder:
    """The pinned sentence encoder, from TRIAGE_ENCODER_FILE where another copy of its file is named."""
    return encoders.shared(settings.encoder_file)


def load_model(settings: Settings, path: Path | None = None) -> TriageModel:
    return TriageModel.load(path or settings.model_path, encoder(settings))


def review_examples(context: Context) -> list[Example]:
    context.migrate()
    with context.sessions() as session:
        return [Example(text=text, kind=kind, theme=theme, group=f"review-{review_id}")
                for review_id, text, kind, theme in reviewed_messages(session)]


def build(context: Context, *, with_reviews: bool = False, path: Path | None = None,
          progress: Progress | None = None) -> dict[str, Any]:
    """Train, measure on the held-out split, save; returns the summary `triage train` prints."""
    settings = context.settings
    examples = training_examples(settings.training_data_dir)
    reviews = review_examples(context) if with_reviews else []
    started = time.perf_counter()
    model = train(examples + reviews, encoder=encoder(settings), progress=progress)
    model.figures["base_data_hash"] = fingerprint(examples)  # training_data/ alone, reviews aside
    model.figures["n_reviews"] = len(reviews)
    seconds = time.perf_counter() - started
    target = path or settings.model_path
    model.save(target)
    summary: dict[str, Any] = {
        "model": str(target), "version": model.version, "data_hash": model.data_hash, "n_train": len(examples),
        "n_reviews": len(reviews), "seconds": round(seconds, 1), "offer_threshold": model.threshold,
        "cross_validated_threshold_check": {k: round(v, 4) for k, v in model.figures.items() if k.startswith("cv_")},
        "size_bytes": target.stat().st_size,
    }
    heldout = settings.training_data_dir / HELDOUT_FILE
    if heldout.exists():
        summary["heldout"] = evaluate(model, read_jsonl(heldout))
    log.info("model %s trained on %d examples in %.1fs", model.version, len(examples) + len(reviews), seconds)
    return summary


def _log_progress(started: float) -> Progress:
    """Progress lines for the log (what `make run` shows on its first start), one a step or tenth."""
    last: list[tuple[str, int]] = []

    def say(step: str, fraction: float) -> None:
        tenth = int(fraction * 10)
        if last and last[-1] == (step, tenth):
            return
        last.append((step, tenth))
        elapsed = time.perf_counter() - started
        left = f", about {elapsed / fraction * (1 - fraction):.0f} s left" if fraction >= 0.1 else ""
        log.info("building the model: %s (%d%%%s)", step, fraction * 100, left)

    return say


def ensure_model(context: Context, stop: threading.Event | None = None) -> TriageModel:
    """The current model, retrained first when it is missing or the training data changed."""
    path = context.settings.model_path
    encoder(context.settings)  # a wrong encoder file is an error here, not a reason to retrain
    current = fingerprint(training_examples(context.settings.training_data_dir))
    if path.exists():
        try:
            model = load_model(context.settings)
        except (ValueError, KeyError, OSError) as error:
            log.warning("model file %s unusable (%s); retraining", path, error)
        else:
            if model.figures.get("base_data_hash") == current:
                return model
            log.info("training data changed since model %s; retraining", model.version)
    build_apart(context.settings, stop)
    return load_model(context.settings)


class Stopped(RuntimeError):
    """The process was asked to stop while the model was being built; nothing half-built was kept."""


class ModelBuildFailed(RuntimeError):
    """The child process building the model ended without a model; its log says why."""


def build_apart(settings: Settings, stop: threading.Event | None = None) -> None:
    """Build the model in a process of its own, so training's memory (about 1 GB at its peak)
    is given back before serving starts, and a stop request ends it within half a second. The
    model file is written whole or not at all (TriageModel.save), so a killed build leaves
    nothing a later start would load."""
    log.info("building the model from %s: about a minute or two, once; progress follows",
             settings.training_data_dir)
    child = multiprocessing.get_context("spawn").Process(target=_build_here, args=(settings,), name="model build")
    child.start()
    while child.is_alive() and not (stop is not None and stop.is_set()):
        child.join(0.5)
    if stop is not None and stop.is_set():
        child.terminate()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        raise Stopped("stopped while building the model; it will be built at the next start")
    if child.exitcode != 0:
        raise ModelBuildFailed(f"building the model failed (exit code {child.exitcode}); the log above says why")


def in_training_process() -> None:
    """What a process spawned to train does first (the first build here, a retraining in
    bot/retraining.py): Ctrl-C reaches the whole group, and the parent decides; its log lines
    look like `triage run`'s."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _build_here(settings: Settings) -> None:
    in_training_process()
    summary = build(Context(settings), progress=_log_progress(time.perf_counter()))
    log.info("model built in %.0f s: %s", summary["seconds"], json.dumps({k: v for k, v in summary.items()
                                                                           if k not in ("heldout", "seconds")}))
