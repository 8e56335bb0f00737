"""One place that turns Settings into the running pieces: engine, sessions, calendar."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from workflow import db
from workflow.calendar import WorkingCalendar


@dataclass
class Context:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        if self.settings.database_url is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return db.make_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return self.settings.calendar()

    def migrate(self) -> None:
        db.upgrade(self.engine)
