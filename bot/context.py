"""One place that turns Settings into the running pieces: engine, sessions, calendar."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from workflow import db
from workflow.calendar import WorkingCalendar
from workflow.letters import Letters

if TYPE_CHECKING:
    from bot.inbound import BatchWriter
    from workflow.console.signin import PasswordChecks


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Context:
    settings: Settings
    now: Callable[[], dt.datetime] = field(default=utc_now)  # one clock for every part, so tests can move it
    wake: threading.Event = field(default_factory=threading.Event)  # set when a message is stored

    @cached_property
    def engine(self) -> Engine:
        if self.settings.database_url is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings = self.settings
        return db.make_engine(settings.resolved_database_url, sqlite_busy_seconds=settings.sqlite_busy_seconds)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return self.settings.calendar()

    @cached_property
    def large_letters(self) -> threading.BoundedSemaphore:
        """Turns at holding a letter over 1 MB in memory, shared by the SMTP server (reading one
        from its spool to store it) and the worker (parsing one): apart, the two peaks came at
        once, 72 MB and 91 MB for a 24 MB letter."""
        return threading.BoundedSemaphore(self.settings.smtp_large_at_once)

    @cached_property
    def writer(self) -> BatchWriter:
        """The one thread that stores every live channel's messages in this process (started on first use)."""
        from bot.inbound import BatchWriter

        return BatchWriter(self)

    def migrate(self) -> None:
        db.upgrade(self.engine)

    @cached_property
    def chat_secret(self) -> bytes:
        """What the web chat signs its tokens with: the setting, or the data directory's own (made once)."""
        from bot.secret_file import secret_in

        if self.settings.chat_secret is not None:
            return self.settings.chat_secret.get_secret_value().strip().encode()
        return secret_in(self.settings.data_dir / "webchat.key")

    @cached_property
    def password_checks(self) -> PasswordChecks:
        """The console's bound on password checks at once: one per process, as the memory it guards is."""
        from workflow.console.signin import PasswordChecks

        return PasswordChecks(self.settings.console_hash_concurrency)

    @cached_property
    def letters(self) -> Letters:
        """Shipped letters, each replaceable by a file of the same name in TRIAGE_DATA_DIR/templates."""
        return Letters(self.settings.letterhead(), self.settings.data_dir / "templates")
