"""What `backorder serve --workers N` hands each server process: the database the command
was given (over what the environment said), and a folder for the summed metrics that is
gone when they have ended (an operator's own folder is left alone)."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backorder.api.workers import METRICS_FOLDER, app_from_environment, environment_for_workers


@pytest.fixture
def url(tmp_path: Path, migrated_sqlite: Path) -> str:
    path = tmp_path / "given.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


def test_each_process_builds_the_app_on_the_database_the_command_was_given(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKORDER_DATABASE_URL", "sqlite:///not-this-one.db")
    monkeypatch.delenv(METRICS_FOLDER, raising=False)
    with environment_for_workers(url) as given:
        folder = Path(given[METRICS_FOLDER])
        assert folder.is_dir() and os.environ[METRICS_FOLDER] == str(folder)
        gc.unfreeze()
        app = app_from_environment()  # what each process calls, after a fresh start
        try:
            # what the process built before its first request is out of the collector's sight
            assert gc.get_freeze_count() > 10_000
            with TestClient(app) as client:
                assert client.get("/readyz").json()["status"] == "ready"
            assert app.state.backorder.db.url == url
        finally:
            gc.unfreeze()  # this test process goes on: let the collector see it all again
            app.state.backorder.close()
    assert os.environ["BACKORDER_DATABASE_URL"] == "sqlite:///not-this-one.db"
    assert METRICS_FOLDER not in os.environ
    assert not folder.exists()


def test_an_operators_metrics_folder_is_used_and_kept(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "metrics"
    mine.mkdir()
    monkeypatch.setenv(METRICS_FOLDER, str(mine))
    with environment_for_workers(url) as given:
        assert METRICS_FOLDER not in given and os.environ[METRICS_FOLDER] == str(mine)
    assert mine.is_dir() and os.environ[METRICS_FOLDER] == str(mine)
