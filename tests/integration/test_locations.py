"""Locations in the engine: what migration 0025 makes of a database from before, and the
rules a second location brings (ships-to, takes backorders, counts per location)."""

from __future__ import annotations

from dataclasses import replace

from alembic import command
from sqlalchemy import select

from backorder.domain.errors import BackorderError
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location, update_location
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.store.db import Database
from backorder.store.migrate import alembic_config, upgrade
from backorder.store.tables import allocations, line_holdings, locations, stock_levels
from tests.factories import order, product
from tests.integration.invariants import assert_invariants, snapshot


def at(app: Backorder, sku: str) -> dict[str, tuple[int, int]]:
    view = stock_by_location(app, sku)
    return {p["location"]: (p["on_hand"], p["allocated"]) for p in view["locations"]}


def test_a_database_from_before_gets_main_holding_its_stock_and_allocations(
    sqlite_url: str,
) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    app = Backorder(database)
    add_product(app, product("BOLT"))
    set_stock(app, "BOLT", 5)
    place_order(app, order("1", ("BOLT", 3)))
    place_order(app, order("2", ("BOLT", 4)))
    command.downgrade(alembic_config(database), "0024")
    command.upgrade(alembic_config(database), "0025")
    with snapshot(database) as conn:
        assert conn.execute(select(locations.c.code)).scalars().all() == ["main"]
        assert conn.execute(select(stock_levels.c.on_hand, stock_levels.c.allocated)).all() == [
            (5, 5)
        ]
        assert sum(conn.execute(select(line_holdings.c.allocated)).scalars()) == 5
        assert None not in conn.execute(select(allocations.c.location_id)).scalars().all()
    upgrade(database)  # the invariants are those of the newest schema
    assert_invariants(database)
    app.close()


def test_a_receipt_at_a_location_serves_only_lines_it_ships_to(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "East", "3pl", ("US",), priority=1))
    place_order(app, replace(order("de", ("BOLT", 2)), ship_country="DE"))
    receive_stock(app, "BOLT", 3, location="east")
    assert stock_by_location(app, "BOLT")["backordered"] == 2  # east does not ship to DE
    receive_stock(app, "BOLT", 2)
    assert stock_by_location(app, "BOLT")["backordered"] == 0
    assert at(app, "BOLT") == {"east": (3, 0), "main": (2, 2)}
    assert_invariants(app.db)


def test_a_count_at_a_location_takes_back_only_what_is_allocated_there(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "East", "3pl", priority=1))
    set_stock(app, "BOLT", 2, location="east")
    set_stock(app, "BOLT", 2)
    place_order(app, order("1", ("BOLT", 4)))  # 2 from east, 2 from main: split
    set_stock(app, "BOLT", 0, location="east")
    assert at(app, "BOLT") == {"east": (0, 0), "main": (2, 2)}
    assert stock_by_location(app, "BOLT")["backordered"] == 2
    assert_invariants(app.db)


def test_a_location_takes_no_backorders_when_told_so(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("fba", "FBA", "fba", priority=1, accepts_backorders=False))
    place_order(app, order("1", ("BOLT", 2)))
    receive_stock(app, "BOLT", 5, location="fba")
    assert stock_by_location(app, "BOLT")["backordered"] == 2
    place_order(app, order("2", ("BOLT", 1)))  # its stock fills new orders
    assert at(app, "BOLT")["fba"] == (5, 1)
    assert_invariants(app.db)


def test_cancel_releases_at_the_location_and_ship_goes_per_location(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "East", "3pl", priority=1))
    set_stock(app, "BOLT", 2, location="east")
    set_stock(app, "BOLT", 3)
    place_order(app, order("1", ("BOLT", 4)))
    place_order(app, order("2", ("BOLT", 3)))  # 1 allocated at main, 2 wait
    cancel_order(app, "web:1", line_no=1, units=1)  # released at main (least preferred)
    assert at(app, "BOLT") == {"east": (2, 2), "main": (3, 3)}
    shipped = ship_order(app, "web:1", tracking="T")
    assert (shipped.units, len(shipped.shipments)) == (3, 2)
    assert at(app, "BOLT") == {"east": (0, 0), "main": (2, 2)}
    try:
        update_location(app, "main", {"active": False})
        raise AssertionError("the default location holding units was deactivated")
    except BackorderError as refused:
        assert "allocated" in str(refused)
    assert_invariants(app.db)
