"""A supplier's measured performance, read from its closed purchase-order lines in one
query and measured by `domain.supplier_performance`."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import Connection, or_, select

from backorder.domain.supplier_performance import ClosedLine, measure_windows, window_start
from backorder.store.tables import po_lines, purchase_orders


def _closed(
    conn: Connection, supplier_ids: list[str], today: date, product_ids: list[int] | None
) -> list[tuple[str, int, ClosedLine]]:
    """(supplier, product id, line) of the closed purchase-order lines first expected in the
    last 12 months, of these suppliers (and of these products only, when given): one query."""
    if not supplier_ids or product_ids == []:
        return []
    since = window_start(today, 12)
    query = (
        select(
            purchase_orders.c.supplier_id,
            po_lines.c.product_id,
            po_lines.c.first_expected_on,
            po_lines.c.ordered,
            po_lines.c.received,
            po_lines.c.last_received_at,
        )
        .join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id)
        .where(
            purchase_orders.c.supplier_id.in_(sorted(set(supplier_ids))),
            po_lines.c.received + po_lines.c.cancelled >= po_lines.c.ordered,
            po_lines.c.first_expected_on >= since,
            # a draft rejected or withdrawn before the supplier got it is not its record
            or_(purchase_orders.c.origin == "manual", purchase_orders.c.sent_at.is_not(None)),
        )
    )
    if product_ids is not None:
        query = query.where(po_lines.c.product_id.in_(sorted(set(product_ids))))
    found = []
    for r in conn.execute(query).mappings():
        received_at = r["last_received_at"]
        line = ClosedLine(
            first_expected_on=r["first_expected_on"],
            ordered=r["ordered"],
            received=r["received"],
            received_on=received_at.date() if received_at and r["received"] else None,
        )
        found.append((r["supplier_id"], r["product_id"], line))
    return found


def closed_lines(
    conn: Connection, supplier_ids: list[str], today: date, product_id: int | None = None
) -> dict[str, list[ClosedLine]]:
    """Per supplier, its closed purchase-order lines first expected in the last 12 months
    (of this SKU only when `product_id` is given): one query."""
    found: dict[str, list[ClosedLine]] = {}
    only = None if product_id is None else [product_id]
    for supplier, _, line in _closed(conn, supplier_ids, today, only):
        found.setdefault(supplier, []).append(line)
    return found


def closed_lines_by_sku(
    conn: Connection, supplier_ids: list[str], today: date, product_ids: list[int] | None
) -> dict[tuple[str, int], list[ClosedLine]]:
    """Per (supplier, product id), the closed lines (12 months) of these products, or of
    every product when None: one query for every SKU of a plan."""
    found: dict[tuple[str, int], list[ClosedLine]] = {}
    for supplier, product_id, line in _closed(conn, supplier_ids, today, product_ids):
        found.setdefault((supplier, product_id), []).append(line)
    return found


def performance_views(lines: list[ClosedLine], today: date) -> list[dict[str, Any]]:
    return [dataclasses.asdict(p) for p in measure_windows(lines, today)]


def supplier_performance(conn: Connection, supplier: str, today: date) -> list[dict[str, Any]]:
    """A supplier's performance over all its SKUs (for `supplier show`)."""
    return performance_views(closed_lines(conn, [supplier], today).get(supplier, []), today)
