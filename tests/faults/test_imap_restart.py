"""Fault test (issue 9): Dovecot restarted under a running IMAP poller."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.context import Context
from bot.settings import Settings
from tests.servers import DOVECOT_RESTARTS, dovecot_server
from tests.test_imap import PASSWORD, USER, append, letter, poller
from workflow.models import Message

pytestmark = pytest.mark.slow


def test_dovecot_restarted_mid_poll_the_poller_reconnects_and_stores_each_message_once(tmp_path: Path,
                                                                                        sqlite_template: Path) -> None:
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    context = Context(Settings(_env_file=None, database_url=f"sqlite:///{database}", data_dir=tmp_path))
    with dovecot_server(USER, PASSWORD) as port:
        running = poller(context, port)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()

        def stored() -> Counter[str]:
            with context.sessions() as session:
                return Counter(session.scalars(select(Message.external_id)))

        try:
            # Its own signal, not a guess: connected, read everything, and in IDLE.
            assert running.listening.wait(60), "the poller never connected"
            append(port, *(letter(n) for n in range(30)))
            deadline = time.monotonic() + 30
            while len(stored()) < 10:
                assert time.monotonic() < deadline, f"the poller did not start storing ({len(stored())} of 10)"
                time.sleep(0.05)
            DOVECOT_RESTARTS[port]()  # the server goes away in the middle of the poll, then comes back (LOGIN works)
            append(port, *(letter(n) for n in range(30, 60)))
            deadline = time.monotonic() + 90
            while len(stored()) < 60:
                assert time.monotonic() < deadline, (f"only {len(stored())} of 60 stored after the restart; the poller"
                                                     f" is {'' if running.listening.is_set() else 'not '}in IDLE")
                time.sleep(0.2)
        finally:
            running.stop()
            thread.join(timeout=30)
    counts = stored()
    assert set(counts) == {f"<imap-{n}@example.net>" for n in range(60)} and max(counts.values()) == 1
    context.engine.dispose()
