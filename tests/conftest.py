"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from classifier.model import TriageModel
from tests.desk import Desk
from tests.servers import TRIAGE, empty_database, postgres_server, triage_env
from workflow import db

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """A migrated template database; each test clones it, which is much faster than migrating."""
    with postgres_server() as admin_url:
        template_url = empty_database(admin_url, "triage_template")
        engine = db.make_engine(template_url)
        db.upgrade(engine)
        engine.dispose()
        yield admin_url, "triage_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "triage.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url, template_name = request.getfixturevalue("postgres_template")
    name = f"test_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with db.session_factory(engine)() as session:
        yield session


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def trained_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding a model built by the real `triage train` from training_data/."""
    import subprocess

    data_dir = tmp_path_factory.mktemp("trained")
    result = subprocess.run([TRIAGE, "train"], env=triage_env(TRIAGE_DATA_DIR=str(data_dir)), cwd=data_dir,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return data_dir


@pytest.fixture(scope="session")
def model(trained_data_dir: Path) -> TriageModel:
    return TriageModel.load(trained_data_dir / "model" / "triage.skops")


@pytest.fixture
def desk(tmp_path: Path, model: TriageModel, sqlite_template: Path) -> Iterator[Desk]:
    """A resident's view of the landlord's mailbox on a fresh SQLite database (tests/desk.py)."""
    database = tmp_path / "triage.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    desk = Desk(f"sqlite:///{database}", tmp_path / "data", model)
    yield desk
    desk.context.engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser journey on PostgreSQL repeats its SQLite run on the other engine: slow, run in CI."""
    for item in items:
        if item.get_closest_marker("browser") and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.slow)
