"""Inbound supply and expected dates against a real database, on SQLite and PostgreSQL:
the walk over several purchase orders, priorities and cancellations reshuffling the queue,
receipts counted against purchase orders, the on-time record, the acceptance policy,
available-to-promise and the customer told of a new date."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.errors import AlreadyExists, InvalidRequest
from backorder.domain.model import QueueStrategy, Tier
from backorder.services import schedule
from backorder.services.atp import atp
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order
from backorder.services.product_suppliers import update_terms
from backorder.services.products import add_product, update_product
from backorder.services.stock import receive_stock
from backorder.services.supply import (
    PoLineIn,
    SupplierIn,
    add_purchase_order,
    add_supplier,
    cancel_purchase_order,
    get_purchase_order,
    get_supplier,
    redate_purchase_order,
    reduce_purchase_order,
    update_supplier,
)
from backorder.services.views import order_view, queue_view
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.integration.test_engine import payloads

SKU = "WIDGET-BLUE"


def day(n: int) -> date:
    return date(2026, 1, n)


def dates(app: Backorder) -> dict[str, tuple[str | None, str | None]]:
    """(eta, promised) of each waiting line, by order."""
    return {
        entry["ref"]: (entry["eta"], entry["promised"]) for entry in queue_view(app, SKU)["entries"]
    }


def po(app: Backorder, ref: str, *lines: tuple[int, int]) -> None:
    """A purchase order from ACME for SKU: (units, day of January) per line."""
    add_purchase_order(app, ref, "ACME", [PoLineIn(SKU, units, day(d)) for units, d in lines])


@pytest.fixture
def stocked(app: Backorder) -> Backorder:
    """ACME supplies the SKU in 20 days; five orders of 4 units wait (clock: 10 January)."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20, "buy@acme.example"))
    add_product(app, product(SKU, supplier="ACME"))
    for n in range(1, 6):
        place_order(app, order(f"{n}", (SKU, 4), placed_at=jan(n)))
    return app


def test_lines_beyond_supply_get_the_supplier_lead_time_and_keep_it_as_promised(
    stocked: Backorder,
) -> None:
    assert set(dates(stocked).values()) == {("2026-01-30", "2026-01-30")}
    assert get_supplier(stocked, "ACME")["skus"] == [SKU]


def test_the_walk_over_several_purchase_orders(stocked: Backorder) -> None:
    po(stocked, "PO-1", (6, 15))
    po(stocked, "PO-2", (6, 20))
    assert dates(stocked) == {
        "web:1": ("2026-01-15", "2026-01-30"),  # units 1-4 of PO-1
        "web:2": ("2026-01-20", "2026-01-30"),  # units 5-8: its last unit comes with PO-2
        "web:3": ("2026-01-20", "2026-01-30"),  # units 9-12: the last of PO-2
        "web:4": ("2026-01-30", "2026-01-30"),  # beyond supply: lead time
        "web:5": ("2026-01-30", "2026-01-30"),
    }
    # the customers told 30 January hear of the earlier date; those still on it do not
    changed = payloads(stocked, "eta_changed")
    assert [(p["order_ref"], p["previous"], p["eta"], p["days"]) for p in changed] == [
        ("web:1", "2026-01-30", "2026-01-15", -15),
        ("web:2", "2026-01-30", "2026-01-20", -10),
        ("web:3", "2026-01-30", "2026-01-20", -10),
    ]
    assert changed[0]["promised"] == "2026-01-30"
    assert changed[0]["customer"]["email"] == "1@example.com"


def test_the_walk_reads_the_covered_head_page_by_page(
    stocked: Backorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule, "PAGE", 2)  # five waiting lines: three pages
    po(stocked, "PO-1", (6, 15))
    po(stocked, "PO-2", (7, 20))
    assert dates(stocked) == {
        "web:1": ("2026-01-15", "2026-01-30"),
        "web:2": ("2026-01-20", "2026-01-30"),
        "web:3": ("2026-01-20", "2026-01-30"),
        "web:4": ("2026-01-30", "2026-01-30"),  # 1 unit of 4 covered: beyond supply
        "web:5": ("2026-01-30", "2026-01-30"),
    }
    po(stocked, "PO-3", (7, 25))  # 20 units for 20 waiting: web:4 and web:5, on page three
    assert [dates(stocked)[f"web:{n}"][0] for n in (4, 5)] == ["2026-01-25", "2026-01-25"]


def test_a_priority_customer_joining_ahead_moves_the_others_back(app: Backorder) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_product(app, product(SKU, supplier="ACME", queue=QueueStrategy.PRIORITY))
    po(app, "PO-1", (8, 15))
    for n in (1, 2):
        place_order(app, order(f"{n}", (SKU, 4), placed_at=jan(n)))
    assert dates(app) == {
        "web:1": ("2026-01-15", "2026-01-15"),
        "web:2": ("2026-01-15", "2026-01-15"),
    }
    place_order(app, order("vip", (SKU, 4), placed_at=jan(9), tier=Tier.VIP))
    assert dates(app) == {
        "web:vip": ("2026-01-15", "2026-01-15"),  # dated exactly at intake: ahead of both
        "web:1": ("2026-01-15", "2026-01-15"),
        "web:2": ("2026-01-30", "2026-01-15"),  # pushed beyond supply; promised stays
    }
    (moved,) = payloads(app, "eta_changed")
    assert (moved["order_ref"], moved["previous"], moved["eta"]) == (
        "web:2",
        "2026-01-15",
        "2026-01-30",
    )


