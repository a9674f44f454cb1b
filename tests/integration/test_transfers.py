"""Transfers between locations and purchase orders that arrive at one, on SQLite and
PostgreSQL: units leave one location and arrive at another, where they serve the queue;
a refused step changes nothing; inbound supply dates only the lines its location can
serve; and what each location (and the network) can still promise."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from backorder.domain.errors import BackorderError, InvalidRequest, TransferConflict
from backorder.services import transfers
from backorder.services.atp import atp
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, receive_stock_many, set_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.services.views import order_view
from backorder.store.db import Database
from backorder.store.migrate import alembic_config, upgrade
from backorder.store.tables import events, purchase_orders, stock_movements
from tests.factories import order, product
from tests.integration.invariants import assert_invariants, snapshot
from tests.integration.test_engine import payloads

SKU = "BOLT"


def day(n: int) -> date:
    return date(2026, 1, n)


def at(app: Backorder) -> dict[str, tuple[int, int]]:
    view = stock_by_location(app, SKU)
    return {p["location"]: (p["on_hand"], p["allocated"]) for p in view["locations"]}


def line(app: Backorder, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = order_view(app, ref)["lines"][0]
    return found


def event_count(app: Backorder) -> int:
    with app.db.read() as uow:
        return int(uow.connection.execute(select(func.count()).select_from(events)).scalar_one())


@pytest.fixture
def network(app: Backorder) -> Backorder:
    """BOLT, with the default location `main` (ships anywhere) and `east`, a 3PL that
    ships to the US only; a supplier with a 30-day lead time."""
    add_supplier(app, SupplierIn("ACME", "Acme", 30))
    add_product(app, product(SKU, supplier="ACME"))
    add(app, LocationIn("east", "East 3PL", "3pl", ("US",), priority=1))
    return app


def german(ref: str, units: int) -> Any:
    return replace(order(ref, (SKU, units)), ship_country="DE")


def test_a_transfer_brings_units_the_queue_can_use_and_dates_it_like_a_purchase_order(
    network: Backorder,
) -> None:
    app = network
    set_stock(app, SKU, 5, location="east")  # east cannot ship to DE
    place_order(app, german("de", 3))
    assert line(app, "web:de")["backordered"] == 3
    assert line(app, "web:de")["eta"] == "2026-02-09"  # beyond supply: 30 days

    made = transfers.create(app, transfers.TransferIn(SKU, 3, "east", "main", day(15)))
    assert made["state"] == "planned"
    assert line(app, "web:de")["eta"] == "2026-01-15"  # dated by the transfer
    assert at(app) == {"east": (5, 0), "main": (0, 0)}  # nothing moved yet
    assert_invariants(app.db)

    shipped = transfers.ship(app, made["id"])
    assert (shipped["state"], shipped["in_transit"]) == ("shipped", 3)
    assert at(app) == {"east": (2, 0), "main": (0, 0)}
    assert line(app, "web:de")["eta"] == "2026-01-15"
    assert_invariants(app.db)

    received = transfers.receive(app, made["id"])
    assert (received["state"], received["received"], received["in_transit"]) == ("received", 3, 0)
    assert at(app) == {"east": (2, 0), "main": (3, 3)}
    assert (line(app, "web:de")["allocated"], line(app, "web:de")["backordered"]) == (3, 0)
    assert_invariants(app.db)

    steps = [(p["action"], p["state"], p["units"]) for p in payloads(app, "transfer_changed")]
    assert steps == [
        ("created", "planned", 0),
        ("shipped", "shipped", 3),
        ("received", "received", 3),
    ]
    with snapshot(app.db) as conn:
        moves = conn.execute(
            select(stock_movements.c.kind, stock_movements.c.units, stock_movements.c.ref)
            .where(stock_movements.c.kind.like("transfer%"))
            .order_by(stock_movements.c.id)
        ).all()
    ref = f"transfer {made['id']}"
    assert moves == [("transfer_out", -3, ref), ("transfer_in", 3, ref)]


def test_a_transfer_received_in_parts_stays_in_transit_until_all_arrived(
    network: Backorder,
) -> None:
    app = network
    set_stock(app, SKU, 4)
    made = transfers.create(app, transfers.TransferIn(SKU, 4, "main", "east", day(15)))
    transfers.ship(app, made["id"])
    part = transfers.receive(app, made["id"], 1)
    assert (part["state"], part["received"], part["in_transit"]) == ("shipped", 1, 3)
    with pytest.raises(InvalidRequest, match="3 unit"):
        transfers.receive(app, made["id"], 4)
    done = transfers.receive(app, made["id"])
    assert (done["state"], done["received"]) == ("received", 4)
    assert at(app) == {"east": (4, 0), "main": (0, 0)}
    assert_invariants(app.db)


def test_only_units_not_allocated_at_the_source_may_ship_and_a_refusal_changes_nothing(
    network: Backorder,
) -> None:
    app = network
    set_stock(app, SKU, 4)
    place_order(app, order("1", (SKU, 3)))  # 3 of main's 4 allocated
    made = transfers.create(app, transfers.TransferIn(SKU, 2, "main", "east", day(15)))
    before = event_count(app)
    with pytest.raises(TransferConflict, match=r"1 unit.*free.*4 on hand, 3 allocated"):
        transfers.ship(app, made["id"])
    assert transfers.get(app, made["id"])["state"] == "planned"
    assert at(app) == {"east": (0, 0), "main": (4, 3)}
    assert event_count(app) == before
    assert_invariants(app.db)


def test_a_transfer_steps_in_order_and_is_cancelled_only_before_shipping(
    network: Backorder,
) -> None:
    app = network
    set_stock(app, SKU, 4)
    first = transfers.create(app, transfers.TransferIn(SKU, 2, "main", "east", day(15)))
    with pytest.raises(TransferConflict, match="only a shipped one is received"):
        transfers.receive(app, first["id"])
    assert transfers.cancel(app, first["id"])["state"] == "cancelled"
    with pytest.raises(TransferConflict, match="cancelled"):
        transfers.ship(app, first["id"])
    second = transfers.create(app, transfers.TransferIn(SKU, 2, "main", "east", day(15)))
    transfers.ship(app, second["id"])
    with pytest.raises(TransferConflict, match="only a planned one can be cancelled"):
        transfers.cancel(app, second["id"])
    listed = transfers.listing(app)
    assert [(t["id"], t["state"]) for t in listed] == [
        (second["id"], "shipped"),
        (first["id"], "cancelled"),
    ]
    assert [t["id"] for t in transfers.listing(app, state="cancelled")] == [first["id"]]
    assert_invariants(app.db)


@pytest.mark.parametrize(
    ("wanted", "says"),
    [
        (transfers.TransferIn(SKU, 2, "main", "main", day(15)), "two different locations"),
        (transfers.TransferIn(SKU, 0, "main", "east", day(15)), "between 1 and"),
        (transfers.TransferIn(SKU, 2, "main", "west", day(15)), "no location 'west'"),
        (transfers.TransferIn("NUT", 2, "main", "east", day(15)), "unknown SKU"),
    ],
)
def test_a_transfer_that_cannot_be_is_refused_in_words(
    network: Backorder, wanted: transfers.TransferIn, says: str
) -> None:
    with pytest.raises(BackorderError, match=says):
        transfers.create(network, wanted)
    assert transfers.listing(network) == []


def test_a_purchase_order_arrives_at_its_location_and_serves_the_queue_from_there(
    network: Backorder,
) -> None:
    app = network
    place_order(app, german("de", 2))
    place_order(app, replace(order("us", (SKU, 2)), ship_country="US"))
    po = add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 4, day(20))], "east")
    assert po["location"] == "east"
    # only the US line can be served by east: the German line keeps the lead-time date
    assert line(app, "web:us")["eta"] == "2026-01-20"
    assert line(app, "web:de")["eta"] == "2026-02-09"

    before = event_count(app)
    with pytest.raises(InvalidRequest, match="arrives at east, not main"):
        receive_stock(app, SKU, 4, ref="PO-1", location="main")
    assert event_count(app) == before and at(app) == {"east": (0, 0), "main": (0, 0)}

    receive_stock(app, SKU, 4, ref="PO-1")  # no location named: where the PO arrives
    assert at(app) == {"east": (4, 2), "main": (0, 0)}
    assert line(app, "web:us")["allocated"] == 2
    assert line(app, "web:de")["backordered"] == 2
    assert [p["state"] for p in payloads(app, "purchase_order_changed")] == ["open", "received"]
    assert payloads(app, "purchase_order_changed")[0]["location"] == "east"
    assert_invariants(app.db)


def test_a_purchase_order_without_a_location_arrives_at_the_default_one(
    network: Backorder,
) -> None:
    assert (
        add_purchase_order(network, "PO-1", "ACME", [PoLineIn(SKU, 4, day(20))])["location"]
        == "main"
    )
    with pytest.raises(InvalidRequest, match="no location 'west'"):
        add_purchase_order(network, "PO-2", "ACME", [PoLineIn(SKU, 4, day(20))], "west")


def test_atp_per_location_and_for_the_network(network: Backorder) -> None:
    app = network
    set_stock(app, SKU, 6, location="east")
    place_order(app, german("de", 4))  # waits: east cannot ship to DE
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 10, day(20))])  # at main
    made = transfers.create(app, transfers.TransferIn(SKU, 2, "east", "main", day(15)))

    network_view = atp(app, SKU)
    assert (network_view["on_hand"], network_view["available"]) == (6, 6)
    assert network_view["backordered"] == 4
    assert network_view["promisable"] == [
        {"date": "2026-01-10", "units": 4},  # east's 6, less the 2 about to leave
        {"date": "2026-01-20", "units": 12},  # the transfer's 2 and PO-1's 10 less the 4 DE
    ]
    assert [(i["po"], i["transfer"], i["location"]) for i in network_view["inbound"]] == [
        (None, made["id"], "main"),
        ("PO-1", None, "main"),
    ]

    east = atp(app, SKU, "east")
    assert (east["location"], east["on_hand"], east["allocated"], east["available"]) == (
        "east",
        6,
        0,
        6,
    )
    assert east["promisable"] == [{"date": "2026-01-10", "units": 4}]
    assert [(i["transfer"], i["units"]) for i in east["inbound"]] == [(made["id"], -2)]

    main = atp(app, SKU, "main")
    assert main["promisable"] == [{"date": "2026-01-20", "units": 8}]
    assert [i["units"] for i in main["inbound"]] == [2, 10]
    with pytest.raises(InvalidRequest, match="no location 'west'"):
        atp(app, SKU, "west")


def test_a_database_from_before_puts_its_purchase_orders_at_main(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    app = Backorder(database)
    add_supplier(app, SupplierIn("ACME", "Acme", 30))
    add_product(app, product(SKU, supplier="ACME"))
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 4, day(20))])
    receive_stock(app, SKU, 1, ref="PO-1")
    command.downgrade(alembic_config(database), "0025")
    command.upgrade(alembic_config(database), "head")  # through 0026, which puts them at main
    with snapshot(database) as conn:
        assert conn.execute(select(purchase_orders.c.location_id)).scalars().all() == [1]
        assert conn.execute(select(stock_movements.c.location_id)).scalars().all() == [1]
    assert atp(app, SKU, "main")["inbound"][0]["po"] == "PO-1"
    assert_invariants(database)
    app.close()


def test_a_transfer_dates_only_lines_its_destination_can_serve_and_a_cancel_undoes_it(
    network: Backorder,
) -> None:
    app = network
    add(app, LocationIn("fba", "FBA", "fba", accepts_backorders=False))
    set_stock(app, SKU, 6, location="fba")  # takes no backorders: its units serve no queue
    place_order(app, german("de", 2))
    place_order(app, replace(order("us", (SKU, 2)), ship_country="US"))
    assert at(app)["fba"] == (6, 4)  # intake took them there
    set_stock(app, SKU, 4, location="fba")
    place_order(app, german("de2", 2))
    place_order(app, replace(order("us2", (SKU, 2)), ship_country="US"))
    assert (line(app, "web:de2")["eta"], line(app, "web:us2")["eta"]) == (
        "2026-02-09",
        "2026-02-09",
    )
    to_east = transfers.create(app, transfers.TransferIn(SKU, 2, "fba", "east", day(14)))
    assert line(app, "web:us2")["eta"] == "2026-01-14"  # east ships to the US
    assert line(app, "web:de2")["eta"] == "2026-02-09"  # but not to Germany
    transfers.cancel(app, to_east["id"])
    assert line(app, "web:us2")["eta"] == "2026-02-09"
    eta_events = [p["order_ref"] for p in payloads(app, "eta_changed")]
    assert eta_events.count("web:us2") == 2  # dated by the transfer, then back
    assert_invariants(app.db)


def test_a_batch_of_receipts_puts_each_at_the_location_of_the_purchase_order_it_names(
    network: Backorder,
) -> None:
    app = network
    add_product(app, product("NUT", supplier="ACME"))
    add_purchase_order(app, "PO-E", "ACME", [PoLineIn(SKU, 3, day(20))], "east")
    add_purchase_order(app, "PO-M", "ACME", [PoLineIn("NUT", 2, day(20))])
    receive_stock_many(app, [(SKU, 3, "PO-E"), ("NUT", 2, "PO-M")])
    assert at(app) == {"east": (3, 0), "main": (0, 0)}
    nuts = {p["location"]: p["on_hand"] for p in stock_by_location(app, "NUT")["locations"]}
    assert nuts == {"east": 0, "main": 2}
    with snapshot(app.db) as conn:
        placed = conn.execute(
            select(stock_movements.c.ref, stock_movements.c.location_id).order_by(
                stock_movements.c.id
            )
        ).all()
    east_id = next(loc for ref, loc in placed if ref == "PO-E")
    assert [ref for ref, loc in placed if loc == east_id] == ["PO-E"]
    assert_invariants(app.db)
