"""Reading what a SKU's queue can be served from, per location: inbound supply arriving at
each location, and the waiting lines grouped by what decides which locations may serve them
(the order's country, and a ship-complete order's home). One statement each, for any
number of SKUs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from backorder.domain.model import Preference
from backorder.domain.next_units import Waiters
from backorder.domain.supply import Inbound
from backorder.store.supply import IS_OPEN, OUTSTANDING
from backorder.store.tables import (
    line_holdings,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    stock_levels,
)


def po_arrives_at(default_location: int) -> Any:
    """The location a purchase order's units arrive at, as a SQL expression.

    Purchase orders name no location yet: every one arrives at the default location.
    CHANGE AT MERGE: once `purchase_orders.location_id` exists, this is
    `func.coalesce(purchase_orders.c.location_id, default_location)`; transfers on their
    way to a location are inbound supply there too (a second statement in `inbound_at`)."""
    return literal(default_location)


def inbound_at(
    conn: Connection, product_ids: Sequence[int], default_location: int
) -> dict[int, dict[int, list[Inbound]]]:
    """Open inbound supply: product id -> location id -> what arrives there, soonest first."""
    found: dict[int, dict[int, list[Inbound]]] = {pid: {} for pid in product_ids}
    if not product_ids:
        return found
    where = po_arrives_at(default_location).label("location_id")
    query = (
        select(
            po_lines.c.product_id,
            where,
            purchase_orders.c.ref,
            po_lines.c.expected_on,
            OUTSTANDING.label("units"),
        )
        .select_from(po_lines.join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id))
        .where(po_lines.c.product_id.in_(list(product_ids)), IS_OPEN)
        .order_by(po_lines.c.product_id, po_lines.c.expected_on, po_lines.c.id)
    )
    for row in conn.execute(query).mappings():
        at = found[row["product_id"]].setdefault(int(row["location_id"]), [])
        at.append(Inbound(row["ref"], row["expected_on"], int(row["units"])))
    return found


def free_at(conn: Connection, product_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """Units available now: product id -> location id -> units (locations with some only)."""
    found: dict[int, dict[int, int]] = {pid: {} for pid in product_ids}
    if not product_ids:
        return found
    level = stock_levels.c
    query = select(level.product_id, level.location_id, level.on_hand - level.allocated).where(
        level.product_id.in_(list(product_ids)), level.on_hand > level.allocated
    )
    for product_id, location_id, units in conn.execute(query):
        found[product_id][location_id] = int(units)
    return found


def _home() -> Any:
    """A ship-complete order's home: the location one of its lines holds units at (the
    lowest id, should an order hold at two); null for other orders."""
    sibling = order_lines.alias("sibling")
    held = line_holdings.c
    holding = (
        select(func.min(held.location_id))
        .join(sibling, sibling.c.id == held.line_id)
        .where(sibling.c.order_id == orders.c.id, held.allocated > 0)
        .scalar_subquery()
    )
    complete = orders.c.shipping_preference == Preference.SHIP_COMPLETE.value
    return case((complete, holding), else_=None)


def waiting_groups(conn: Connection, product_ids: Sequence[int]) -> dict[int, list[Waiters]]:
    """The waiting lines of these SKUs: product id -> lines alike for sourcing, counted."""
    found: dict[int, list[Waiters]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return found
    home = _home().label("home")
    waiting = (
        select(
            order_lines.c.product_id,
            orders.c.ship_country.label("country"),
            home,
            order_lines.c.backordered,
        )
        .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
        .where(order_lines.c.product_id.in_(list(product_ids)), order_lines.c.backordered > 0)
        .subquery()
    )
    query = (
        select(
            waiting.c.product_id,
            waiting.c.country,
            waiting.c.home,
            func.count().label("lines"),
            func.sum(waiting.c.backordered).label("units"),
        )
        .group_by(waiting.c.product_id, waiting.c.country, waiting.c.home)
        .order_by(waiting.c.product_id)
    )
    for row in conn.execute(query).mappings():
        home_id = None if row["home"] is None else int(row["home"])
        found[row["product_id"]].append(
            Waiters(row["country"], home_id, int(row["lines"]), int(row["units"]))
        )
    return found
