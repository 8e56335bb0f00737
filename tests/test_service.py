"""The background service as `triage run --only worker` runs it in a process of its own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.service import Service
from classifier.model import TriageModel
from tests.desk import Desk


def test_a_worker_switches_to_a_model_another_process_accepted(desk: Desk, trained_data_dir: Path) -> None:
    """A supervisor accepts a model in the web process; a worker elsewhere must not go on with the old one."""
    path = desk.context.settings.model_path
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(trained_data_dir / "model" / "triage.skops", path)
    first = TriageModel.load(path)
    service = Service(desk.context, first, channel_senders={}, loops={"conversation"})
    assert service.conversation is not None
    service._converse()
    assert service.conversation.model is first, "an unchanged file is not reloaded on every pass"
    candidate = path.with_name("candidate.skops")
    shutil.copyfile(trained_data_dir / "model" / "triage.skops", candidate)
    os.utime(candidate, ns=(1, 1))  # what the web process's os.replace leaves: a different file in place
    os.replace(candidate, path)
    service._converse()
    assert service.conversation.model is not first and service.conversation.model.version == first.version
    path.write_bytes(b"not a model")  # a half-copied or corrupt file never stops the worker
    service._converse()
    assert service.conversation.model.version == first.version


def test_a_scheduler_only_service_needs_no_model(desk: Desk) -> None:
    service = Service(desk.context, None, channel_senders={}, loops={"scheduler"}, schedule_interval=0.05)
    service.start()
    try:
        assert [thread.name for thread in service.threads] == ["scheduler"]
    finally:
        service.stop()
