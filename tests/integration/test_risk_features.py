"""The backorder-risk features of our SKUs, computed from a fixture database, equal the
values worked out by hand from its history (SQLite and PostgreSQL); and the same history
replayed to a past date for retraining on our own outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert

from backorder.services import transfers
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.products import add_product
from backorder.services.risk_features import (
    HORIZON,
    _on_hand_at,
    _skus,
    _supply_at,
    _waiting_at,
    current,
)
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.store.tables import forecast_periods, forecasts, products
from tests.conftest import Clock
from tests.factories import order, product

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def on(days: int) -> date:
    return (NOW + timedelta(days=days)).date()


@pytest.fixture
def history(app: Backorder, clock: Clock) -> Backorder:
    """A's 300 days: 20 on hand, five orders (17, 13, 11, 7, 5 units, 300/250/150/60/20
        days ago), two purchase orders received (one late, one on time), two open (one past
        due). B: 4 on hand, discontinued, no supplier, 21 days' lead time; 3 of its units shipped
    to another location and not there yet, 1 more planned to go."""
    clock.current = ago(300)
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 14, "buy@acme.example"))
    add_product(app, product("A", supplier="ACME"))
    add_product(app, product("B", lead_time_days=21, discontinued=True))
    set_stock(app, "A", 20)
    set_stock(app, "B", 4)
    place_order(app, order("1", ("A", 17), placed_at=ago(300)))  # 17 allocated
    clock.current = ago(260)
    add_purchase_order(app, "PO-4", "ACME", [PoLineIn("A", 5, on(-255))])
    clock.current = ago(250)
    place_order(app, order("2", ("A", 13), placed_at=ago(250)))  # 3 allocated, 10 wait
    clock.current = ago(240)
    receive_stock(app, "A", 5, ref="PO-4")  # 15 days late; 5 of order 2 served
    clock.current = ago(150)
    place_order(app, order("3", ("A", 11), placed_at=ago(150)))  # 11 wait
    clock.current = ago(110)
    add_purchase_order(app, "PO-3", "ACME", [PoLineIn("A", 5, on(-100))])
    clock.current = ago(100)
    receive_stock(app, "A", 5, ref="PO-3")  # on time; the rest of order 2 served
    clock.current = ago(60)
    place_order(app, order("4", ("A", 7), placed_at=ago(60)))
    clock.current = ago(30)
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("A", 40, on(-5))])
    clock.current = ago(20)
    place_order(app, order("5", ("A", 5), placed_at=ago(20)))
    clock.current = ago(3)
    add_purchase_order(app, "PO-2", "ACME", [PoLineIn("A", 10, on(10))])
    add(app, LocationIn("east", "East 3PL", "3pl"))  # 3 of B on their way there
    moving = transfers.create(app, transfers.TransferIn("B", 3, "main", "east", on(2)))
    transfers.ship(app, moving["id"])
    transfers.create(app, transfers.TransferIn("B", 1, "main", "east", on(9)))  # planned
    clock.current = NOW
    with app.db.write() as uow:  # a stored forecast: 10 weeks of 1, 2, ... 10 units
        conn = uow.connection
        product_id = conn.execute(products.select().where(products.c.sku == "A")).first()
        assert product_id is not None
        forecast_id = conn.execute(
            insert(forecasts).returning(forecasts.c.id),
            {
                "product_id": product_id.id,
                "computed_at": NOW,
                "first_period": date(2026, 10, 5),
                "method": "ets",
                "demand_class": "smooth",
                "history_periods": 40,
                "mean_demand": 5.5,
                "error_sd": 1.0,
                "safety_stock": 9,
                "inputs": {},
            },
        ).scalar_one()
        conn.execute(
            insert(forecast_periods),
            [
                {
                    "forecast_id": forecast_id,
                    "period_start": date(2026, 10, 5) + timedelta(weeks=k),
                    "point": float(k + 1),
                    "lo80": 0.0,
                    "hi80": 20.0,
                    "lo95": 0.0,
                    "hi95": 30.0,
                }
                for k in range(10)
            ],
        )
        uow.commit()
    return app


UNKNOWN = dict.fromkeys(
    ("potential_issue", "deck_risk", "oe_constraint", "ppap_risk", "stop_auto_buy")
)


def test_features_of_our_skus_equal_the_hand_computed_values(history: Backorder) -> None:
    with history.db.read() as uow:
        found = current(uow.connection, NOW)
    assert found["A"] == {
        "national_inv": 30.0,  # 20 counted + 5 (PO-4) + 5 (PO-3), nothing shipped
        "lead_time": 2.0,  # the supplier's 14 days, in weeks
        "in_transit_qty": 50.0,  # PO-1 and PO-2
        "forecast_3_month": 85.0,  # 1 + ... + 10, then 3 more weeks of 10
        "forecast_6_month": 215.0,  # 55 + 16 x 10
        "forecast_9_month": 345.0,  # 55 + 29 x 10
        "sales_1_month": 5.0,  # order 5
        "sales_3_month": 12.0,  # orders 4 and 5
        "sales_6_month": 23.0,  # and order 3
        "sales_9_month": 36.0,  # and order 2; order 1 is 300 days old
        "min_bank": 9.0,
        "pieces_past_due": 40.0,  # PO-1, expected 5 days ago
        "perf_6_month_avg": 1.0,  # PO-3 on time
        "perf_12_month_avg": 0.5,  # PO-3 on time, PO-4 late
        "local_bo_qty": 23.0,  # orders 3, 4 and 5 wait whole
        "rev_stop": 0.0,
        **UNKNOWN,
    }
    assert found["B"] == {
        "national_inv": 1.0,  # 3 left main, and the network, until they arrive
        "lead_time": 3.0,
        "in_transit_qty": 3.0,  # the shipped transfer; the planned one has not left
        "forecast_3_month": 0.0,
        "forecast_6_month": 0.0,
        "forecast_9_month": 0.0,
        "sales_1_month": 0.0,
        "sales_3_month": 0.0,
        "sales_6_month": 0.0,
        "sales_9_month": 0.0,
        "min_bank": 0.0,
        "pieces_past_due": 0.0,
        "perf_6_month_avg": -99.0,  # no supplier: unknown
        "perf_12_month_avg": -99.0,
        "local_bo_qty": 0.0,
        "rev_stop": 1.0,  # discontinued
        **UNKNOWN,
    }


def test_the_history_replayed_to_a_past_date(history: Backorder) -> None:
    at = ago(200)
    with history.db.read() as uow:
        conn = uow.connection
        skus = _skus(conn)
        ids = {s.sku: s.id for s in skus}
        on_hand = _on_hand_at(conn, skus, at)
        supply = _supply_at(conn, at)
        waiting = _waiting_at(conn, at, at + HORIZON)
        earlier = _waiting_at(conn, ago(290), ago(290) + HORIZON)
    assert on_hand == {ids["A"]: 25, ids["B"]: 4}  # before PO-3's 5 came, before B's 3 left
    assert supply.get(ids["A"]) is None  # PO-4 received, PO-3 not ordered yet
    # order 2 waited then (counted whole), and order 3 went on backorder 50 days later
    assert waiting[ids["A"]] == (13.0, True)
    # 290 days ago nothing waited, and order 2 (40 days later) is within 8 weeks
    assert earlier[ids["A"]] == (0.0, True)
    with history.db.read() as uow:
        conn = uow.connection
        late = _supply_at(conn, ago(250))  # PO-4 open, 5 days past its date
    assert late[ids["A"]] == (5.0, 5.0)
