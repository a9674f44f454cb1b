"""`backorder simulate` on the hand-checked January story: the table at 80 columns, --json,
and a wrong policy file refused in one line with nothing done."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.services.context import Backorder
from tests.conftest import Clock
from tests.integration.test_kpis import make_january

PERIOD = ["--from", "2026-01-01", "--to", "2026-02-01"]


def test_simulate_prints_policies_beside_the_actual_figures(
    app: Backorder, clock: Clock, db_url: str, tmp_path: Path
) -> None:
    make_january(app, clock)
    same, complete = tmp_path / "same.toml", tmp_path / "complete.toml"
    same.write_text("# nothing changed\n")
    complete.write_text('[shipping]\npreference = "ship_complete"\n')
    policies = ["--policy", str(same), "--policy", str(complete), "--jobs", "1"]
    runner = CliRunner(env={"COLUMNS": "80"})
    done = runner.invoke(cli, ["--db", db_url, "simulate", *PERIOD, *policies])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    header = next(line for line in lines if line.split()[:1] == ["KPI"])
    assert header.split() == ["KPI", "actual", "same", "complete"]
    conversion = next(line for line in lines if line.split()[:1] == ["Conversion"])
    assert conversion.split()[1:] == ["60.0", "%"] * 3
    printed = runner.invoke(cli, ["--db", db_url, "simulate", *PERIOD, *policies, "--json"])
    columns = json.loads(printed.stdout)["columns"]
    assert [c["name"] for c in columns] == ["actual", "same", "complete"]
    assert columns[1]["figures"] == columns[0]["figures"]


def test_a_wrong_policy_file_is_one_line(db_url: str, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[queue]\nstrategy = 'lifo'\n")
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", db_url, "simulate", *PERIOD, "--policy", str(wrong)])
    assert done.exit_code == 1
    assert done.output.strip().splitlines() == [
        "error: policy wrong: queue.strategy must be one of fifo, priority (got 'lifo')"
    ]
