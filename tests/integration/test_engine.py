"""The use cases against a real database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.domain.errors import (
    ImpossibleCancel,
    InvalidRequest,
    NotReadyToShip,
    UnknownOrder,
    UnknownSku,
)
from backorder.domain.model import OrderTerms, Preference, QueueStrategy, Tier
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, expedite_order, ship_order
from backorder.services.products import add_product, rerank_queues, update_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.views import order_view, queue_view, stock_view
from backorder.store.tables import events, orders
from tests.conftest import Clock
from tests.factories import expedited, jan, order, product


def lines_of(app: Backorder, ref: str) -> list[tuple[int, int, int, int]]:
    return [
        (x["allocated"], x["backordered"], x["shipped"], x["cancelled"])
        for x in order_view(app, ref)["lines"]
    ]


def event_types(app: Backorder) -> list[str]:
    with app.db.read() as uow:
        return list(uow.connection.execute(select(events.c.type).order_by(events.c.id)).scalars())


def payloads(app: Backorder, kind: str) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        return list(
            uow.connection.execute(
                select(events.c.payload).where(events.c.type == kind).order_by(events.c.id)
            ).scalars()
        )


def test_seed_example_receipt_fills_100_and_101_and_half_of_102(app: Backorder) -> None:
    add_product(app, product("WIDGET-BLUE"))
    for number, day in (("100", 5), ("101", 6), ("102", 8)):
        place_order(app, order(number, ("WIDGET-BLUE", 20), placed_at=jan(day)))
    change = receive_stock(app, "WIDGET-BLUE", 50, ref="PO-1")
    assert lines_of(app, "web:100") == [(20, 0, 0, 0)]
    assert lines_of(app, "web:101") == [(20, 0, 0, 0)]
    assert lines_of(app, "web:102") == [(10, 10, 0, 0)]
    assert (change.lines_served, change.units_allocated) == (3, 50)
    assert stock_view(app, "WIDGET-BLUE") == {
        "sku": "WIDGET-BLUE",
        "on_hand": 50,
        "allocated": 50,
        "available": 0,
        "backordered": 10,
    }


def test_intake_of_a_known_ref_returns_it_and_changes_nothing(app: Backorder) -> None:
    add_product(
        app,
        product(),
    )
    set_stock(app, "WIDGET-BLUE", 3)
    first = place_order(app, order("1", ("WIDGET-BLUE", 2)))
    before = event_types(app)
    again = place_order(app, order("1", ("WIDGET-BLUE", 2)))
    assert (first.created, again.created) == (True, False)
    assert event_types(app) == before
    assert stock_view(app, "WIDGET-BLUE")["allocated"] == 2
    with app.db.read() as uow:
        assert uow.connection.execute(select(func.count()).select_from(orders)).scalar_one() == 1


def test_unknown_sku_refuses_the_whole_order(app: Backorder) -> None:
    add_product(app, product())
    with pytest.raises(UnknownSku):
        place_order(app, order("1", ("WIDGET-BLUE", 1), ("NOPE", 1)))
    assert event_types(app) == ["product_added"]


def test_vip_lines_are_filled_before_older_standard_lines(app: Backorder) -> None:
    add_product(app, product(queue=QueueStrategy.PRIORITY))
    place_order(app, order("old", ("WIDGET-BLUE", 5), placed_at=jan(5)))
    place_order(app, order("vip", ("WIDGET-BLUE", 5), placed_at=jan(8), tier=Tier.VIP))
    place_order(app, order("fast", ("WIDGET-BLUE", 5), placed_at=jan(9), terms=expedited()))
    entries = queue_view(app, "WIDGET-BLUE")["entries"]
    assert [e["ref"] for e in entries] == ["web:vip", "web:fast", "web:old"]
    receive_stock(app, "WIDGET-BLUE", 7)
    assert lines_of(app, "web:vip") == [(5, 0, 0, 0)]
    assert lines_of(app, "web:fast") == [(2, 3, 0, 0)]
    why = order_view(app, "web:vip")["lines"][0]["allocations"][0]
    assert (why["position"], why["rule"]) == (1, "customer tier vip")


def test_a_long_wait_lets_a_standard_line_climb_past_newer_expedited_ones(
    app: Backorder, clock: Clock
) -> None:
    add_product(app, product(queue=QueueStrategy.PRIORITY))
    clock.current = jan(1)
    place_order(app, order("patient", ("WIDGET-BLUE", 1), placed_at=jan(1)))
    clock.advance(days=29)  # 14-day periods: two climbs, from "everyone else" (4) to 2
    place_order(app, order("wholesale", ("WIDGET-BLUE", 1), placed_at=clock(), tier=Tier.WHOLESALE))
    place_order(app, order("fast", ("WIDGET-BLUE", 1), placed_at=clock(), terms=expedited()))
    entries = queue_view(app, "WIDGET-BLUE")["entries"]
    assert [e["ref"] for e in entries] == ["web:patient", "web:fast", "web:wholesale"]
    assert "entered as 'everyone else" in entries[0]["rule"]
    receive_stock(app, "WIDGET-BLUE", 1)
    assert lines_of(app, "web:patient") == [(1, 0, 0, 0)]


def test_expedite_flag_moves_an_order_to_the_head(app: Backorder) -> None:
    add_product(app, product(queue=QueueStrategy.PRIORITY))
    place_order(app, order("a", ("WIDGET-BLUE", 1), placed_at=jan(5), tier=Tier.VIP))
    place_order(app, order("b", ("WIDGET-BLUE", 1), placed_at=jan(6)))
    assert expedite_order(app, "web:b") == 1
    assert queue_view(app, "WIDGET-BLUE")["entries"][0]["ref"] == "web:b"


def test_changing_the_strategy_reranks_the_queue(app: Backorder) -> None:
    add_product(app, product())
    place_order(app, order("a", ("WIDGET-BLUE", 1), placed_at=jan(5)))
    place_order(app, order("b", ("WIDGET-BLUE", 1), placed_at=jan(6), tier=Tier.VIP))
    assert [e["ref"] for e in queue_view(app, "WIDGET-BLUE")["entries"]] == ["web:a", "web:b"]
    update_product(app, "WIDGET-BLUE", {"queue": QueueStrategy.PRIORITY})
    assert [e["ref"] for e in queue_view(app, "WIDGET-BLUE")["entries"]] == ["web:b", "web:a"]


def test_per_customer_cap_spans_orders(app: Backorder) -> None:
    add_product(app, product(max_per_customer=5))
    place_order(app, order("1", ("WIDGET-BLUE", 3), customer="ada"))
    place_order(app, order("2", ("WIDGET-BLUE", 4), customer="ada"))
    place_order(app, order("3", ("WIDGET-BLUE", 4), customer="bob"))
    assert lines_of(app, "web:2") == [(0, 2, 0, 2)]
    assert lines_of(app, "web:3") == [(0, 4, 0, 0)]
    cancelled = payloads(app, "units_cancelled")
    assert [(p["order_ref"], p["units"], p["reason"]) for p in cancelled] == [
        ("web:2", 2, "over_customer_limit")
    ]


def test_cancelling_allocated_units_hands_them_to_the_queue_at_once(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 5)
    place_order(app, order("first", ("WIDGET-BLUE", 5), placed_at=jan(5)))
    place_order(app, order("second", ("WIDGET-BLUE", 3), placed_at=jan(6)))
    result = cancel_order(app, "web:first", line_no=1, units=4, reason="changed mind")
    assert (result.units, result.released, result.reallocated) == (4, 4, 3)
    assert lines_of(app, "web:first") == [(1, 0, 0, 4)]
    assert lines_of(app, "web:second") == [(3, 0, 0, 0)]
    assert stock_view(app, "WIDGET-BLUE")["available"] == 1
    allocation = payloads(app, "units_allocated")[-1]
    assert (allocation["order_ref"], allocation["source"], allocation["ref"]) == (
        "web:second",
        "release",
        "web:first",
    )


def test_cancel_a_whole_order_then_nothing_is_left(app: Backorder) -> None:
    add_product(app, product())
    add_product(app, product("GADGET"))
    set_stock(app, "GADGET", 1)
    place_order(app, order("1", ("WIDGET-BLUE", 2), ("GADGET", 2)))
    assert cancel_order(app, "web:1").units == 4
    assert order_view(app, "web:1")["status"] == "cancelled"
    with pytest.raises(ImpossibleCancel):
        cancel_order(app, "web:1")
    assert stock_view(app, "GADGET")["available"] == 1


def test_a_cancel_asking_too_much_changes_nothing(app: Backorder) -> None:
    add_product(app, product())
    place_order(app, order("1", ("WIDGET-BLUE", 2)))
    before = event_types(app)
    with pytest.raises(ImpossibleCancel):
        cancel_order(app, "web:1", line_no=1, units=3)
    with pytest.raises(InvalidRequest):
        cancel_order(app, "web:1", line_no=2)
    with pytest.raises(UnknownOrder):
        cancel_order(app, "web:2")
    assert event_types(app) == before
    assert lines_of(app, "web:1") == [(0, 2, 0, 0)]


def test_stock_counted_below_allocated_takes_back_the_lowest_ranked(app: Backorder) -> None:
    add_product(app, product(queue=QueueStrategy.PRIORITY))
    set_stock(app, "WIDGET-BLUE", 6)
    place_order(app, order("std", ("WIDGET-BLUE", 3), placed_at=jan(5)))
    place_order(app, order("vip", ("WIDGET-BLUE", 3), placed_at=jan(6), tier=Tier.VIP))
    change = set_stock(app, "WIDGET-BLUE", 4)
    assert change.units_taken_back == 2
    assert lines_of(app, "web:std") == [(1, 2, 0, 0)]
    assert lines_of(app, "web:vip") == [(3, 0, 0, 0)]
    taken = payloads(app, "allocation_taken_back")
    assert [(p["order_ref"], p["units"]) for p in taken] == [("web:std", 2)]
    set_stock(app, "WIDGET-BLUE", 10)
    assert lines_of(app, "web:std") == [(3, 0, 0, 0)]


def test_ship_available_ships_what_is_allocated(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 2)
    place_order(app, order("1", ("WIDGET-BLUE", 5)))
    shipped = ship_order(app, "web:1", tracking="1Z999")
    assert (shipped.units, shipped.complete) == (2, False)
    assert lines_of(app, "web:1") == [(0, 3, 2, 0)]
    assert stock_view(app, "WIDGET-BLUE")["on_hand"] == 0
    assert payloads(app, "units_shipped")[0]["tracking"] == "1Z999"
    with pytest.raises(NotReadyToShip):
        ship_order(app, "web:1")


def test_ship_complete_waits_for_every_unit(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 2)
    terms = OrderTerms(preference=Preference.SHIP_COMPLETE)
    place_order(app, order("1", ("WIDGET-BLUE", 5), terms=terms))
    with pytest.raises(NotReadyToShip):
        ship_order(app, "web:1")
    receive_stock(app, "WIDGET-BLUE", 3)
    assert ship_order(app, "web:1").complete
    assert order_view(app, "web:1")["status"] == "shipped"


def test_events_carry_customer_money_and_eta(app: Backorder) -> None:
    add_product(app, product(lead_time_days=10))
    place_order(app, order("1", ("WIDGET-BLUE", 2)))
    accepted = payloads(app, "order_accepted")[0]
    assert accepted["customer"]["email"] == "1@example.com"
    assert accepted["backordered_value"] == "39.98"
    waiting = payloads(app, "line_backordered")[0]
    assert (waiting["sku"], waiting["backordered"], waiting["eta"]) == (
        "WIDGET-BLUE",
        2,
        "2026-01-20",
    )
    assert waiting["payment_timing"] == "at_order"
    assert order_view(app, "web:1")["lines"][0]["eta"] == "2026-01-20"


def test_catalogue_changes_are_events_with_old_and_new_values(app: Backorder) -> None:
    add_product(app, product(max_per_customer=3))
    update_product(app, "WIDGET-BLUE", {"max_per_customer": None, "lead_time_days": 5})
    update_product(app, "WIDGET-BLUE", {"lead_time_days": 5})  # no change, no event
    assert event_types(app) == ["product_added", "product_changed"]
    assert payloads(app, "product_changed")[0]["changes"] == {
        "lead_time_days": {"from": None, "to": 5},
        "max_per_customer": {"from": 3, "to": None},
    }


def test_out_of_stock_event_when_available_reaches_zero(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 2)
    place_order(app, order("1", ("WIDGET-BLUE", 2)))
    assert payloads(app, "sku_out_of_stock")[0]["sku"] == "WIDGET-BLUE"


def test_rerank_applies_new_rule_order_to_existing_queues(app: Backorder) -> None:
    add_product(app, product(queue=QueueStrategy.PRIORITY))
    place_order(app, order("vip", ("WIDGET-BLUE", 1), placed_at=jan(5), tier=Tier.VIP))
    place_order(app, order("trade", ("WIDGET-BLUE", 1), placed_at=jan(6), tier=Tier.WHOLESALE))
    assert queue_view(app, "WIDGET-BLUE")["entries"][0]["ref"] == "web:vip"
    rules = app.settings.model_copy(update={"priority_rules": ["tier:wholesale"]})
    restarted = Backorder(app.db, rules, app.clock)
    assert rerank_queues(restarted) == {"WIDGET-BLUE": 2}
    entries = queue_view(restarted, "WIDGET-BLUE")["entries"]
    assert [(e["ref"], e["rule"]) for e in entries] == [
        ("web:trade", "customer tier wholesale"),
        ("web:vip", "everyone else, by order time"),
    ]
