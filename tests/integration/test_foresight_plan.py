"""The plan against a real database, on SQLite and PostgreSQL: lead times measured on the
SKU's own purchase orders, safety stock written on the forecast with its inputs, the
projected stockout raised once as an alert and resolved when a purchase order arrives in
time, ABC service levels, the coming shortages and one SKU's projection."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownSku
from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.foresight_plan import abc_classes, due, refresh
from backorder.services.intake import place_order
from backorder.services.lead_times import lead_times
from backorder.services.locations import LocationIn, add
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.shortages import projection, shortages
from backorder.services.stock import receive_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.store.tables import forecasts, products
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.mail import Inbox
from tests.plan_helpers import store_forecast

SKU = "WIDGET-BLUE"


@pytest.fixture
def stocked(app: Backorder) -> Backorder:
    """ACME supplies the SKU in 7 days; 20 on hand (clock: Saturday 10 January 2026)."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7, "buy@acme.example"))
    add_product(app, product(SKU, supplier="ACME"))
    receive_stock(app, SKU, 20)
    return app


def _row(app: Backorder) -> dict:
    with app.db.read() as uow:
        return dict(
            uow.connection.execute(select(forecasts).join(products).where(products.c.sku == SKU))
            .mappings()
            .one()
        )


def test_lead_times_come_from_received_purchase_orders_once_there_are_three(
    app: Backorder, clock: Clock
) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20, "buy@acme.example"))
    add_product(app, product(SKU, supplier="ACME"))
    with app.db.read() as uow:
        product_id = uow.connection.execute(select(products.c.id)).scalar_one()
    for n, days in enumerate((10, 12, 14), start=1):
        add_purchase_order(app, f"PO-{n}", "ACME", [PoLineIn(SKU, 5, date(2026, 3, 1))])
        clock.advance(days=days)
        receive_stock(app, SKU, 5, ref=f"PO-{n}")
        if n == 2:  # two lines: not enough yet, the supplier's 20 days with no spread
            with app.db.read() as uow:
                lead = lead_times(uow.connection, [product_id], clock())[product_id]
            assert (lead.source, lead.days, lead.sd_days, lead.lines) == ("supplier", 20, 0, 2)
    # an open line and a line still in part open do not count
    add_purchase_order(app, "PO-4", "ACME", [PoLineIn(SKU, 5, date(2026, 3, 1))])
    clock.advance(days=40)
    receive_stock(app, SKU, 2, ref="PO-4")
    with app.db.read() as uow:
        lead = lead_times(uow.connection, [product_id], clock())[product_id]
    assert (lead.source, lead.lines) == ("history", 3)
    assert lead.days == pytest.approx(12, abs=1e-6)
    assert lead.sd_days == pytest.approx(2, abs=1e-6)  # sample standard deviation of 10, 12, 14


def test_refresh_writes_safety_stock_and_its_inputs_on_the_forecast(stocked: Backorder) -> None:
    store_forecast(stocked, SKU, [1.0] * 12, spread=(4.0, 2.0))  # 20 free: never short
    assert due(stocked, every=timedelta(hours=1))
    counts = refresh(stocked)
    assert counts["planned"] == 1
    row = _row(stocked)
    # the only SKU: class A, 95 %; L = 1 week, sigma_d = 2: 1.645 * 2 = 3.29 -> 4; ROP 4 + 4
    assert (row["service_level"], row["safety_stock"], row["reorder_point"]) == (0.95, 4, 8)
    assert row["inputs"]["from"] == "test"  # what the forecaster kept there stays
    inputs = row["inputs"]["safety_stock"]
    assert inputs["lead_time_source"] == "supplier" and inputs["lead_time_days"] == 7
    assert inputs["method"] == "normal" and inputs["abc_class"] == "A"
    assert row["stockout_week"] is None and row["planned_at"] is not None


def test_a_projected_stockout_is_alerted_once_and_resolved_when_supply_arrives_in_time(
    stocked: Backorder, clock: Clock
) -> None:
    # 20 free, 8 a week (2/7 of it left in the clock's week, Saturday to Sunday): 17.7,
    # 9.7, 1.7, -6.3 in the week of 26 January; order by the 19th (7 days)
    store_forecast(stocked, SKU, [8.0] * 12, spread=(8.0, 2.0))
    first = refresh(stocked)
    assert (first["stockouts_projected"], first["alerts_raised"]) == (1, 1)
    (alert,) = alert_list(stocked)
    assert alert["kind"] == "stockout_projected" and alert["audience"] == ["procurement"]
    assert alert["sku"] == SKU
    assert {k: alert["facts"][k] for k in ("week", "units_short", "order_by", "late")} == {
        "week": "2026-01-26",
        "units_short": 7,
        "order_by": "2026-01-19",
        "late": False,
    }
    assert alert["summary"] == (
        f"{SKU} is projected to run out in the week of 2026-01-26: 7 units short; "
        "order by 2026-01-19"
    )
    again = refresh(stocked)
    assert (again["alerts_raised"], len(alert_list(stocked))) == (0, 1)  # raised once
    listed = shortages(stocked)["shortages"]
    assert [(s["sku"], s["week"], s["units_short"], s["order_by"]) for s in listed] == [
        (SKU, "2026-01-26", 7, "2026-01-19")
    ]
    # 60 more expected on the 15th: 12, 64, 56, ... 0 in week 10, short only in week 11
    add_purchase_order(stocked, "PO-1", "ACME", [PoLineIn(SKU, 60, date(2026, 1, 15))])
    cleared = refresh(stocked)
    assert cleared["alerts_resolved"] == 1 and alert_list(stocked) == []
    (resolved,) = alert_list(stocked, state="resolved")
    assert "projection clear" in resolved["resolution"]
    assert shortages(stocked)["shortages"] == []
    assert [s["sku"] for s in shortages(stocked, weeks=12)["shortages"]] == [SKU]


