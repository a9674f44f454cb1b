"""Ship-complete orders across locations: sourced whole from one location (its home) unless
the shop consolidates, when they take units from several and ship once nothing waits."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.errors import BackorderError
from backorder.domain.model import OrderTerms, Preference
from backorder.domain.sourcing import MOST, ON_ITS_WAY
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.services.views import order_view
from tests.factories import order, product
from tests.integration.invariants import assert_invariants

COMPLETE = OrderTerms(preference=Preference.SHIP_COMPLETE)


def at(app: Backorder, sku: str) -> dict[str, tuple[int, int]]:
    view = stock_by_location(app, sku)
    return {p["location"]: (p["on_hand"], p["allocated"]) for p in view["locations"]}


def held(app: Backorder, ref: str) -> dict[str, list[tuple[str | None, int]]]:
    """Per SKU: (location, units) of each allocation, and what still waits."""
    view = order_view(app, ref)
    return {
        line["sku"]: [(a["location"], a["units"]) for a in line["allocations"]]
        + [("waiting", line["backordered"])]
        for line in view["lines"]
    }


def consolidating(app: Backorder) -> Backorder:
    settings = app.settings.model_copy(update={"sourcing_consolidate": True})
    return Backorder(app.db, settings, app.clock)


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    """Main holds 2 BOLT and 1 NUT, east (first by priority) 2 NUT."""
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    add(app, LocationIn("east", "East 3PL", "3pl", priority=1))
    set_stock(app, "BOLT", 2)
    set_stock(app, "NUT", 1)
    set_stock(app, "NUT", 2, location="east")
    return app


def test_a_ship_complete_order_is_sourced_whole_from_one_location(shop: Backorder) -> None:
    place_order(shop, order("1", ("BOLT", 2), ("NUT", 2), terms=COMPLETE))
    # main holds 3 of its 4 units, east 2: main is its home, and the NUT it lacks waits
    assert held(shop, "web:1") == {
        "BOLT": [("main", 2), ("waiting", 0)],
        "NUT": [("main", 1), ("waiting", 1)],
    }
    assert order_view(shop, "web:1")["lines"][1]["allocations"][0]["sourcing"] == MOST
    assert at(shop, "NUT") == {"east": (2, 0), "main": (1, 1)}
    receive_stock(shop, "NUT", 3, location="east")  # east does not serve it: not its home
    assert held(shop, "web:1")["NUT"][-1] == ("waiting", 1)
    assert_invariants(shop.db)  # east's free NUT may not serve an order homed at main
    with pytest.raises(BackorderError, match="waits"):
        ship_order(shop, "web:1")
    receive_stock(shop, "NUT", 1)
    assert held(shop, "web:1")["NUT"] == [("main", 1), ("main", 1), ("waiting", 0)]
    shipped = ship_order(shop, "web:1", tracking="T1")
    assert (shipped.units, len(shipped.shipments)) == (4, 1)  # one shipment, from main
    assert_invariants(shop.db)


def test_a_ship_complete_order_nobody_holds_gets_its_home_from_its_first_receipt(
    shop: Backorder,
) -> None:
    set_stock(shop, "BOLT", 0)
    set_stock(shop, "NUT", 0)
    set_stock(shop, "NUT", 0, location="east")
    place_order(shop, order("1", ("BOLT", 1), ("NUT", 1), terms=COMPLETE))
    receive_stock(shop, "BOLT", 1, location="east")  # east serves it first: its home now
    receive_stock(shop, "NUT", 5)  # main may not
    assert at(shop, "NUT") == {"east": (0, 0), "main": (5, 0)}
    receive_stock(shop, "NUT", 1, location="east")
    assert held(shop, "web:1") == {
        "BOLT": [("east", 1), ("waiting", 0)],
        "NUT": [("east", 1), ("waiting", 0)],
    }
    assert len(ship_order(shop, "web:1").shipments) == 1
    assert_invariants(shop.db)


def test_an_order_shipping_what_is_available_still_takes_from_several(shop: Backorder) -> None:
    place_order(shop, order("1", ("BOLT", 2), ("NUT", 2)))
    assert held(shop, "web:1") == {
        "BOLT": [("main", 2), ("waiting", 0)],
        "NUT": [("east", 2), ("waiting", 0)],
    }


def test_consolidating_a_ship_complete_order_takes_from_several_locations(
    shop: Backorder,
) -> None:
    app = consolidating(shop)
    set_stock(app, "NUT", 1, location="east")
    place_order(app, order("1", ("BOLT", 2), ("NUT", 3), terms=COMPLETE))
    assert held(app, "web:1") == {
        "BOLT": [("main", 2), ("waiting", 0)],
        "NUT": [("east", 1), ("main", 1), ("waiting", 1)],
    }
    with pytest.raises(BackorderError, match="waits"):
        ship_order(app, "web:1")  # consolidated: it ships only when nothing waits anywhere
    receive_stock(app, "NUT", 1, location="east")
    shipped = ship_order(app, "web:1", tracking="T1")
    assert (shipped.units, len(shipped.shipments)) == (5, 2)  # from main and from east
    assert_invariants(app.db)


def test_a_ship_complete_order_goes_home_where_the_rest_of_it_is_on_its_way(
    shop: Backorder,
) -> None:
    """East holds both NUTs it wants now, main one BOLT; the 2 WASHERs it also wants are on
    a purchase order arriving at main: main will hold it all first."""
    add_supplier(shop, SupplierIn("ACME", "Acme", 20, "buy@acme.example"))
    add_product(shop, product("WASHER", supplier="ACME"))
    set_stock(shop, "BOLT", 1)
    set_stock(shop, "NUT", 0)
    add_purchase_order(shop, "PO-7", "ACME", [PoLineIn("WASHER", 5, date(2026, 2, 1))])
    place_order(shop, order("1", ("NUT", 2), ("BOLT", 1), ("WASHER", 2), terms=COMPLETE))
    assert held(shop, "web:1") == {
        "NUT": [("waiting", 2)],
        "BOLT": [("main", 1), ("waiting", 0)],
        "WASHER": [("waiting", 2)],
    }
    assert order_view(shop, "web:1")["lines"][1]["allocations"][0]["sourcing"] == ON_ITS_WAY
    receive_stock(shop, "WASHER", 5)
    receive_stock(shop, "NUT", 2)
    assert len(ship_order(shop, "web:1").shipments) == 1
    assert_invariants(shop.db)
