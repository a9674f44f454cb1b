"""Locations: the places that hold stock (own warehouses, 3PLs, FBA, stores), and a SKU's
stock at each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from backorder.domain.errors import AlreadyExists, InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.sourcing import site_order
from backorder.notify.shipping_orders import FORMATS
from backorder.notify.webhooks import new_secret
from backorder.services.context import Backorder
from backorder.store.network import add_location, all_sites, site_from_row
from backorder.store.repos import Products
from backorder.store.tables import locations, stock_levels

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
KINDS = ("own", "3pl", "fba", "store")
FIELDS = (
    "name",
    "kind",
    "ships_to",
    "priority",
    "transit_days",
    "accepts_backorders",
    "active",
    "orders_url",
    "orders_format",
)
URL = re.compile(r"^https?://[^\s]{1,1990}$")


@dataclass(frozen=True)
class LocationIn:
    code: str
    name: str
    kind: str
    ships_to: tuple[str, ...] | None = None
    priority: int = 100
    transit_days: int = 0
    accepts_backorders: bool = True
    orders_url: str | None = None  # 3pl/fba: where its shipping orders are POSTed
    orders_format: str | None = None  # x12-940 (when a URL is given without it) or json


def _check(values: dict[str, Any]) -> None:
    if "code" in values and not CODE.match(values["code"]):
        raise InvalidRequest(
            f"location code {values['code']!r}: lower-case letters, digits, '-' and '_', "
            "at most 32, starting with a letter or digit"
        )
    if "name" in values and not (values["name"] or "").strip():
        raise InvalidRequest("a location needs a name")
    if "name" in values and len(values["name"]) > 200:
        raise InvalidRequest("a location's name has at most 200 characters")
    if "kind" in values and values["kind"] not in KINDS:
        raise InvalidRequest(f"location kind {values['kind']!r}: one of {', '.join(KINDS)}")
    ships = values.get("ships_to")
    if ships is not None:
        if not ships:
            raise InvalidRequest("ships-to names at least one country (none: anywhere)")
        bad = [c for c in ships if not COUNTRY.match(c)]
        if bad:
            raise InvalidRequest(f"ships-to {bad[0]!r} is not an ISO 3166-1 alpha-2 code (US)")
    if values.get("orders_url") is not None and not URL.match(values["orders_url"]):
        raise InvalidRequest(f"shipping orders go to an http(s) URL, not {values['orders_url']!r}")
    if values.get("orders_format") is not None and values["orders_format"] not in FORMATS:
        raise InvalidRequest(f"shipping orders' format: one of {', '.join(FORMATS)}")
    for key, top in (("priority", 1_000_000), ("transit_days", 365)):
        if key in values and not 0 <= values[key] <= top:
            raise InvalidRequest(f"{key.replace('_', ' ')} is from 0 to {top}")


TAKERS = ("3pl", "fba")  # the kinds that take shipping orders


def _check_orders(code: str, kind: str, changes: dict[str, Any]) -> None:
    """A URL or format for shipping orders only on a location of a kind that takes them."""
    if kind not in TAKERS and (changes.get("orders_url") or changes.get("orders_format")):
        raise InvalidRequest(
            f"location {code} is {kind}: only 3pl and fba take shipping orders "
            "(orders_url, orders_format)"
        )


def _row(conn: Connection, code: str) -> RowMapping:
    row = conn.execute(select(locations).where(locations.c.code == code)).mappings().first()
    if row is None:
        raise UnknownLocation(code)
    return row


def _held(conn: Connection, location_id: int) -> tuple[int, int, int]:
    """(SKUs, units on hand, units allocated) at a location."""
    level = stock_levels.c
    skus, on_hand, allocated = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(level.on_hand), 0),
            func.coalesce(func.sum(level.allocated), 0),
        ).where(level.location_id == location_id, level.on_hand > 0)
    ).one()
    return int(skus), int(on_hand), int(allocated)


def location_view(conn: Connection, row: RowMapping, default: str) -> dict[str, Any]:
    skus, on_hand, allocated = _held(conn, row["id"])
    ships = row["ships_to"]
    return {
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "ships_to": list(ships) if ships else None,
        "priority": row["priority"],
        "transit_days": row["transit_days"],
        "accepts_backorders": bool(row["accepts_backorders"]),
        "active": bool(row["active"]),
        "default": row["code"] == default,
        "skus": skus,
        "on_hand": on_hand,
        "allocated": allocated,
        "orders_url": row["orders_url"],
        "orders_format": row["orders_format"],
    }


def add(app: Backorder, location: LocationIn) -> dict[str, Any]:
    values = {
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "ships_to": list(location.ships_to) if location.ships_to else None,
        "priority": location.priority,
        "transit_days": location.transit_days,
        "accepts_backorders": location.accepts_backorders,
        "active": True,
        "orders_url": location.orders_url,
        "orders_format": location.orders_format,
    }
    _check(values | {"ships_to": location.ships_to})
    _check_orders(location.code, location.kind, values)
    secret = None
    if location.orders_url:
        values["orders_format"] = location.orders_format or "x12-940"
        secret = values["orders_secret"] = new_secret()
    with app.db.write() as uow:
        conn = uow.connection
        if conn.execute(select(locations.c.id).where(locations.c.code == location.code)).first():
            raise AlreadyExists(f"location {location.code!r} already exists")
        add_location(conn, values, app.now())
        view = location_view(conn, _row(conn, location.code), app.settings.default_location)
        uow.commit()
    if secret:  # shown this once: the 3PL checks the signature with it
        view["orders_secret"] = secret
    return view


def listing(app: Backorder) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        conn = uow.connection
        rows = {row["id"]: row for row in conn.execute(select(locations)).mappings()}
        ordered = sorted((site_from_row(r) for r in rows.values()), key=site_order)
        return [location_view(conn, rows[s.id], app.settings.default_location) for s in ordered]


def active_choices(app: Backorder) -> list[tuple[str, str]]:
    """The active locations as (code, name), in sourcing order: where stock can be received
    or counted (the dashboard's forms offer these)."""
    with app.db.read() as uow:
        rows = uow.connection.execute(select(locations).where(locations.c.active)).mappings()
        named = [(site_from_row(row), str(row["name"])) for row in rows]
    named.sort(key=lambda pair: site_order(pair[0]))
    return [(site.code, name) for site, name in named]


def show(app: Backorder, code: str) -> dict[str, Any]:
    with app.db.read() as uow:
        conn = uow.connection
        return location_view(conn, _row(conn, code), app.settings.default_location)


def update_location(app: Backorder, code: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a location. Deactivating one that still holds allocated units is refused:
    they are promised to lines, and would have nowhere to ship from."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidRequest(f"a location has no {sorted(unknown)[0]}")
    if not changes:
        raise InvalidRequest("nothing to change")
    if "ships_to" in changes and changes["ships_to"] is not None:
        changes["ships_to"] = list(changes["ships_to"])
    _check(changes)
    with app.db.write() as uow:
        conn = uow.connection
        row = _row(conn, code)
        if changes.get("active") is False and row["active"]:
            # the SKUs stocked there, locked as intake locks them: no allocation there can
            # slip in between this check and the change
            stocked = conn.execute(
                select(stock_levels.c.product_id).where(stock_levels.c.location_id == row["id"])
            ).scalars()
            Products(conn).lock_by_id(list(stocked))
            _, _, allocated = _held(conn, row["id"])
            if allocated:
                raise InvalidRequest(
                    f"location {code} still holds {allocated} allocated unit(s): ship or "
                    "cancel them (or count them away) before deactivating it"
                )
            if code == app.settings.default_location:
                raise InvalidRequest(f"location {code} is the default location")
        secret = None
        _check_orders(code, changes.get("kind") or row["kind"], changes)
        if changes.get("orders_url"):
            if changes.get("orders_format") is None:  # left out or null: as it was, else X12
                changes["orders_format"] = row["orders_format"] or "x12-940"
            if not row["orders_secret"]:
                secret = changes["orders_secret"] = new_secret()
        elif (
            "orders_format" in changes
            and changes["orders_format"] is None
            and changes.get("orders_url", row["orders_url"])
        ):
            changes["orders_format"] = "x12-940"  # null while a URL stays: X12, as made
        conn.execute(
            update(locations)
            .where(locations.c.id == row["id"])
            .values(**changes, updated_at=app.now())
        )
        view = location_view(conn, _row(conn, code), app.settings.default_location)
        uow.commit()
    if secret:  # shown this once: the 3PL checks the signature with it
        view["orders_secret"] = secret
    return view


def stock_by_location(app: Backorder, sku: str) -> dict[str, Any]:
    """A SKU's stock in total and at each location (every location, in sourcing order)."""
    with app.db.read() as uow:
        conn = uow.connection
        row = Products(conn).get(sku)
        if row is None:
            raise UnknownSku(sku)
        level = stock_levels.c
        found = {
            r["location_id"]: r
            for r in conn.execute(select(stock_levels).where(level.product_id == row.id))
            .mappings()
            .all()
        }
        sites = sorted(all_sites(conn), key=site_order)
        places = []
        for site in sites:
            at = found.get(site.id)
            on_hand, allocated = (at["on_hand"], at["allocated"]) if at else (0, 0)
            if at is None and not site.active:
                continue
            places.append(
                {
                    "location": site.code,
                    "on_hand": on_hand,
                    "allocated": allocated,
                    "available": max(0, on_hand - allocated),
                }
            )
    return {
        "sku": sku,
        "on_hand": row.stock.on_hand,
        "allocated": row.stock.allocated,
        "available": row.stock.available,
        "backordered": row.stock.backordered,
        "locations": places,
    }
