"""Lead times from the product's own purchase-order history, for safety stock.

A lead time is measured per supplier and SKU on completed purchase-order lines (received in
full, or received in part and the rest cancelled): from the day the purchase order was
created to the last receipt of the line, in days. That is the lead time the business lives
with: the supplier's stated lead time plus any lateness, whatever dates the line was given
on the way. Only lines of the SKU's current supplier count (a SKU without a supplier: all
of its lines), created within the last two years.

Until a SKU has `MIN_LINES` such lines, its stated lead time answers with no spread: the
product's own lead time if set, else its preferred supplier's terms for it, else that
supplier's default, else two weeks (domain.safety_stock).
One query per batch of SKUs: count, mean and mean square of the days, per product."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, or_, select

from backorder.domain.safety_stock import LeadSource, LeadTime, lead_time_of
from backorder.store.supply import stated_lead, supplied_by
from backorder.store.tables import po_lines, products, purchase_orders
from backorder.store.timefuncs import days_between

MIN_LINES = 3
HISTORY_DAYS = 730
History = tuple[int, float, float]  # lines, mean days, standard deviation of days


@dataclass(frozen=True)
class Stated:
    """A SKU's stated lead time and where it comes from (None: stated nowhere)."""

    days: int | None
    source: LeadSource


def history(conn: Connection, product_ids: Sequence[int], now: datetime) -> dict[int, History]:
    """Per product with completed lines: (lines, mean days, sample standard deviation)."""
    if not product_ids:
        return {}
    line, po = po_lines.c, purchase_orders.c
    # from when it was placed: a draft from a recommendation waited for approval first
    days = days_between(line.last_received_at, func.coalesce(po.approved_at, po.created_at))
    rows = conn.execute(
        select(line.product_id, func.count(), func.avg(days), func.avg(days * days))
        .join(purchase_orders, po.id == line.po_id)
        .join(products, products.c.id == line.product_id)
        .where(
            line.product_id.in_(product_ids),
            line.last_received_at.is_not(None),
            line.received > 0,
            line.received + line.cancelled == line.ordered,
            po.created_at >= now - timedelta(days=HISTORY_DAYS),
            or_(products.c.supplier_id.is_(None), po.supplier_id == products.c.supplier_id),
        )
        .group_by(line.product_id)
    ).all()
    found: dict[int, History] = {}
    for product_id, count, mean, mean_square in rows:
        n, mean = int(count), float(mean or 0.0)
        variance = max(0.0, float(mean_square or 0.0) - mean * mean) * n / (n - 1) if n > 1 else 0
        found[product_id] = (n, mean, math.sqrt(variance))
    return found


def stated(conn: Connection, product_ids: Sequence[int]) -> dict[int, Stated]:
    """Per product: its own lead time if set, else its preferred supplier's terms for it,
    else that supplier's default (store.supply.stated_lead)."""
    if not product_ids:
        return {}
    p = products.c
    own = dict(conn.execute(select(p.id, p.lead_time_days).where(p.id.in_(product_ids))).all())
    supplied = supplied_by(conn, product_ids)
    found: dict[int, Stated] = {}
    for product_id, days in own.items():
        source: LeadSource = "product" if days is not None else "supplier"
        found[product_id] = Stated(stated_lead(days, supplied.get(product_id)), source)
    return found


def lead_times(conn: Connection, product_ids: Sequence[int], now: datetime) -> dict[int, LeadTime]:
    """The lead time of each product: measured once there is enough history, else stated."""
    measured = history(conn, product_ids, now)
    told = stated(conn, product_ids)
    return {
        product_id: lead_time_of(
            measured.get(product_id),
            told.get(product_id, Stated(None, "supplier")).days,
            told.get(product_id, Stated(None, "supplier")).source,
            MIN_LINES,
        )
        for product_id in product_ids
    }