def test_a_priority_order_of_two_skus_joins_ahead_in_both_queues(app: Backorder) -> None:
    """The units behind a new line are looked up for every SKU of the order at once: each
    SKU's own queue, at each SKU's own class (a first-come SKU keeps its order)."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_product(app, product(SKU, supplier="ACME", queue=QueueStrategy.PRIORITY))
    add_product(app, product("GADGET", supplier="ACME", queue=QueueStrategy.PRIORITY))
    add_product(app, product("PLAIN", supplier="ACME"))  # first come, first served
    po(app, "PO-1", (8, 15))
    add_purchase_order(
        app, "PO-2", "ACME", [PoLineIn("GADGET", 2, day(12)), PoLineIn("PLAIN", 2, day(14))]
    )
    for n in (1, 2):
        place_order(app, order(f"{n}", (SKU, 4), ("GADGET", 2), ("PLAIN", 2), placed_at=jan(n)))
    place_order(
        app,
        order("vip", (SKU, 4), ("GADGET", 2), ("PLAIN", 2), placed_at=jan(9), tier=Tier.VIP),
    )
    etas = {
        sku: {e["ref"]: e["eta"] for e in queue_view(app, sku)["entries"]}
        for sku in (SKU, "GADGET", "PLAIN")
    }
    assert etas[SKU] == {"web:vip": "2026-01-15", "web:1": "2026-01-15", "web:2": "2026-01-30"}
    assert etas["GADGET"] == {"web:vip": "2026-01-12", "web:1": "2026-01-30", "web:2": "2026-01-30"}
    assert etas["PLAIN"] == {"web:1": "2026-01-14", "web:2": "2026-01-30", "web:vip": "2026-01-30"}


def test_a_cancellation_moves_the_queue_up(stocked: Backorder) -> None:
    po(stocked, "PO-1", (8, 15))
    cancel_order(stocked, "web:1")
    assert dates(stocked)["web:3"] == ("2026-01-15", "2026-01-30")


def test_receipts_count_against_the_purchase_order_and_its_supplier_record(
    stocked: Backorder, clock: Clock
) -> None:
    po(stocked, "PO-1", (6, 15))
    po(stocked, "PO-2", (6, 12))
    clock.advance(days=2)  # 12 January
    receive_stock(stocked, SKU, 6, ref="PO-2")  # on time
    assert get_purchase_order(stocked, "PO-2")["state"] == "received"
    assert get_purchase_order(stocked, "PO-2")["on_time"] is True
    clock.advance(days=5)  # 17 January: PO-1 is two days late, and comes in two parts
    receive_stock(stocked, SKU, 4, ref="PO-1")
    view = get_purchase_order(stocked, "PO-1")
    assert (view["state"], view["lines"][0]["received"], view["lines"][0]["outstanding"]) == (
        "open",
        4,
        2,
    )
    receive_stock(stocked, SKU, 5, ref="PO-1")  # one more than outstanding: plain stock
    view = get_purchase_order(stocked, "PO-1")
    assert (view["state"], view["on_time"], view["lines"][0]["received"]) == ("received", False, 6)
    supplier = get_supplier(stocked, "ACME")
    assert (supplier["orders_completed"], supplier["orders_on_time"]) == (2, 1)
    assert supplier["on_time_percent"] == 50.0
    actions = [
        (p["po"], p["action"], p["state"]) for p in payloads(stocked, "purchase_order_changed")
    ]
    assert actions[-1] == ("PO-1", "received", "received")
    with pytest.raises(InvalidRequest, match="received"):
        redate_purchase_order(stocked, "PO-1", SKU, day(30))


def test_redate_reduce_and_cancel_move_the_dates(stocked: Backorder) -> None:
    po(stocked, "PO-1", (12, 15))
    assert dates(stocked)["web:3"][0] == "2026-01-15"
    before = len(payloads(stocked, "eta_changed"))
    redate_purchase_order(stocked, "PO-1", SKU, day(16))  # within the 2-day threshold
    assert dates(stocked)["web:3"][0] == "2026-01-16"
    assert len(payloads(stocked, "eta_changed")) == before  # nobody is told of one day
    redate_purchase_order(stocked, "PO-1", SKU, day(19))  # now 4 days from what they heard
    assert len(payloads(stocked, "eta_changed")) == before + 3
    view = get_purchase_order(stocked, "PO-1")
    assert (view["lines"][0]["expected_on"], view["lines"][0]["first_expected_on"]) == (
        "2026-01-19",
        "2026-01-15",
    )
    reduce_purchase_order(stocked, "PO-1", SKU, 8)
    assert dates(stocked)["web:3"][0] == "2026-01-30"  # no longer covered
    cancel_purchase_order(stocked, "PO-1")
    assert dates(stocked)["web:1"][0] == "2026-01-30"
    assert get_purchase_order(stocked, "PO-1")["state"] == "cancelled"
    assert get_supplier(stocked, "ACME")["orders_completed"] == 0  # nothing came: no record


def test_a_new_lead_time_re_dates_what_lies_beyond_supply(stocked: Backorder) -> None:
    # the SKU's terms with ACME (20 days, taken when ACME was named) are its lead time now
    update_supplier(stocked, "ACME", {"lead_time_days": 30})
    assert set(dates(stocked).values()) == {("2026-01-30", "2026-01-30")}
    update_terms(stocked, SKU, "ACME", {"lead_time_days": 30}, False)
    assert set(dates(stocked).values()) == {("2026-02-09", "2026-01-30")}
    update_product(stocked, SKU, {"lead_time_days": 5})  # the product's own wins
    assert set(dates(stocked).values()) == {("2026-01-15", "2026-01-30")}


def test_bad_supply_input_changes_nothing(stocked: Backorder) -> None:
    with pytest.raises(AlreadyExists):
        add_supplier(stocked, SupplierIn("ACME", "Again", 3))
    with pytest.raises(InvalidRequest, match="unknown supplier 'NOBODY'"):
        add_purchase_order(stocked, "PO-9", "NOBODY", [PoLineIn(SKU, 1, day(20))])
    with pytest.raises(InvalidRequest, match="twice"):
        add_purchase_order(
            stocked, "PO-9", "ACME", [PoLineIn(SKU, 1, day(20)), PoLineIn(SKU, 2, day(21))]
        )
    with pytest.raises(InvalidRequest, match="between"):
        add_purchase_order(stocked, "PO-9", "ACME", [PoLineIn(SKU, 0, day(20))])
    po(stocked, "PO-1", (5, 15))
    with pytest.raises(AlreadyExists):
        po(stocked, "PO-1", (5, 15))
    with pytest.raises(InvalidRequest, match="reduce to between"):
        reduce_purchase_order(stocked, "PO-1", SKU, 5)
    with pytest.raises(InvalidRequest, match="unknown supplier 'NOBODY'"):
        update_product(stocked, SKU, {"supplier": "NOBODY"})
    assert get_purchase_order(stocked, "PO-1")["lines"][0]["ordered"] == 5


def test_the_acceptance_policy_refuses_backorders_at_intake(app: Backorder) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_product(app, product("DATED", require_known_date=True))
    add_product(app, product("QUICK", supplier="ACME", max_lead_days=14))
    add_product(app, product("TRUSTY", supplier="ACME", min_on_time_percent=80))
    place_order(app, order("1", ("DATED", 2), ("QUICK", 2), ("TRUSTY", 2)))
    reasons = [
        (line["sku"], line["backordered"], [c["reason"] for c in line["cancellations"]])
        for line in order_view(app, "web:1")["lines"]
    ]
    assert reasons == [
        ("DATED", 0, ["no_known_date"]),  # no supply and no lead time
        ("QUICK", 0, ["lead_time_too_long"]),  # 20 days > 14
        ("TRUSTY", 2, []),  # no record yet: no evidence against them
    ]
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("QUICK", 10, day(20))])
    place_order(app, order("2", ("QUICK", 2)))
    assert order_view(app, "web:2")["lines"][0]["eta"] == "2026-01-20"
    add_purchase_order(app, "PO-2", "ACME", [PoLineIn("TRUSTY", 1, day(11))])
    receive_stock(app, "TRUSTY", 1, ref="PO-2")  # 10 January: on time, the record is 100%
    update_supplier(app, "ACME", {"lead_time_days": 20})
    place_order(app, order("3", ("TRUSTY", 2)))
    assert order_view(app, "web:3")["lines"][0]["backordered"] == 2


def test_available_to_promise(stocked: Backorder) -> None:
    po(stocked, "PO-1", (12, 15))
    po(stocked, "PO-2", (30, 25))
    view = atp(stocked, SKU)
    assert (view["available"], view["backordered"]) == (0, 20)
    assert view["promisable"] == [{"date": "2026-01-25", "units": 22}]
    assert view["beyond_supply"] == "2026-01-30"
    assert [i["po"] for i in view["inbound"]] == ["PO-1", "PO-2"]


def test_a_product_lead_time_is_at_most_ten_years_so_every_date_it_gives_exists(
    app: Backorder,
) -> None:
    add_product(app, product("SLOW", lead_time_days=3650))
    assert atp(app, "SLOW")["beyond_supply"] == "2036-01-08"
    with pytest.raises(InvalidRequest, match="lead_time_days"):
        add_product(app, product("NEVER", lead_time_days=2**31 - 1))
    with pytest.raises(InvalidRequest, match="lead_time_days"):
        update_product(app, "SLOW", {"lead_time_days": 3651})
    assert atp(app, "SLOW")["lead_time_days"] == 3650
