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


def test_an_outbox_in_a_process_of_its_own_sends_a_backlog_without_waiting_for_its_interval(desk: Desk) -> None:
    """`--only outbox`: no worker in its process wakes it. Once woken it goes on until the queue is
    empty, rather than sending one pass of 20 and sleeping until its next interval."""
    import time

    from workflow import outbox
    from workflow.outbox import Delivery

    with desk.context.sessions() as session:
        for n in range(70):
            outbox.enqueue(session, channel="email", address=f"resident{n}@example.net", text=f"Letter {n}",
                           at=desk.clock, subject=f"Letter {n}")
        session.commit()
    sent: list[Delivery] = []
    service = Service(desk.context, None, channel_senders={"email": sent.append}, interval=60, loops={"outbox"})
    service.start()
    try:
        service.queued.set()
        deadline = time.monotonic() + 10
        while len(sent) < 70 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
    assert sorted(delivery.address for delivery in sent) == sorted(f"resident{n}@example.net" for n in range(70))
