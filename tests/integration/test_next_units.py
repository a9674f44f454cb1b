"""Where a queue's next units come from, and the network's stock per location, as the
dashboard and the product page read them (GET /queues/{sku}/sources)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from backorder.domain.access import Permission
from backorder.domain.model import OrderTerms, Preference
from backorder.services import transfers
from backorder.services.context import Backorder
from backorder.services.dashboard import overview
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.next_units import queue_sources
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from tests.factories import jan, order, product

COMPLETE = OrderTerms(preference=Preference.SHIP_COMPLETE)


def shop(app: Backorder) -> None:
    """Main ships anywhere, east (a 3PL) to the US and Canada only; BOLT's queue: a US order
    of 3 and a German one of 2; a purchase order of 10 arrives on 1 February."""
    add_supplier(app, SupplierIn("ACME", "Acme", 20, "buy@acme.example"))
    add_product(app, product("BOLT", supplier="ACME"))
    add(app, LocationIn("east", "East 3PL", "3pl", ("US", "CA"), priority=1))
    place_order(app, replace(order("us", ("BOLT", 3), placed_at=jan(1)), ship_country="US"))
    place_order(app, replace(order("de", ("BOLT", 2), placed_at=jan(2)), ship_country="DE"))
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("BOLT", 10, date(2026, 2, 1))])


def test_each_location_that_can_serve_the_queue_with_what_is_on_its_way(app: Backorder) -> None:
    shop(app)
    seen = queue_sources(app, "BOLT")
    assert seen["backordered"] == 5
    assert [(s["location"], s["lines"], s["units"]) for s in seen["locations"]] == [
        ("east", 1, 3),  # east does not ship to Germany
        ("main", 2, 5),
    ]
    main = seen["locations"][1]  # the purchase order arrives at main, the default location
    assert (main["inbound_units"], main["inbound"]) == (
        10,
        [
            {
                "po": "PO-1",
                "transfer": None,
                "location": "main",
                "from_location": None,
                "expected_on": "2026-02-01",
                "units": 10,
            }
        ],
    )
    assert seen["next"] == {
        "location": "main",
        "po": "PO-1",
        "transfer": None,
        "expected_on": "2026-02-01",
        "units": 10,
    }


def test_a_ship_complete_order_waits_only_on_its_home(app: Backorder) -> None:
    shop(app)
    add_product(app, product("NUT"))
    set_stock(app, "NUT", 1, location="east")
    place_order(
        app, replace(order("c", ("BOLT", 1), ("NUT", 1), terms=COMPLETE), ship_country="US")
    )
    sources = {s["location"]: s["lines"] for s in queue_sources(app, "BOLT")["locations"]}
    assert sources == {"east": 2, "main": 2}  # the ship-complete order waits at east only
    receive_stock(app, "BOLT", 1, location="east")  # the head of east's queue is "us"
    assert queue_sources(app, "BOLT")["next"] == {
        "location": "main",
        "po": "PO-1",
        "transfer": None,
        "expected_on": "2026-02-01",
        "units": 10,
    }


def test_the_dashboard_shows_stock_by_location_and_where_queues_get_their_next_units(
    app: Backorder,
) -> None:
    shop(app)
    add_product(app, product("NUT"))
    set_stock(app, "NUT", 4, location="east")
    set_stock(app, "NUT", 1)
    place_order(app, order("n", ("NUT", 2)))  # from east, first by priority
    view = overview(app, frozenset(Permission))
    assert view["locations"] == {
        "locations": [
            {
                "location": "east",
                "active": True,
                "default": False,
                "skus": 1,
                "on_hand": 4,
                "allocated": 2,
                "available": 2,
            },
            {
                "location": "main",
                "active": True,
                "default": True,
                "skus": 1,
                "on_hand": 1,
                "allocated": 0,
                "available": 1,
            },
        ],
        "total": {"on_hand": 5, "allocated": 2, "available": 3},
    }
    queues = {q["sku"]: q for q in view["queues"]}
    assert queues["BOLT"]["next"]["location"] == "main"
    assert "product_id" not in queues["BOLT"]
    assert "locations" not in overview(app, frozenset({Permission.READ_ORDERS}))


def test_a_transfer_on_its_way_is_where_the_next_units_come_from(app: Backorder) -> None:
    shop(app)
    set_stock(app, "BOLT", 0)
    transfers.create(app, transfers.TransferIn("BOLT", 4, "main", "east", date(2026, 1, 20)))
    seen = queue_sources(app, "BOLT")
    east = seen["locations"][0]
    assert (east["location"], east["inbound_units"]) == ("east", 4)
    assert east["inbound"][0]["transfer"] == 1 and east["inbound"][0]["from_location"] == "main"
    assert seen["next"] == {
        "location": "east",
        "po": None,
        "transfer": 1,
        "expected_on": "2026-01-20",
        "units": 4,
    }
