"""Restock recommendations against a real database, on SQLite and PostgreSQL: a SKU running
out gets one proposed purchase from the supplier with the cheapest expected outcome, with
the quantity worked out from its projection; re-planning unchanged keeps the row; supply
that fixes the shortage withdraws it; a location short of stock gets a transfer from one
that can spare it; a SKU whose suppliers have no cost gets none. Clock: Saturday 10
January 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from backorder.services.context import Backorder
from backorder.services.locations import LocationIn, add
from backorder.services.product_suppliers import SupplierTerms, add_terms, update_terms
from backorder.services.products import add_product
from backorder.services.replenishment import plan
from backorder.services.replenishment.views import Wanted, listing, one
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.store.tables import events, recommendations
from tests.conftest import Clock
from tests.factories import product
from tests.plan_helpers import store_forecast

SKU = "WIDGET-BLUE"


@pytest.fixture
def running_out(app: Backorder, clock: Clock) -> Backorder:
    """ACME (preferred: 5.00 a unit, 7 days, packs of 12) and FAST (6.50, 3 days, whose 3
    closed lines of the SKU each came 10 days late); 20 free; 12 a week forecast."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7))
    add_supplier(app, SupplierIn("FAST", "Fast Parts", 3))
    add_product(app, product(SKU, supplier="ACME"))
    update_terms(app, SKU, "ACME", {"cost": Decimal("5.00"), "pack": 12}, preferred=False)
    add_terms(app, SKU, SupplierTerms("FAST", Decimal("6.50"), 3), preferred=False)
    for n in range(3):
        clock.current = datetime(2025, 11, 1, 9, tzinfo=UTC) + timedelta(days=15 * n)
        expected = clock.current.date() + timedelta(days=3)
        add_purchase_order(app, f"H-{n}", "FAST", [PoLineIn(SKU, 5, expected)])
        clock.current += timedelta(days=13)  # 10 days late
        receive_stock(app, SKU, 5, ref=f"H-{n}")
    clock.current = datetime(2026, 1, 10, 9, tzinfo=UTC)
    receive_stock(app, SKU, 5)  # 20 on hand
    # 20 free, 12 a week (2/7 of it left this week): 16.6, 4.6, -7.4 in the week of 19 Jan;
    # the last day to order (7 days) is the 12th: due within the week's slack
    store_forecast(app, SKU, [12.0] * 12, spread=(12.0, 2.0))
    return app


def _planned_events(app: Backorder) -> list[dict]:
    with app.db.read() as uow:
        return [
            row.payload
            for row in uow.connection.execute(
                select(events.c.payload).where(events.c.type == "recommendations_planned")
            )
        ]


def test_a_sku_running_out_gets_one_proposed_purchase(running_out: Backorder) -> None:
    done = plan(running_out)
    assert (done["proposed"], done["superseded"], done["no_cost"]) == (1, 0, [])
    (rec,) = listing(running_out)["items"]
    # arrival in 7 days (17 Jan): projected 16.6 - 12 x 5/7 = 8 then; demand 17-30 Jan = 24;
    # 24 + safety stock 4 - 8 = 20, rounded up to packs of 12: 24 from ACME at 5.00
    assert (rec["key"], rec["kind"], rec["supplier"], rec["quantity"]) == (
        SKU,
        "purchase",
        "ACME",
        24,
    )
    assert (rec["unit_cost"], rec["currency"], rec["expected_cost"]) == ("5.00", "USD", "120.00")
    assert (rec["need_by"], rec["arrive_on"], rec["order_by"]) == (
        "2026-01-19",
        "2026-01-17",
        "2026-01-12",
    )
    assert rec["cause"] == "stockout" and rec["expected_short"] == 0
    need = rec["facts"]["need"]
    assert (need["units"], need["safety_stock"], need["level_at_arrival"]) == (20, 4, 8.0)
    fast = next(o for o in rec["facts"]["options"] if o["source"] == "FAST")
    # FAST's own 3 lines of the SKU, each 10 days late: by 23 Jan, 4 days after the need,
    # 4 x 12/7 = 6.857 units wait: 130.00 + 6.857 x 19.99 x 0.25 = 164.27
    assert rec["facts"]["suppliers"]["FAST"] == {
        "cost_assumed": False,
        "lateness_from": "sku",
        "lines": 3,
    }
    assert (fast["lateness_p90"], fast["arrive_on"], fast["expected_cost"]) == (
        10,
        "2026-01-23",
        "164.27",
    )
    assert rec["reasons"][0] == f"{SKU} is projected to run out in the week of 19 Jan."
    assert rec["reasons"][1].startswith("Order 24 from Acme Corp at $5.00 each ($120.00)")
    assert "FAST" not in rec["reasons"][2] and "Fast Parts" in rec["reasons"][2]
    assert _planned_events(running_out) == [
        {"type": "recommendations_planned", "proposed": 1, "superseded": 0, "keys": [SKU]}
    ]
    assert one(running_out, rec["id"]) == rec


