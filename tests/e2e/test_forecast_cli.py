"""`backorder history import/show` and `backorder forecast [SKU...]/run` as a user runs
them, at 80 columns. The commands read the real clock: the story's orders and history are
in the past, and what is asserted does not depend on today's date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from backorder import foresight
from backorder.cli import common
from backorder.cli.app import app as cli
from backorder.services.context import Backorder
from tests.integration.test_demand import make_story
from tests.integration.test_forecasts import HISTORY

NARROW = {"COLUMNS": "80"}


@pytest.fixture(autouse=True)
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.out, "width", 80)


def run(db: str, *args: str) -> Result:
    return CliRunner(env=NARROW).invoke(cli, ["--db", db, *args])


@pytest.fixture
def shop(app: Backorder, db_url: str, tmp_path: Path) -> str:
    make_story(app)
    (tmp_path / "history.csv").write_text(HISTORY)
    return db_url


def test_history_is_imported_and_shown(shop: str, tmp_path: Path) -> None:
    done = run(shop, "history", "import", str(tmp_path / "history.csv"))
    assert done.exit_code == 0, done.output
    assert " ".join(done.stdout.split()) == (
        "imported 40 periods of 1 SKU (279 units, week periods from 2025-03-17 to "
        "2025-12-15); replaced 0 imported before"
    )
    again = run(shop, "history", "import", str(tmp_path / "history.csv"), "--json")
    assert json.loads(again.stdout)["replaced"] == 40
    shown = run(shop, "history", "show", "BOLT", "--by", "month", "--last", "60", "--json")
    months = {p["period"]: p for p in json.loads(shown.stdout)["periods"]}
    assert months["2025-03"]["imported"] == 14.14  # W12, W13 and 1 day of W14 (8 units)
    assert months["2026-01"]["ordered"] == 11
    table = run(shop, "history", "show", "BOLT", "--by", "month", "--last", "60")
    assert table.exit_code == 0, table.output
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert any(line.split()[:2] == ["2026-01", "11"] for line in table.stdout.splitlines())


def test_a_bad_file_is_refused_in_one_line_naming_the_line(shop: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,period,units\nBOLT,2025-11,3\nBOLTS,2025-11,3\n")
    done = run(shop, "history", "import", str(bad))
    assert done.exit_code == 1
    assert done.stderr.strip() == ("error: line 3: unknown SKU 'BOLTS'; nothing was imported")
    shown = run(shop, "history", "show", "BOLT", "--by", "month", "--last", "60", "--json")
    assert all(p["imported"] == 0 for p in json.loads(shown.stdout)["periods"])
    wrong = run(shop, "history", "show", "BOLT", "--by", "year")
    assert wrong.exit_code == 1 and "--by 'year': day, week or month" in wrong.stderr


def test_forecasts_are_run_and_shown_at_80_columns(shop: str, tmp_path: Path) -> None:
    assert run(shop, "history", "import", str(tmp_path / "history.csv")).exit_code == 0
    done = run(shop, "forecast", "run")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("forecast 2 SKUs (2 forecasts stored); 0 SKUs without demand")
    shown = run(shop, "forecast", "BOLT", "--horizon", "4")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].startswith("BOLT: ") and "demand (ADI" in lines[0]
    assert lines[1].startswith("learnt from ") and "back-tested MAE" in lines[1]
    assert lines[2].startswith("stored ")
    weeks = [line for line in lines if line.split()[:1] and "-W" in line.split()[0]]
    assert len(weeks) == 4
    document = json.loads(run(shop, "forecast", "BOLT", "--json").stdout)
    (bolt,) = document["forecasts"]
    assert bolt["stored"] is True and len(bolt["periods"]) == 26
    listed = run(shop, "forecast")
    assert "BOLT" in listed.stdout and max(len(x) for x in listed.stdout.splitlines()) <= 80
    unknown = run(shop, "forecast", "NOPE")
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "error: unknown SKU 'NOPE'"


def test_without_the_extra_forecasts_say_how_to_install_it(
    shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foresight, "available", lambda: False)
    done = run(shop, "forecast", "run")
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        "error: forecasting needs the forecast extra: pip install 'backorder[forecast]'"
    )
    assert run(shop, "forecast", "BOLT").exit_code == 1
    assert run(shop, "history", "import", str(tmp_path / "history.csv")).exit_code == 0
    assert run(shop, "history", "show", "BOLT").exit_code == 0
