"""Reading what a SKU's queue can be served from, per location: what is free there, the
inbound supply arriving there (purchase orders and transfers), and the waiting lines
grouped by what decides which locations may serve them (the order's country, and a
ship-complete order's home). One statement each, for any number of SKUs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, select

from backorder.domain.model import Preference
from backorder.domain.next_units import Waiters
from backorder.domain.supply import Inbound
from backorder.store.supply import inbound_supply
from backorder.store.tables import (
    line_holdings,
    order_lines,
    orders,
    stock_levels,
)


def inbound_at(
    conn: Connection, product_ids: Sequence[int], default_location: int
) -> dict[int, dict[int, list[Inbound]]]:
    """Open inbound supply (purchase orders and transfers): product id -> location id ->
    what arrives there, soonest first (supply naming no location: the default one)."""
    found: dict[int, dict[int, list[Inbound]]] = {pid: {} for pid in product_ids}
    for pid, items in inbound_supply(conn, list(product_ids)).items():
        for item in items:
            where = default_location if item.location is None else item.location
            found[pid].setdefault(where, []).append(item)
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
