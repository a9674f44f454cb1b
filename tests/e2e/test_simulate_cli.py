"""`backorder simulate` on the hand-checked January story: the table at 80 columns, --json,
and a wrong policy file refused in one line with nothing done."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.store.db import Database
from tests.conftest import Clock
from tests.integration.test_kpis import make_january

PERIOD = ["--from", "2026-01-01", "--to", "2026-02-01"]


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
def db(sqlite_app: Backorder) -> str:
    return sqlite_app.db.url


def test_simulate_prints_policies_beside_the_actual_figures(
    sqlite_app: Backorder, clock: Clock, db: str, tmp_path: Path
) -> None:
    make_january(sqlite_app, clock)
    same, complete = tmp_path / "same.toml", tmp_path / "complete.toml"
    same.write_text("# nothing changed\n")
    complete.write_text('[shipping]\npreference = "ship_complete"\n')
    policies = ["--policy", str(same), "--policy", str(complete), "--jobs", "1"]
    runner = CliRunner(env={"COLUMNS": "80"})
    done = runner.invoke(cli, ["--db", db, "simulate", *PERIOD, *policies])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    header = next(line for line in lines if line.split()[:1] == ["KPI"])
    assert header.split() == ["KPI", "actual", "same", "complete"]
    conversion = next(line for line in lines if line.split()[:1] == ["Conversion"])
    assert conversion.split()[1:] == ["60.0", "%"] * 3
    printed = runner.invoke(cli, ["--db", db, "simulate", *PERIOD, *policies, "--json"])
    columns = json.loads(printed.stdout)["columns"]
    assert [c["name"] for c in columns] == ["actual", "same", "complete"]
    assert columns[1]["figures"] == columns[0]["figures"]


def test_a_wrong_policy_file_is_one_line(db: str, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[queue]\nstrategy = 'lifo'\n")
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", db, "simulate", *PERIOD, "--policy", str(wrong)])
    assert done.exit_code == 1
    assert done.output.strip().splitlines() == [
        "error: policy wrong: queue.strategy must be one of fifo, priority (got 'lifo')"
    ]
