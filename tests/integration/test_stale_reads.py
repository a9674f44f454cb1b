"""Reads that need no fresh data (Database.stale_read): without a read replica they read the
primary; a replica is refused where there can be none (SQLite); an unreachable one leaves
them on the primary, said once in the log. (tests/integration/test_read_replica.py runs them
against a real streaming standby.)"""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, event, insert, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from backorder.api.replica import ready_view
from backorder.cli import app as cli
from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.kpis import kpis
from backorder.services.report import weekly_report
from backorder.store.db import Database
from backorder.store.tables import suppliers
from tests.api.live import free_port
from tests.conftest import Clock
from tests.integration.test_kpis import JANUARY, make_january


def nowhere() -> str:
    """A PostgreSQL URL on a loopback port where nothing listens."""
    return f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_a_replica_the_kpis_and_the_report_read_the_primary(
    app: Backorder, clock: Clock
) -> None:
    make_january(app, clock)
    assert app.db.replica is None and ready_view(app) is None
    read: list[str] = []

    @event.listens_for(app.db.engine, "before_cursor_execute")
    def _read(_c: Connection, _cur: object, statement: str, *_: object) -> None:
        read.append(statement)

    assert kpis(app, *JANUARY)["kpis"]["backorder_rate"]["orders_placed"] == 8
    weekly_report(app, "2026-W03")
    assert any("order_lines" in statement for statement in read)


def test_a_replica_url_must_be_postgresql() -> None:
    with pytest.raises(ValidationError, match="a read replica is a PostgreSQL standby"):
        Settings(read_database_url="sqlite:///replica.db")
    assert Settings(read_database_url="").read_database_url is None


def test_a_replica_is_refused_beside_a_sqlite_primary(sqlite_url: str) -> None:
    with pytest.raises(InvalidRequest, match="needs a PostgreSQL primary, and this database is"):
        Database(sqlite_url, nowhere())


def test_the_command_line_says_why_it_refuses_a_replica_for_sqlite(sqlite_url: str) -> None:
    done = CliRunner(env={"BACKORDER_READ_DATABASE_URL": nowhere()}).invoke(
        cli, ["--db", sqlite_url, "kpi"]
    )
    assert done.exit_code == 1
    assert "error: a read replica needs a PostgreSQL primary" in done.stderr


@pytest.mark.postgres
def test_an_unreachable_replica_leaves_the_reads_on_the_primary_said_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(postgres_url, nowhere())
    try:
        with caplog.at_level(logging.WARNING, logger="backorder.store.db"):
            for _ in range(3):
                with database.stale_read() as uow:
                    standby = uow.connection.execute(text("SELECT pg_is_in_recovery()"))
                    assert standby.scalar_one() is False
        assert caplog.text.count("read replica unreachable") == 1
        assert ready_view(Backorder(database)) == {
            "status": "unreachable: reads go to the primary",
            "lag_seconds": None,
        }
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_stale_read_on_the_primary_cannot_write(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with pytest.raises(DBAPIError, match="read-only"), database.stale_read() as uow:
            uow.connection.execute(insert(suppliers).values(id="S1", name="Never written"))
        with database.write() as uow:  # the pool's connection writes again afterwards
            uow.connection.execute(text("SELECT 1"))
    finally:
        database.dispose()
