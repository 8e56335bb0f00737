"""The outbox against real servers: a mail server that goes away and comes back, a worker
killed in the middle of a send, and two workers sharing one PostgreSQL. Every message must
arrive exactly once, counted by Message-ID at a real aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.context import Context
from bot.channels import senders
from bot.settings import Settings
from tests.mail_sink import Mailbox, sink
from tests.servers import free_port
from workflow import outbox
from workflow.models import AuditEvent, OutboxItem

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[1]


def queue_letters(sessions: sessionmaker[Session], count: int) -> None:
    with sessions() as session:
        for n in range(count):
            outbox.enqueue(session, channel="email", address=f"resident{n}@example.net", text=f"Letter {n}", at=NOW,
                           subject=f"Letter {n}")
        session.commit()


def statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(OutboxItem.status)))


def context_for(database_url: str, data_dir: Path, smtp_port: int, clock: list[dt.datetime]) -> Context:
    settings = Settings(_env_file=None, database_url=database_url, data_dir=data_dir,
                        outbound_smtp_url=f"smtp://127.0.0.1:{smtp_port}")
    return Context(settings, now=lambda: clock[0])


def test_a_mail_server_that_is_down_gets_every_message_once_when_it_returns(database_url: str, tmp_path: Path) -> None:
    port, clock = free_port(), [NOW]
    context = context_for(database_url, tmp_path, port, clock)
    queue_letters(context.sessions, 5)
    channel_senders = senders(context)

    assert outbox.deliver_due(context.sessions, channel_senders, context.now) == 0  # nothing listening
    assert statuses(context.sessions) == {"pending": 5}
    with context.sessions() as session:
        items = list(session.scalars(select(OutboxItem)))
        assert all(i.attempts == 1 and i.last_error and i.next_attempt_at == NOW + outbox.backoff(1) for i in items)
        failures = session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery_failed")).all()
        assert len(failures) == 5

    mailbox = Mailbox()
    server = sink(mailbox, port)
    server.start()
    try:
        assert outbox.deliver_due(context.sessions, channel_senders, context.now) == 0  # not due again yet
        clock[0] = NOW + outbox.backoff(1)
        assert outbox.deliver_due(context.sessions, channel_senders, context.now) == 5
        clock[0] += dt.timedelta(hours=1)
        assert outbox.deliver_due(context.sessions, channel_senders, context.now) == 0
        time.sleep(0.5)
        received = Counter(str(m["Message-ID"]) for m in mailbox.drain())
    finally:
        server.stop()
    assert len(received) == 5 and set(received.values()) == {1}
    assert statuses(context.sessions) == {"sent": 5}
    context.engine.dispose()


def test_gives_up_after_the_last_attempt_and_says_so(database_url: str, tmp_path: Path) -> None:
    clock = [NOW]
    context = context_for(database_url, tmp_path, free_port(), clock)
    queue_letters(context.sessions, 1)
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due(context.sessions, senders(context), context.now)
        clock[0] += outbox.BACKOFF_CAP
    assert statuses(context.sessions) == {"failed": 1}
    context.engine.dispose()


KILLED_WORKER = """
import sys, time, datetime as dt
from pathlib import Path
from workflow import db, outbox
engine = db.make_engine(sys.argv[1])
def hang(delivery):
    Path(sys.argv[2]).write_text(delivery.key)
    time.sleep(600)
outbox.deliver_due(db.session_factory(engine), {"email": hang},
                   lambda: dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC), worker="doomed")
"""


def test_a_worker_killed_mid_send_loses_nothing_and_doubles_nothing(database_url: str, tmp_path: Path) -> None:
    port, clock = free_port(), [NOW]
    context = context_for(database_url, tmp_path, port, clock)
    queue_letters(context.sessions, 1)
    marker = tmp_path / "sending"
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, database_url, str(marker)], cwd=REPO,
                              env=os.environ | {"PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert worker.poll() is None and time.monotonic() < deadline, "the worker never began sending"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)

    mailbox = Mailbox()
    server = sink(mailbox, port)
    server.start()
    try:
        assert outbox.deliver_due(context.sessions, senders(context), context.now) == 0  # its lease still holds
        clock[0] = NOW + outbox.LEASE + dt.timedelta(seconds=1)
        assert outbox.deliver_due(context.sessions, senders(context), context.now) == 1
        time.sleep(0.5)
        received = mailbox.drain()
    finally:
        server.stop()
    assert len(received) == 1
    assert str(received[0]["Message-ID"]).startswith(f"<{marker.read_text()}@")  # the same identity it was given
    assert statuses(context.sessions) == {"sent": 1}
    context.engine.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_the_same_message(postgres_template: tuple[str, str],
                                                              tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    admin_url, template = postgres_template
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE outbox_race TEMPLATE {template}"))
    url = admin_url.rsplit("/", 1)[0] + "/outbox_race"
    mailbox = Mailbox()
    port = free_port()
    server = sink(mailbox, port)
    server.start()
    engines = []
    try:
        clock = [NOW]
        contexts = [context_for(url, tmp_path / str(n), port, clock) for n in range(2)]
        queue_letters(contexts[0].sessions, 60)
        sent: list[int] = []

        def work(context: Context, name: str) -> None:
            channel_senders = senders(context)
            while True:
                count = outbox.deliver_due(context.sessions, channel_senders, context.now, worker=name, limit=5)
                sent.append(count)
                with context.sessions() as session:
                    if count == 0 and not outbox.pending(session):
                        return

        threads = [threading.Thread(target=work, args=(c, f"worker-{n}")) for n, c in enumerate(contexts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        engines = [c.engine for c in contexts]
        time.sleep(0.5)
        received = Counter(str(m["Message-ID"]) for m in mailbox.drain())
        assert sum(sent) == 60
        assert len(received) == 60 and set(received.values()) == {1}
        with contexts[0].sessions() as session:
            workers = Counter(session.scalars(select(OutboxItem.claimed_by)))
        assert set(workers) <= {"worker-0", "worker-1"}
    finally:
        server.stop()
        for engine in engines:
            engine.dispose()
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS outbox_race WITH (FORCE)"))
        admin.dispose()
