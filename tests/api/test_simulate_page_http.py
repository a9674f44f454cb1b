"""The dashboard's policy simulator page: a form that starts a run in a thread of its own,
refusals in one line with nothing started, the run's table once it is done, and the same
runs on every server process of one database, one running at a time."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.api.simulate_page import PATH
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.simulation_runs import (
    LOST,
    LOST_SECONDS,
    SimulationRun,
    recent_runs,
    start_run,
)
from backorder.store.db import Database
from tests.conftest import Clock
from tests.integration.test_kpis import make_january


@pytest.fixture
def sqlite_app(
    migrated_sqlite: Path, tmp_path: Path, clock: Clock, settings: Settings
) -> Iterator[Backorder]:
    """On SQLite only: what this test checks does not depend on the live database's kind
    (the replay's copy is SQLite either way)."""
    path = tmp_path / "live.db"
    shutil.copyfile(migrated_sqlite, path)
    backorder = Backorder(Database(f"sqlite:///{path}"), settings, clock)
    yield backorder
    backorder.close()


@pytest.fixture
def client(sqlite_app: Backorder, clock: Clock) -> Iterator[TestClient]:
    make_january(sqlite_app, clock)
    with TestClient(create_app(sqlite_app), follow_redirects=False) as http:
        yield http


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found[1]


def finished(app: Backorder) -> SimulationRun:
    """The newest run, once its thread is done with it (a minute at most)."""
    deadline = time.monotonic() + 60
    while (run := recent_runs(app)[0]).state == "running":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)
    return run


def test_a_run_from_the_page_shows_its_table(client: TestClient, sqlite_app: Backorder) -> None:
    app = sqlite_app
    client.post("/login", data={"key": create_key(app, Role.OPS).key})
    page = client.get(PATH)
    assert page.status_code == 200 and "No simulation yet" in page.text
    form = {"csrf": _token(page.text), "from": "2026-01-01", "to": "2026-02-01", "seed": "1"}
    refused = client.post(PATH, data=form | {"policy": "[queue]\nstrategy = 'lifo'"})
    assert refused.status_code == 400
    assert "queue.strategy must be one of fifo, priority" in refused.text
    assert recent_runs(app) == []
    started = client.post(
        PATH, data=form | {"name": "vip", "policy": "[queue]\nstrategy = 'priority'"}
    )
    assert (started.status_code, started.headers["location"]) == (303, PATH)
    run = finished(app)
    assert run.state == "done", run.error
    shown = client.get(PATH).text
    assert "Conversion" in shown and ">actual<" in shown and ">vip<" in shown


def test_a_viewer_may_not_run_one(client: TestClient, sqlite_app: Backorder) -> None:
    app = sqlite_app
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    assert client.get(PATH).status_code == 403


def test_every_process_shows_the_same_runs_and_one_runs_at_a_time(
    client: TestClient, sqlite_app: Backorder, clock: Clock
) -> None:
    """Two apps on one database, as two server processes are: a run started by one (its
    thread still working) shows on the other's page and blocks a second run there; once its
    beat has stopped for a minute (its process died), it shows as failed and blocks no more."""
    elsewhere = Backorder(Database(sqlite_app.db.url), sqlite_app.settings, clock)
    try:
        start_run(elsewhere, (date(2026, 1, 1), date(2026, 2, 1)), "from-elsewhere")
    finally:
        elsewhere.close()
    client.post("/login", data={"key": create_key(sqlite_app, Role.OPS).key})
    page = client.get(PATH)
    assert "from-elsewhere" in page.text and "running" in page.text
    form = {"csrf": _token(page.text), "from": "2026-01-01", "to": "2026-02-01"}
    busy = client.post(PATH, data=form | {"name": "mine", "policy": "[queue]\nstrategy = 'fifo'"})
    assert busy.status_code == 400 and "a simulation is running" in busy.text
    clock.advance(seconds=LOST_SECONDS + 1)
    assert LOST in client.get(PATH).text
    started = client.post(
        PATH, data=form | {"name": "mine", "policy": "[queue]\nstrategy = 'fifo'"}
    )
    assert started.status_code == 303
    assert finished(sqlite_app).state == "done"
    assert [run.policy for run in recent_runs(sqlite_app)] == ["mine", "from-elsewhere"]
