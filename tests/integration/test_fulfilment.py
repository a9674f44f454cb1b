"""A 3PL's shipment confirmation ships the order's units held at its location, through the
same code path as `order ship`; what it refuses changes nothing."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from backorder.domain.errors import BackorderError, NotReadyToShip
from backorder.domain.model import OrderTerms, Preference
from backorder.intake.feeds import ShipmentConfirmation, Units
from backorder.intake.shipment_feeds import CONFIRMATION_ADAPTERS
from backorder.services.context import Backorder
from backorder.services.fulfilment import confirm_shipment
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.views import order_view
from backorder.store.tables import events, locations, shipments
from tests.factories import order, product
from tests.integration.invariants import assert_invariants, snapshot

WHEN = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)


def _east(app: Backorder) -> int:
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    with snapshot(app.db) as conn:
        return int(conn.execute(select(locations.c.id).where(locations.c.code == "east")).one()[0])


def confirm(app: Backorder, location_id: int, document: ShipmentConfirmation) -> str:
    with app.db.write() as uow:
        said = confirm_shipment(uow, location_id, document, WHEN)
        uow.commit()
    return said


def shipped(
    ref: str, *lines: tuple[str, int], reference: str | None = "SHP-1"
) -> ShipmentConfirmation:
    return ShipmentConfirmation(
        location="EAST-WH",
        shipped_at=WHEN,
        order_ref=ref,
        lines=tuple(Units(sku, units) for sku, units in lines),
        tracking="1Z999AA10123456784",
        carrier="UPS",
        reference=reference,
    )


def at(app: Backorder, sku: str) -> dict[str, tuple[int, int]]:
    view = stock_by_location(app, sku)
    return {p["location"]: (p["on_hand"], p["allocated"]) for p in view["locations"]}


def state(app: Backorder) -> tuple[object, ...]:
    with snapshot(app.db) as conn:
        return (
            conn.execute(select(shipments.c.id)).all(),
            conn.execute(select(events.c.id)).all(),
        )


def test_a_confirmation_ships_what_the_location_holds_with_the_carriers_tracking(
    app: Backorder,
) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    east = _east(app)
    set_stock(app, "BOLT", 3, location="east")
    set_stock(app, "NUT", 5, location="east")
    set_stock(app, "BOLT", 2)
    place_order(app, order("1", ("BOLT", 5), ("NUT", 2)))  # BOLT: 3 at east, 2 at main
    said = confirm(app, east, shipped("web:1", ("BOLT", 3), ("NUT", 2)))
    assert said == "shipped 5 units of web:1 from east (UPS 1Z999AA10123456784)"
    assert at(app, "BOLT") == {"east": (0, 0), "main": (2, 2)}
    assert at(app, "NUT") == {"east": (3, 0), "main": (0, 0)}
    view = order_view(app, "web:1")
    assert [(line["sku"], line["shipped"], line["allocated"]) for line in view["lines"]] == [
        ("BOLT", 3, 2),
        ("NUT", 2, 0),
    ]
    with snapshot(app.db) as conn:
        assert conn.execute(
            select(shipments.c.tracking, shipments.c.reference, shipments.c.location_id)
        ).all() == [("1Z999AA10123456784", "SHP-1", east)]
    # the rest ships by hand, by the same path, from main
    assert ship_order(app, "web:1", tracking="T2", location="main").units == 2
    assert_invariants(app.db)


def test_fewer_units_than_held_ship_and_the_rest_stays_allocated(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    east = _east(app)
    set_stock(app, "BOLT", 4, location="east")
    place_order(app, order("1", ("BOLT", 4)))
    assert confirm(app, east, shipped("web:1", ("BOLT", 1))).startswith("shipped 1 unit of")
    assert at(app, "BOLT") == {"east": (3, 3), "main": (0, 0)}
    assert_invariants(app.db)


def test_the_same_shipment_confirmed_twice_ships_once(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    east = _east(app)
    set_stock(app, "BOLT", 4, location="east")
    place_order(app, order("1", ("BOLT", 4)))
    confirm(app, east, shipped("web:1", ("BOLT", 2)))
    again = confirm(app, east, shipped("web:1", ("BOLT", 2)))
    assert again.startswith("already shipped: web:1 from east (SHP-1)")
    assert at(app, "BOLT") == {"east": (2, 2), "main": (0, 0)}
    # a second shipment (another id) of the same order is a shipment of its own
    confirm(app, east, shipped("web:1", ("BOLT", 2), reference="SHP-2"))
    assert at(app, "BOLT") == {"east": (0, 0), "main": (0, 0)}
    assert_invariants(app.db)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (shipped("web:1", ("BOLT", 5)), "5 units of BOLT confirmed shipped from east, but"),
        (shipped("web:1", ("NUT", 1)), "order web:1 has no line of SKU 'NUT'"),
        (shipped("web:404", ("BOLT", 1)), "unknown order 'web:404'"),
        (shipped("web:1", ("BOLT", 0)), "must be more than 0"),
    ],
)
def test_a_confirmation_that_cannot_be_true_is_refused_and_changes_nothing(
    app: Backorder, document: ShipmentConfirmation, words: str
) -> None:
    add_product(app, product("BOLT"))
    east = _east(app)
    set_stock(app, "BOLT", 4, location="east")
    set_stock(app, "BOLT", 4)
    place_order(app, order("1", ("BOLT", 6)))  # 4 at east, 2 at main
    before = state(app), at(app, "BOLT")
    with pytest.raises(BackorderError, match=words):
        confirm(app, east, document)
    assert (state(app), at(app, "BOLT")) == before
    assert_invariants(app.db)


def test_a_ship_complete_order_waits_for_every_location(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    east = _east(app)
    set_stock(app, "BOLT", 2, location="east")
    complete = OrderTerms(preference=Preference.SHIP_COMPLETE)
    place_order(app, replace(order("1", ("BOLT", 2), ("NUT", 1)), terms=complete))
    before = state(app)
    with pytest.raises(NotReadyToShip, match="still waits for 1 unit"):
        confirm(app, east, shipped("web:1", ("BOLT", 2)))
    assert state(app) == before
    receive_stock(app, "NUT", 1)  # at main: nothing waits any more
    assert confirm(app, east, shipped("web:1", ("BOLT", 2))).startswith("shipped 2 units")
    assert_invariants(app.db)


def test_a_945_read_by_its_adapter_ships_what_it_says(app: Backorder) -> None:
    """The adapter and the use case agree: the 945 fixture, resolved to our location by hand
    (the feed intake does it through an alias), ships its lines and leaves the rest."""
    for sku in ("BOLT", "NUT", "WASHER"):
        add_product(app, product(sku))
    east = _east(app)
    for sku in ("BOLT", "NUT", "WASHER"):
        set_stock(app, sku, 5, location="east")
    place_order(app, order("1001", ("BOLT", 3), ("NUT", 2), ("WASHER", 1)))
    adapter = CONFIRMATION_ADAPTERS["x12-945"]
    text = (Path(__file__).parent.parent / "fixtures" / "feeds" / "945_two_lines.edi").read_text()
    [payload] = adapter.split(text)
    document = adapter.read(payload)
    assert isinstance(document, ShipmentConfirmation)
    said = confirm(app, east, document)
    assert said == "shipped 4 units of web:1001 from east (UPSN 1Z999AA10123456784)"
    view = order_view(app, "web:1001")
    assert [(line["sku"], line["shipped"], line["allocated"]) for line in view["lines"]] == [
        ("BOLT", 3, 0),
        ("NUT", 1, 1),
        ("WASHER", 0, 1),
    ]
    assert confirm(app, east, document).startswith("already shipped")
    assert_invariants(app.db)


def test_two_deliveries_of_one_confirmation_at_once_ship_it_once(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    east = _east(app)
    set_stock(app, "BOLT", 4, location="east")
    place_order(app, order("1", ("BOLT", 4)))
    document = shipped("web:1", ("BOLT", 3))
    said: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        try:
            said.append(confirm(app, east, document))
        except BaseException as error:  # reported below
            failures.append(error)

    workers = [threading.Thread(target=deliver) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not failures
    assert sorted(words.split(":")[0].split(" ")[0] for words in said) == ["already", "shipped"]
    assert at(app, "BOLT") == {"east": (1, 1), "main": (0, 0)}
    assert_invariants(app.db)
