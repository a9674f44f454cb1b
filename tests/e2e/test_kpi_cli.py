"""`backorder kpi`, `backorder report weekly` and `backorder report roll-up`, mostly on the
hand-checked January story (the commands read the real clock, so what waits is as old as it
is today; the period's figures are the story's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.cli import common
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.kpis import Dimension, kpis
from backorder.services.products import add_product
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_kpis import JANUARY, make_january
from tests.integration.test_kpis_by_location import make_story

PERIOD = ["--from", "2026-01-01", "--to", "2026-01-31"]
# A terminal wide enough that tables and paths print on one line whatever the test's path
WIDE = {"COLUMNS": "240"}


def test_kpi_json_is_the_services_answer(app: Backorder, clock: Clock, db_url: str) -> None:
    make_january(app, clock)
    runner = CliRunner(env=WIDE)
    done = runner.invoke(cli, ["--db", db_url, "kpi", *PERIOD, "--by", "sku", "--json"])
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    clock.current = datetime.fromisoformat(printed["as_of"]).astimezone(UTC)
    assert printed == json.loads(json.dumps(kpis(app, *JANUARY, by=Dimension.SKU)))
    assert printed["kpis"]["promise_accuracy"]["value"] == 0.4  # W4's date has passed too


def test_kpi_prints_each_figure_against_its_target(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    make_january(app, clock)
    runner = CliRunner(env=WIDE)
    done = runner.invoke(cli, ["--db", db_url, "kpi", *PERIOD, "--by", "channel"])
    assert done.exit_code == 0, done.output
    assert "KPIs 2026-01-01 to 2026-01-31" in done.stdout
    conversion = next(line for line in done.stdout.splitlines() if "Backorder conversion" in line)
    assert "60.0%" in conversion and ">= 95%" in conversion and "misses" in conversion
    web = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["web"])
    assert "80.0%" in web
    refused = runner.invoke(cli, ["--db", db_url, "kpi", "--from", "2026-02-01", *PERIOD[2:]])
    assert refused.exit_code != 0
    assert "starts (2026-02-01) after it ends" in refused.output


def test_report_weekly_writes_each_format(
    app: Backorder, clock: Clock, db_url: str, tmp_path: Path
) -> None:
    make_january(app, clock)
    runner = CliRunner(env=WIDE)
    for fmt in ("html", "csv", "json", "pdf"):
        target = tmp_path / f"week.{fmt}"
        done = runner.invoke(
            cli,
            [
                "--db",
                db_url,
                "report",
                "weekly",
                "--week",
                "2026-W03",
                "--format",
                fmt,
                "--out",
                str(target),
            ],
        )
        assert done.exit_code == 0, done.output
        assert f"wrote {target}" in done.stdout
    assert json.loads((tmp_path / "week.json").read_text())["week"] == "2026-W03"
    assert (tmp_path / "week.pdf").read_bytes().startswith(b"%PDF-")
    printed = runner.invoke(
        cli, ["--db", db_url, "report", "weekly", "--week", "2026-W03", "--format", "csv"]
    )
    assert printed.stdout.startswith("section,item,field,value\n")
    refused = runner.invoke(cli, ["--db", db_url, "report", "weekly", "--format", "docx"])
    assert refused.exit_code != 0 and "unknown format 'docx'" in refused.output


def test_report_roll_up_rolls_up_every_closed_day_once(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    """On the real clock: an order placed three days ago; every day from the first of its
    month to yesterday is rolled up, then there is nothing left to do."""
    now = datetime.now(UTC)
    clock.current = now - timedelta(days=3)
    add_product(app, product("A"))
    place_order(app, order("R1", ("A", 2), placed_at=clock.current))
    closed = (now.date() - clock.current.date().replace(day=1)).days
    runner = CliRunner(env=WIDE)
    done = runner.invoke(cli, ["--db", db_url, "report", "roll-up", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"rolled_up": closed}
    again = runner.invoke(cli, ["--db", db_url, "report", "roll-up"])
    assert again.exit_code == 0 and "every closed day is rolled up" in again.stdout
    rate = kpis(app, clock.current.date(), now.date())["kpis"]["backorder_rate"]
    assert rate["orders_placed"] == 1 and rate["backordered_orders"] == 1


def test_kpi_by_sku_pages_the_groups(app: Backorder, clock: Clock, db_url: str) -> None:
    make_january(app, clock)
    runner = CliRunner(env=WIDE)
    done = runner.invoke(cli, ["--db", db_url, "kpi", *PERIOD, "--by", "sku", "--limit", "2"])
    assert done.exit_code == 0, done.output
    assert "groups 1 to 2 of 4 (--limit, --offset)" in done.stdout
    answer = runner.invoke(
        cli, ["--db", db_url, "kpi", *PERIOD, "--by", "sku", "--offset", "3", "--json"]
    )
    assert [g["key"] for g in json.loads(answer.stdout)["groups"]] == [
        kpis(app, *JANUARY, Dimension.SKU)["groups"][3]["key"]
    ]


def test_kpi_by_location_fits_80_columns(
    app: Backorder, clock: Clock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_story(app, clock)
    monkeypatch.setattr(common.out, "width", 80)  # its console read COLUMNS at import
    done = CliRunner(env={"COLUMNS": "80"}).invoke(
        cli, ["--db", db_url, "kpi", *PERIOD, "--by", "location"]
    )
    assert done.exit_code == 0, done.output
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    # backorder rate, duration, fill time, accuracy of each location
    assert rows["east"][1:] == ["0.0%", "2.0", "days", "4.0", "days", "100.0%"]
    assert rows["main"][1:] == ["100.0%", "3.0", "days", "4.0", "days", "100.0%"]
    assert "location" in done.stdout and "accuracy" in done.stdout
    assert "left out" not in done.stdout  # a location's four figures all fit
