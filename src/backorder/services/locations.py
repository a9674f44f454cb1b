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
    }
    _check(values | {"ships_to": location.ships_to})
    with app.db.write() as uow:
        conn = uow.connection
        if conn.execute(select(locations.c.id).where(locations.c.code == location.code)).first():
            raise AlreadyExists(f"location {location.code!r} already exists")
        add_location(conn, values, app.now())
        view = location_view(conn, _row(conn, location.code), app.settings.default_location)
        uow.commit()
    return view


def listing(app: Backorder) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        conn = uow.connection
        rows = {row["id"]: row for row in conn.execute(select(locations)).mappings()}
        ordered = sorted((site_from_row(r) for r in rows.values()), key=site_order)
        return [location_view(conn, rows[s.id], app.settings.default_location) for s in ordered]


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
        if changes.get("orders_url"):
            if row["kind"] not in ("3pl", "fba") and changes.get("kind", row["kind"]) not in (
                "3pl",
                "fba",
            ):
                raise InvalidRequest(
                    f"location {code} is {row['kind']}: only 3pl and fba take shipping orders"
                )
            changes.setdefault("orders_format", row["orders_format"] or "x12-940")
            if not row["orders_secret"]:
                secret = changes["orders_secret"] = new_secret()
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
