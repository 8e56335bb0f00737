"""The console's retraining runs in a process of its own: the web process neither holds its
memory nor falls with it, and a training that dies is reported, never left "training"."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
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


def _gone(pid: int) -> bool:
    """No such process, or one that has exited and waits only to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_training_whose_web_process_died_stops_instead_of_training_on_unlocked(tmp_path: Path) -> None:
    """The lock is the web process's; once it is killed, a training left running could meet a
    second one started by the restarted process."""
    script = f"""
import multiprocessing, os, sys, time
from pathlib import Path
from bot.context import Context
from bot.retraining import Retrainer
from bot.settings import Settings
if __name__ == "__main__":
    context = Context(Settings(_env_file=None, data_dir=Path({str(tmp_path)!r})))
    context.migrate()
    assert Retrainer(context).start("sam")
    while not [c for c in multiprocessing.active_children() if c.name == "retraining"]:
        time.sleep(0.05)
    child = [c for c in multiprocessing.active_children() if c.name == "retraining"][0]
    print(child.pid, flush=True)
    os._exit(0)  # as a SIGKILL or the out-of-memory killer would end it: no clean-up runs
"""
    web = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONPATH": "."})
    assert web.returncode == 0, web.stderr
    orphan = int(web.stdout.split()[-1])
    _until(lambda: _gone(orphan), "the orphaned training stops at its next step", seconds=120)
    assert not (tmp_path / "model" / "candidate.skops").exists(), "and leaves no candidate"
