"""Reads that need no fresh data on a real streaming replica: a throwaway primary cluster and a
standby made from it with pg_basebackup, each on a free loopback port. The KPIs and the weekly
report read through the standby equal the primary's; the writes all reach the primary (the
standby refuses writes); and with the standby stopped, the same reads come from the primary."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.kpis import Dimension, kpis
from backorder.services.report import weekly_report
from backorder.store.db import Database
from backorder.store.replica import ReplicaState, replica_state
from tests.api.live import free_port
from tests.conftest import Clock
from tests.integration.test_kpis import JANUARY, at, make_january

SCRAPER = "scrape-token-0123456789"
BIN = Path("/usr/lib/postgresql/15/bin")
TOOLS = ("initdb", "pg_ctl", "pg_basebackup")
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not all((BIN / tool).exists() for tool in TOOLS),
        reason=f"no PostgreSQL 15 binaries ({', '.join(TOOLS)}) in {BIN}",
    ),
]


class Cluster:
    """One PostgreSQL cluster in `folder`/`name`, owned by the postgres OS user."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.data = folder / name
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*AS_POSTGRES, str(BIN / tool), *args], check=True, capture_output=True, timeout=30
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.data) + ".log"
        self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "20", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.SubprocessError):  # not started, or stopped
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "20", "stop")


@pytest.fixture
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary that streams its WAL, and a hot standby following it."""
    folder = Path(tempfile.mkdtemp(prefix="backorder-replica-"))
    shutil.chown(folder, "postgres")
    primary, standby = Cluster(folder, "primary"), Cluster(folder, "standby")
    try:
        primary.run("initdb", "-D", str(primary.data), "-A", "trust", "-U", "postgres", "-N")
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\n")
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        standby.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "-N"),
        )
        standby.start()
        yield primary, standby
    finally:
        standby.stop("immediate")  # throwaway: no shutdown checkpoint
        primary.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def caught_up(primary: str, standby: str, seconds: float = 15) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    engines = create_engine(primary), create_engine(standby)
    try:
        with engines[0].connect() as conn:
            written = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with engines[1].connect() as conn:
                behind = conn.execute(
                    text("SELECT pg_wal_lsn_diff(CAST(:lsn AS pg_lsn), pg_last_wal_replay_lsn())"),
                    {"lsn": written},
                ).scalar_one()
            if behind <= 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"the standby did not replay up to {written} in {seconds} s")
    finally:
        for engine in engines:
            engine.dispose()


def figures(app: Backorder) -> list[dict[str, Any]]:
    return [
        kpis(app, *JANUARY),
        kpis(app, *JANUARY, by=Dimension.SKU),
        weekly_report(app, "2026-W03"),
    ]


def test_kpis_and_the_report_read_the_standby_and_equal_the_primarys(
    clusters: tuple[Cluster, Cluster], caplog: pytest.LogCaptureFixture
) -> None:
    primary, standby = clusters
    clock = Clock(at(10))
    settings = Settings(
        database_url=primary.url, read_database_url=standby.url, metrics_token=SCRAPER
    )
    app = Backorder.open(settings)  # migrates the empty primary
    app.clock = clock
    on_primary = Backorder(Database(primary.url), settings, clock)
    seen: list[str] = []

    @event.listens_for(app.db.replica.engine, "before_cursor_execute")  # type: ignore[union-attr]
    def _seen(_c: Connection, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    try:
        make_january(app, clock)  # every write through the app: none may reach the standby
        caught_up(primary.url, standby.url)

        through_standby = figures(app)
        assert "SELECT" in seen  # the KPIs and the report were read there
        assert not {"INSERT", "UPDATE", "DELETE"} & set(seen)
        assert through_standby == figures(on_primary)
        assert through_standby[0]["kpis"]["backorder_rate"]["orders_placed"] == 8
        with TestClient(create_app(app)) as http:
            ready = http.get("/readyz").json()
            scraped = http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"}).text
        assert ready["replica"]["status"] == "streaming"
        assert ready["replica"]["lag_seconds"] >= 0
        assert "backorder_read_replica_up 1.0" in scraped
        assert "backorder_read_replica_lag_seconds " in scraped

        with pytest.raises(DBAPIError, match="read-only"), app.db.replica.engine.connect() as c:  # type: ignore[union-attr]
            c.execute(text("DELETE FROM orders"))  # the standby refuses any write

        standby.stop()
        before = len(seen)
        with caplog.at_level(logging.WARNING, logger="backorder.store.db"):
            assert figures(app) == figures(on_primary)  # from the primary now
        assert len(seen) == before
        assert "read replica unreachable" in caplog.text
        assert replica_state(app.db) == ReplicaState(False, False, None)
    finally:
        on_primary.close()
        app.close()
