"""`backorder shortages` and `backorder projection SKU` on a real database (the commands
read the real clock: the forecast starts this week)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.domain.projection import monday
from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.supply import SupplierIn, add_supplier
from backorder.services.worker import one_pass
from tests.conftest import Clock
from tests.factories import product
from tests.plan_helpers import nightly_done, store_forecast

SKU = "WIDGET-BLUE"
WIDE = {"COLUMNS": "240"}


def _story(app: Backorder, clock: Clock) -> str:
    """20 on hand, 8 a week from next week (none this week, whatever day the test runs
    on): short by 4 three weeks on; 7 days' lead time."""
    clock.current = datetime.now(UTC)
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7, "buy@acme.example"))
    add_product(app, product(SKU, supplier="ACME"))
    receive_stock(app, SKU, 20)
    this_week = monday(clock().date())
    store_forecast(app, SKU, [0.0] + [8.0] * 11, spread=(8.0, 2.0), first=this_week)
    nightly_done(app)  # the worker would replace the forecast stored here with its own
    return (this_week + timedelta(weeks=3)).isoformat()


def test_shortages_before_and_after_a_refresh(app: Backorder, clock: Clock, db_url: str) -> None:
    week = _story(app, clock)
    runner = CliRunner(env=WIDE)
    before = runner.invoke(cli, ["--db", db_url, "shortages"])
    assert before.exit_code == 0, before.output
    assert "no plan yet" in before.stdout
    done = runner.invoke(cli, ["--db", db_url, "shortages", "--refresh"])
    assert done.exit_code == 0, done.output
    row = next(line for line in done.stdout.splitlines() if SKU in line)
    assert week in row and " 4 " in row
    printed = json.loads(runner.invoke(cli, ["--db", db_url, "shortages", "--json"]).stdout)
    assert [(s["sku"], s["week"], s["units_short"]) for s in printed["shortages"]] == [
        (SKU, week, 4)
    ]
    quiet = runner.invoke(cli, ["--db", db_url, "shortages", "--weeks", "2"])
    assert "no stockout projected within 2 weeks" in quiet.stdout
    refused = runner.invoke(cli, ["--db", db_url, "shortages", "--weeks", "0"])
    assert refused.exit_code == 2


def test_projection_shows_the_safety_stock_with_its_inputs_and_the_weeks(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    week = _story(app, clock)
    runner = CliRunner(env=WIDE)
    done = runner.invoke(cli, ["--db", db_url, "projection", SKU, "--weeks", "4"])
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "safety stock 4, reorder point 12" in text
    assert "lead time 7 d, spread 0 d (the supplier's stated lead time)" in " ".join(text.split())
    assert f"projected stockout in the week of {week}: 4 short" in " ".join(text.split())
    printed = json.loads(runner.invoke(cli, ["--db", db_url, "projection", SKU, "--json"]).stdout)
    assert printed["safety_stock"]["z"] == 1.6449 and len(printed["weeks"]) == 12
    unknown = runner.invoke(cli, ["--db", db_url, "projection", "NOPE"])
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "error: unknown SKU 'NOPE'"


def test_the_worker_refreshes_the_plan_when_forecasts_are_newer(
    app: Backorder, clock: Clock
) -> None:
    _story(app, clock)
    first = one_pass(app)
    assert first.counts.get("projections") == 1 and first.counts.get("stockout_alerts") == 1
    assert "projections" not in one_pass(app).counts  # nothing new: not due
    clock.advance(hours=2)  # stock and supply move: refreshed at least hourly
    assert one_pass(app).counts.get("projections") == 1


def test_stock_arriving_clears_the_projected_stockout_at_the_next_pass(
    app: Backorder, clock: Clock
) -> None:
    """The worker re-projects the SKUs the outbox names since its last pass (a receipt
    here) without waiting for the hour; the alert is resolved, the other SKUs untouched."""
    _story(app, clock)
    add_product(app, product("OTHER", supplier="ACME"))
    receive_stock(app, "OTHER", 100)
    store_forecast(app, "OTHER", [1.0] * 12, spread=(1.0, 0.5), first=monday(clock().date()))
    assert one_pass(app).counts.get("stockout_alerts") == 1  # WIDGET-BLUE: 4 short
    clock.advance(minutes=10)
    receive_stock(app, SKU, 100)  # 120 on hand: 12 weeks of 8 and more
    again = one_pass(app).counts
    assert again.get("projections") == 1, again  # WIDGET-BLUE only
    assert [a["kind"] for a in alert_list(app, state="open")] == []
    assert "projections" not in one_pass(app).counts  # nothing changed since
