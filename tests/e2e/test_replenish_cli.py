"""`backorder replenish plan` on a real database, at 80 columns (the command reads the real
clock: the forecast starts this week)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.domain.projection import monday
from backorder.services.context import Backorder
from backorder.services.product_suppliers import SupplierTerms, add_terms, update_terms
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.supply import SupplierIn, add_supplier
from tests.conftest import Clock
from tests.factories import product
from tests.plan_helpers import store_forecast

SKU = "WIDGET-BLUE"
NARROW = {"COLUMNS": "80"}


def _story(app: Backorder, clock: Clock) -> None:
    """2 on hand, 20 a week: short this week or the next; ACME (preferred, 5.00, 7 days,
    packs of 10) and CLEARFLOW (5.50, 2 days); NOCOST has no terms cost, OTHER no supplier."""
    clock.current = datetime.now(UTC)
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7))
    add_supplier(app, SupplierIn("CLEARFLOW", "ClearFlow Filters Incorporated", 2))
    add_product(app, product(SKU, supplier="ACME"))
    update_terms(app, SKU, "ACME", {"cost": Decimal("5.00"), "pack": 10}, preferred=False)
    add_terms(app, SKU, SupplierTerms("CLEARFLOW", Decimal("5.50"), 2), preferred=False)
    receive_stock(app, SKU, 2)
    add_product(app, product("NOCOST", supplier="ACME"))
    add_product(app, product("OTHER"))
    for sku in (SKU, "NOCOST", "OTHER"):
        store_forecast(app, sku, [20.0] * 12, spread=(20.0, 3.0), first=monday(clock().date()))


def test_replenish_plan_lists_the_lines_with_their_reasons_at_80_columns(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    _story(app, clock)
    runner = CliRunner(env=NARROW)
    before = runner.invoke(cli, ["--db", db_url, "replenish", "plan"])
    assert before.exit_code == 0, before.output
    assert "no restock order proposed" in before.stdout
    done = runner.invoke(cli, ["--db", db_url, "replenish", "plan", "--refresh"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), done.stdout
    assert lines[0] == "planned: 1 new, 0 kept, 0 withdrawn"
    head = next(line for line in lines if line.startswith("#"))
    assert f" {SKU}: buy " in head and " from " in head and "need by" in head
    assert any(line.startswith(f"  - {SKU} is projected to run out") for line in lines)
    said = " ".join(line.strip() for line in lines)
    assert "1 SKU needs an order, but none of its suppliers has a cost (NOCOST)" in said
    assert "1 SKU needs an order but has no supplier (OTHER)" in said
    printed = json.loads(runner.invoke(cli, ["--db", db_url, "replenish", "plan", "--json"]).stdout)
    assert printed["planned"] is None
    (rec,) = printed["recommendations"]
    assert rec["sku"] == SKU and rec["state"] == "proposed" and rec["reasons"]
    assert head.startswith(f"#{rec['id']} ")
    only = runner.invoke(cli, ["--db", db_url, "replenish", "plan", "--sku", "OTHER"])
    assert "no restock order proposed" in only.stdout
    unknown = runner.invoke(
        cli, ["--db", db_url, "replenish", "plan", "--sku", "NOPE", "--refresh"]
    )
    assert unknown.exit_code == 1 and "unknown SKU 'NOPE'" in unknown.stderr
