"""The console's retraining runs in a process of its own: the web process neither holds its
memory nor falls with it, and a training that dies is reported, never left "training"."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

from bot.context import Context
from bot.retraining import Retrainer
from bot.settings import Settings


def _until(condition: Callable[[], object], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_training_whose_process_is_killed_is_reported_failed_and_another_may_start(tmp_path: Path) -> None:
    context = Context(Settings(_env_file=None, data_dir=tmp_path))
    context.migrate()
    retrainer = Retrainer(context)
    assert retrainer.start("sam")
    assert retrainer.status()["state"] == "training"

    def training() -> list[multiprocessing.Process]:
        return [child for child in multiprocessing.active_children() if child.name == "retraining"]

    _until(training, "the training runs in a process of its own")
    for child in training():
        child.kill()  # as the kernel's out-of-memory killer would
    _until(lambda: retrainer.status()["state"] == "failed" and not retrainer._locked(),
           "a killed training is reported as failed and lets go of its lock")
    assert "exit code -9" in retrainer.status()["error"]
    assert not retrainer.pending(), "no candidate is offered"
    assert retrainer.start("sam"), "a supervisor may try again"
    _until(training, "the second training starts")
    for child in training():
        child.kill()
    _until(lambda: not retrainer._locked(), "and ends")
