"""Reading and writing inbound supply: suppliers, purchase orders and their lines, and the
outlook of a SKU that the expected-date walk needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from backorder.domain.supply import Inbound, Outlook, on_time_percent
from backorder.store.repos import ProductRow
from backorder.store.tables import po_lines, products, purchase_orders, suppliers

OUTSTANDING = po_lines.c.ordered - po_lines.c.received - po_lines.c.cancelled
IS_OPEN = po_lines.c.received + po_lines.c.cancelled < po_lines.c.ordered


def supplier_rows(conn: Connection, ids: Iterable[str]) -> dict[str, RowMapping]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = conn.execute(select(suppliers).where(suppliers.c.id.in_(wanted))).mappings()
    return {row["id"]: row for row in rows}


def outlooks(conn: Connection, rows: Iterable[ProductRow], today: date) -> dict[int, Outlook]:
    """Per product id: its open inbound supply, soonest first, its lead time and its
    supplier's on-time record."""
    rows = list(rows)
    if not rows:
        return {}
    inbound: dict[int, list[Inbound]] = {row.id: [] for row in rows}
    query = (
        select(
            po_lines.c.product_id,
            purchase_orders.c.ref,
            po_lines.c.expected_on,
            OUTSTANDING.label("units"),
        )
        .select_from(po_lines.join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id))
        .where(po_lines.c.product_id.in_(list(inbound)), IS_OPEN)
        .order_by(po_lines.c.product_id, po_lines.c.expected_on, po_lines.c.id)
    )
    for line in conn.execute(query).mappings():
        inbound[line["product_id"]].append(
            Inbound(line["ref"], line["expected_on"], int(line["units"]))
        )
    known = supplier_rows(conn, (row.product.supplier or "" for row in rows))
    result = {}
    for row in rows:
        supplier = known.get(row.product.supplier or "")
        lead = row.product.lead_time_days
        if lead is None and supplier is not None:
            lead = supplier["lead_time_days"]
        record = (
            on_time_percent(supplier["orders_completed"], supplier["orders_on_time"])
            if supplier is not None
            else None
        )
        result[row.id] = Outlook(today, tuple(inbound[row.id]), lead, record)
    return result


def po_row(conn: Connection, ref: str, lock: bool = False) -> RowMapping | None:
    query = select(purchase_orders).where(purchase_orders.c.ref == ref)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def po_line_rows(conn: Connection, po_id: int) -> list[dict[str, Any]]:
    query = (
        select(po_lines, products.c.sku)
        .select_from(po_lines.join(products, products.c.id == po_lines.c.product_id))
        .where(po_lines.c.po_id == po_id)
        .order_by(po_lines.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