def test_waiting_backorders_count_against_the_projection(stocked: Backorder) -> None:
    place_order(stocked, order("1", (SKU, 26), placed_at=jan(2)))  # 20 allocated, 6 wait
    store_forecast(stocked, SKU, [0.0] * 4, spread=(0.0, 0.0))
    found = projection(stocked, SKU)
    assert found["stock"] == {"on_hand": 20, "allocated": 20, "waiting": 6, "start": -6}
    assert found["stockout"]["week"] == "2026-01-05" and found["stockout"]["units_short"] == 6
    assert found["stockout"]["late"] is True  # 5 January minus 7 days is past
    # demand of the last 26 whole weeks: the order counts in full (what waits included)
    assert found["history"][-1] == {"week": "2025-12-29", "units": 26}
    assert len(found["history"]) == 26 and sum(w["units"] for w in found["history"]) == 26


def test_service_levels_follow_the_abc_class_by_value_of_demand(stocked: Backorder) -> None:
    for sku in ("B-SKU", "C-SKU"):
        add_product(stocked, product(sku, supplier="ACME"))
    store_forecast(stocked, SKU, [85.0] * 4, spread=(85.0, 10.0))
    store_forecast(stocked, "B-SKU", [10.0] * 4, spread=(10.0, 10.0))
    store_forecast(stocked, "C-SKU", [5.0] * 4, spread=(5.0, 10.0))
    with stocked.db.read() as uow:
        classes = abc_classes(uow.connection)
        by_sku = dict(uow.connection.execute(select(products.c.sku, products.c.id)).all())
    assert {sku: classes[by_sku[sku]] for sku in by_sku} == {SKU: "A", "B-SKU": "B", "C-SKU": "C"}
    stocked.settings = stocked.settings.model_copy(
        update={"service_levels": {"A": 0.98, "C": 0.9}, "service_level": 0.95}
    )
    refresh(stocked)
    levels = {
        p["sku"]: p["safety_stock"]["service_level"]
        for p in (projection(stocked, s) for s in ("B-SKU", "C-SKU", SKU))
    }
    assert levels == {SKU: 0.98, "B-SKU": 0.95, "C-SKU": 0.9}


def test_reading_refuses_unknown_skus_and_weeks_out_of_range(stocked: Backorder) -> None:
    with pytest.raises(UnknownSku):
        projection(stocked, "NOPE")
    with pytest.raises(InvalidRequest, match="weeks"):
        shortages(stocked, weeks=0)
    found = projection(stocked, SKU)  # no forecast yet: the stock only
    assert found["forecast"] is None and found["weeks"] == [] and found["stock"]["start"] == 20


def test_an_alert_is_resolved_when_its_forecast_is_gone(stocked: Backorder) -> None:
    store_forecast(stocked, SKU, [30.0] * 4, spread=(30.0, 2.0))
    refresh(stocked)
    assert len(alert_list(stocked)) == 1
    with stocked.db.write() as uow:
        uow.connection.execute(forecasts.delete())
        uow.commit()
    assert refresh(stocked)["alerts_resolved"] == 1
    assert alert_list(stocked) == []


def test_a_location_projection_counts_the_stock_and_supply_there_only(stocked: Backorder) -> None:
    add(stocked, LocationIn("east", "East", "3pl", ("US",), priority=1))
    receive_stock(stocked, SKU, 6, location="east")
    add_purchase_order(stocked, "PO-M", "ACME", [PoLineIn(SKU, 50, date(2026, 1, 6))])
    add_purchase_order(
        stocked, "PO-E", "ACME", [PoLineIn(SKU, 3, date(2026, 1, 14))], location="east"
    )
    store_forecast(stocked, SKU, [4.0] * 4, spread=(4.0, 1.0), location="east")
    found = projection(stocked, SKU, location="east")
    # 6 free at east, 4 a week, 3 arriving there on the 14th: 2, 1, -3
    assert found["stock"]["start"] == 6
    # 4 a week, of which 2/7 are left in the clock's week
    assert [w["available"] for w in found["weeks"][:3]] == [4.857, 3.857, -0.143]
    assert found["stockout"]["week"] == "2026-01-19"
    counts = refresh(stocked)
    assert counts["planned"] == 1 and counts["alerts_raised"] == 0  # alerts: the network's
    with pytest.raises(UnknownLocation):
        projection(stocked, SKU, location="nowhere")


def test_procurement_hears_of_a_projected_stockout_by_email_once(
    stocked: Backorder, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    stocked.settings = stocked.settings.model_copy(
        update={
            "smtp_url": f"smtp://127.0.0.1:{port}",
            "mail_from": "Shop <orders@shop.example>",
            "procurement_email": ["buyers@shop.example"],
        }
    )
    plan(stocked)
    send_due(stocked)  # what the stock receipt said is gone
    box.messages.clear()
    store_forecast(stocked, SKU, [8.0] * 12, spread=(8.0, 2.0))
    refresh(stocked)
    plan(stocked)
    send_due(stocked)
    refresh(stocked)  # still projected: nothing new
    plan(stocked)
    send_due(stocked)
    assert [(m["To"], m["Subject"]) for m in box.messages] == [
        (
            "buyers@shop.example",
            f"Alert: {SKU} is projected to run out in the week of 2026-01-26: 7 units short; "
            "order by 2026-01-19",
        )
    ]
