"""The dashboard's policy simulator page: a form that starts a run in a thread of its own,
refusals in one line with nothing started, and the run's table once it is done."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.api.simulate_page import PATH, runs_of
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
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


def test_a_run_from_the_page_shows_its_table(client: TestClient, sqlite_app: Backorder) -> None:
    app = sqlite_app
    client.post("/login", data={"key": create_key(app, Role.OPS).key})
    page = client.get(PATH)
    assert page.status_code == 200 and "No simulation yet" in page.text
    form = {"csrf": _token(page.text), "from": "2026-01-01", "to": "2026-02-01", "seed": "1"}
    refused = client.post(PATH, data=form | {"policy": "[queue]\nstrategy = 'lifo'"})
    assert refused.status_code == 400
    assert "queue.strategy must be one of fifo, priority" in refused.text
    assert runs_of(client.app).items == []  # type: ignore[arg-type]
    started = client.post(
        PATH, data=form | {"name": "vip", "policy": "[queue]\nstrategy = 'priority'"}
    )
    assert (started.status_code, started.headers["location"]) == (303, PATH)
    (run,) = runs_of(client.app).items  # type: ignore[arg-type]
    assert run.thread is not None
    run.thread.join(timeout=60)
    assert run.state == "done", run.error
    shown = client.get(PATH).text
    assert "Conversion" in shown and ">actual<" in shown and ">vip<" in shown


def test_a_viewer_may_not_run_one(client: TestClient, sqlite_app: Backorder) -> None:
    app = sqlite_app
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    assert client.get(PATH).status_code == 403