def test_replanning_unchanged_keeps_the_row_and_a_fixed_shortage_withdraws_it(
    running_out: Backorder,
) -> None:
    plan(running_out)
    (first,) = listing(running_out)["items"]
    again = plan(running_out)
    assert (again["proposed"], again["unchanged"], again["superseded"]) == (0, 1, 0)
    assert [r["id"] for r in listing(running_out)["items"]] == [first["id"]]
    assert len(_planned_events(running_out)) == 1  # nothing changed: no event
    # 40 arriving on the 15th: no stockout, and the position (60) is above the reorder point
    add_purchase_order(running_out, "PO-1", "ACME", [PoLineIn(SKU, 40, date(2026, 1, 15))])
    fixed = plan(running_out)
    assert (fixed["proposed"], fixed["superseded"]) == (0, 1)
    assert listing(running_out)["items"] == []
    (gone,) = listing(running_out, Wanted("superseded"))["items"]
    assert gone["id"] == first["id"] and gone["note"] == "no order needed any more"


def test_a_changed_plan_supersedes_the_row_with_a_new_one(running_out: Backorder) -> None:
    plan(running_out)
    (first,) = listing(running_out)["items"]
    store_forecast(running_out, SKU, [30.0] * 12, spread=(30.0, 2.0))
    done = plan(running_out, [SKU])
    assert (done["proposed"], done["superseded"]) == (1, 1)
    (now,) = listing(running_out)["items"]
    assert now["id"] != first["id"] and now["quantity"] > first["quantity"]
    assert one(running_out, first["id"])["state"] == "superseded"


def test_no_recommendation_without_a_supplier_cost(app: Backorder) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7))
    add_product(app, product(SKU, supplier="ACME"))  # its terms row: cost unknown
    store_forecast(app, SKU, [12.0] * 12, spread=(12.0, 2.0))
    done = plan(app)
    assert (done["proposed"], done["no_cost"]) == (0, [SKU])


def test_a_short_location_gets_a_transfer_from_one_that_can_spare(app: Backorder) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7))
    add_product(app, product(SKU, supplier="ACME"))
    update_terms(app, SKU, "ACME", {"cost": Decimal("5.00")}, preferred=False)
    add(app, LocationIn("east", "East 3PL", "3pl"))
    set_stock(app, SKU, 100, location="east")
    set_stock(app, SKU, 2, location="main")
    store_forecast(app, SKU, [14.0] * 12, spread=(14.0, 2.0))  # the network: plenty
    store_forecast(app, SKU, [12.0] * 12, spread=(12.0, 2.0), location="main")
    store_forecast(app, SKU, [1.0] * 12, spread=(1.0, 1.0), location="east")
    done = plan(app)
    assert done["proposed"] == 1
    (rec,) = listing(app)["items"]
    assert (rec["key"], rec["kind"], rec["from_location"], rec["location"]) == (
        f"{SKU}@main",
        "transfer",
        "east",
        "main",
    )
    # east: 100 free - its safety stock - its demand over the transfer and the review
    assert 80 < rec["facts"]["can_spare"]["east"] < 100
    assert rec["reasons"][1].startswith(f"Transfer {rec['quantity']} from East 3PL")
    assert listing(app, Wanted(location="east"))["items"] == []
    assert listing(app, Wanted(skus=[SKU], location="main"))["items"][0]["id"] == rec["id"]


def test_a_row_a_slip_proposed_is_left_to_that_re_planning(running_out: Backorder) -> None:
    plan(running_out)
    (first,) = listing(running_out)["items"]
    with running_out.db.write() as uow:  # as the slip's re-planning would have written it
        uow.connection.execute(
            update(recommendations).where(recommendations.c.id == first["id"]).values(cause="slip")
        )
        uow.commit()
    store_forecast(running_out, SKU, [30.0] * 12, spread=(30.0, 2.0))  # another decision
    assert plan(running_out)["proposed"] == 0
    store_forecast(running_out, SKU, [0.0] * 12, spread=(0.0, 0.0))  # no need at all
    assert plan(running_out)["superseded"] == 0
    (kept,) = listing(running_out)["items"]
    assert (kept["id"], kept["cause"], kept["quantity"]) == (first["id"], "slip", 24)
