"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x7472696167650001  # pg_advisory_lock key: "triage" and 1, taken only while migrating
WRITE_LOCK_POLL = 0.0005  # seconds between tries for SQLite's write lock
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")  # what pysqlite opens a transaction for


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'triage.sqlite3').resolve()}"


def make_engine(url: str, sqlite_busy_seconds: float = 30.0, **kwargs: Any) -> Engine:
    """An engine with the settings that make SQLite safe to share between threads and processes.

    WAL lets the console read while the SMTP server writes; the busy timeout turns a brief
    lock into a wait instead of an error (past it, the write fails and SMTP answers 451, so the
    sending server retries); foreign keys are off in SQLite unless asked for. A transaction takes
    the write lock with its first write, by `_take_write_lock`.
    """
    kwargs.setdefault("hide_parameters", True)  # a failed INSERT's message would print residents' words in the log
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": sqlite_busy_seconds, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "before_cursor_execute")
        def _before_write(_connection: Any, cursor: Any, statement: str, *_args: Any) -> None:
            if not cursor.connection.in_transaction and statement.lstrip()[:7].upper().startswith(_WRITES):
                _take_write_lock(cursor.connection, sqlite_busy_seconds)

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _take_write_lock(connection: sqlite3.Connection, wait_seconds: float) -> None:
    """Open the transaction with BEGIN IMMEDIATE, trying every half millisecond until `wait_seconds` pass.

    SQLite's own busy wait sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under load a
    process that writes again as soon as it commits (the worker) keeps the lock while the others
    (the SMTP server's writer, the web chat) sleep through every moment it was free: in
    bench/load.py the SMTP server stored next to nothing for whole seconds while the worker
    drained its queue, then flooded it. Trying often finds the lock the moment it is let go.
    Statements that need the lock later in a transaction that was opened some other way (a
    SAVEPOINT first, or DDL) still use SQLite's busy wait, as before.
    """
    connection.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_LOCK_POLL)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations; run on every start and by `triage db upgrade`.

    Processes started together on a new database (systemd starting the smtp and worker units at
    once) take turns: the first migrates, the others wait and find nothing left to do. Without
    the lock the second crashed on "table already exists".
    """
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK)))
            connection.commit()
            try:
                yield
            finally:
                connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrating", "a") as lock:  # beside the database: every process that shares it sees it
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def conflict_insert(session: Session, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can end in ON CONFLICT DO NOTHING: both engines have it, but SQLAlchemy builds it per dialect."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(entity)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
