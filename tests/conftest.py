"""Shared fixtures: a database per backend (SQLite file, throwaway PostgreSQL database),
an application on it with a clock the test controls."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# The CLI's console takes its width when it is made (rich reads COLUMNS then). Output that
# is not a terminal (a test worker's) would be 80 columns, and a temporary path or a table
# row would wrap differently from one worker to the next: every test prints 200 columns.
os.environ["COLUMNS"] = "200"

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.store.db import Database, normalise_url
from backorder.store.migrate import upgrade
from tests.integration.invariants import empty_database
from tests.mail import Inbox, free_port

POSTGRES_ADMIN_URL = os.environ.get(
    "BACKORDER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# The tests that take most of a minute each on a 2-core machine run first, one module after
# the other in turn: started last, one of them kept one pytest-xdist worker busy alone while
# the other had nothing left to run. Everything else keeps its order.
LONGEST_FIRST = (
    "test_schemathesis.py",
    "test_storm.py",
    "test_worker_faults.py",
    "test_invariants_property.py",
    "test_broker_cluster.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    seen: dict[str, int] = {}
    rank: dict[int, tuple[int, int, int]] = {}
    for item in items:
        module = item.path.name
        if module in LONGEST_FIRST:
            turn = seen[module] = seen.get(module, -1) + 1
            rank[id(item)] = (0, turn, LONGEST_FIRST.index(module))
    items.sort(key=lambda item: rank.get(id(item), (1, 0, 0)))  # stable: the rest as written


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(
            normalise_url(POSTGRES_ADMIN_URL), connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure to connect means: no server here
        return f"no PostgreSQL server reachable at {POSTGRES_ADMIN_URL}: {error.__class__.__name__}"


class PostgresDatabases:
    """Throwaway PostgreSQL databases, each migrated, all dropped at the end of the run."""

    def __init__(self) -> None:
        self.admin = create_engine(normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
        self.names: list[str] = []
        self._template: str | None = None

    def create(self) -> str:
        """A new database with the schema: a copy of a template migrated once per run (a
        copy takes a tenth of the time running every migration again takes)."""
        if self._template is None:
            self._template = self._new("")
            database = Database(self._url(self._template))
            upgrade(database)
            database.dispose()  # no session may stay connected to a template being copied
        return self._url(self._new(f' TEMPLATE "{self._template}"'))

    def _new(self, template: str) -> str:
        name = f"backorder_test_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        self.names.append(name)
        return name

    @staticmethod
    def _url(name: str) -> str:
        return (
            make_url(normalise_url(POSTGRES_ADMIN_URL))
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    reason = _postgres_reachable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI needs it)")
        pytest.skip(reason)
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def postgres_url(postgres_databases: PostgresDatabases) -> str:
    """The run's shared PostgreSQL database (tests truncate it before use)."""
    return postgres_databases.create()


def _truncate(url: str) -> None:
    """Empty every table and restart the ids (invariants.empty_database)."""
    empty_database(url)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once for the run: each test starts from a copy of it, which
    costs a file copy instead of every migration again."""
    path = tmp_path_factory.mktemp("template") / "backorder.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
) -> str:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "backorder.db"
        shutil.copyfile(migrated_sqlite, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "backorder.db"
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite:///unused.db")


@pytest.fixture
def app(db_url: str, clock: Clock, settings: Settings) -> Iterator[Backorder]:
    backorder = Backorder(Database(db_url), settings, clock)
    yield backorder
    backorder.close()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
