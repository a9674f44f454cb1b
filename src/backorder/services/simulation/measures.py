"""The simulator's figures over a window, read the same way from the live database (the
actual column) and from a replay's copy: the KPIs' own definitions (services/kpis.compute)
and the figures the simulator adds, each from what the store records with its moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from backorder.domain.kpis import Targets, measure
from backorder.domain.simulation import time_weighted
from backorder.services.kpis import Dimension, Period, compute
from backorder.store.tables import (
    cancellations,
    events,
    order_lines,
    product_suppliers,
    purchase_orders,
    shipment_lines,
    shipments,
    stock_movements,
)

PARTS = ("placed", "ended", "waits", "fills", "accuracy", "promises")
KPIS = (
    "conversion_rate",
    "average_backorder_duration",
    "fill_time",
    "cancel_rate",
    "promise_accuracy",
    "backorder_rate",
)
# Events that move units into or out of waiting: the units, and which way.
WAITING = {"line_backordered": 1, "allocation_taken_back": 1, "units_cancelled": -1}


def figures(conn: Connection, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Every row of the simulator's table for [start, end)."""
    start, end = window
    period = Period(start.date(), (end - timedelta(days=1)).date())
    facts = compute(conn, period, end, parts=PARTS).get("all")
    measured = measure(facts, Targets()) if facts is not None else {}
    found: dict[str, Any] = {
        name: measured[name]["value"] if name in measured else None for name in KPIS
    }
    vip = compute(conn, period, end, by=Dimension.TIER, parts=("waits",)).get("vip")
    found["vip_backorder_duration"] = vip.waits.mean() if vip is not None else None
    found["money_on_backorder"] = _money_waiting(conn, window)
    found.update(_lost(conn, window))
    found["purchase_spend"] = _spend(conn, window)
    found["average_stock"] = _stock(conn, window)
    found["shipments"] = conn.execute(
        select(func.count()).where(shipments.c.shipped_at >= start, shipments.c.shipped_at < end)
    ).scalar_one()
    return found


def _money_waiting(conn: Connection, window: tuple[datetime, datetime]) -> Decimal:
    """The value of the units waiting, averaged over the window's time (from the events that
    put units into the queue and take them out)."""
    start, end = window
    e = events.c
    rows = conn.execute(
        select(e.type, e.occurred_at, e.payload)
        .where(
            e.occurred_at < end,
            e.type.in_((*WAITING, "units_allocated")),
        )
        .order_by(e.id)
    )
    level, changes = Decimal(0), []
    for kind, moment, payload in rows:
        change = _waiting_change(kind, payload)
        if not change:
            continue
        if moment < start:
            level += change
        else:
            changes.append((moment, change))
    average = time_weighted(float(level), ((m, float(c)) for m, c in changes), window)
    return Decimal(str(round(average, 2)))


def _waiting_change(kind: str, payload: dict[str, Any]) -> Decimal:
    price = Decimal(str(payload.get("unit_price", 0)))
    if kind == "line_backordered":
        return price * int(payload["backordered"])
    if kind == "allocation_taken_back":
        return price * int(payload["units"])
    if kind == "units_cancelled":
        return -price * int(payload["from_backordered"])
    if kind == "units_allocated" and payload.get("source") != "intake":
        return -price * int(payload["units"])
    return Decimal(0)


def _lost(conn: Connection, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Units refused at intake or cancelled while they waited, and their value."""
    start, end = window
    c, line = cancellations.c, order_lines.c
    refused = and_(c.from_backordered == 0, c.from_allocated == 0)
    lost = conn.execute(
        select(c.units, c.from_backordered, c.from_allocated, line.unit_price)
        .join(order_lines, line.id == c.line_id)
        .where(c.cancelled_at >= start, c.cancelled_at < end)
        .where((c.from_backordered > 0) | refused)
    ).all()
    count = sum(r.from_backordered or r.units for r in lost)
    value = sum((Decimal(r.unit_price) * (r.from_backordered or r.units) for r in lost), Decimal(0))
    return {"units_lost": count, "value_lost": value}


def _spend(conn: Connection, window: tuple[datetime, datetime]) -> Decimal | None:
    """Units received against purchase orders, at the supplier's cost for the SKU; None
    when units came in and none of them has a known cost (nothing to count)."""
    start, end = window
    m, po, ps = stock_movements.c, purchase_orders.c, product_suppliers.c
    total, costed, received = conn.execute(
        select(func.sum(m.units * ps.cost), func.count(ps.cost), func.count())
        .join(purchase_orders, po.ref == m.ref)
        .outerjoin(
            product_suppliers,
            and_(ps.product_id == m.product_id, ps.supplier_id == po.supplier_id),
        )
        .where(m.kind == "receipt", m.moved_at >= start, m.moved_at < end)
    ).one()
    if received and not costed:
        return None
    return Decimal(total or 0).quantize(Decimal("0.01"))


def _stock(conn: Connection, window: tuple[datetime, datetime]) -> float:
    """Units on hand (the network's), averaged over the window's time."""
    start, end = window
    m, s, sl = stock_movements.c, shipments.c, shipment_lines.c
    moved = conn.execute(
        select(m.moved_at, m.units).where(m.moved_at < end).order_by(m.moved_at, m.id)
    ).all()
    shipped = conn.execute(
        select(s.shipped_at, func.sum(sl.units))
        .join(shipment_lines, sl.shipment_id == s.id)
        .where(s.shipped_at < end)
        .group_by(s.id, s.shipped_at)
    ).all()
    changes = sorted([(a, float(u)) for a, u in moved] + [(a, -float(u)) for a, u in shipped])
    level = sum(u for a, u in changes if a < start)
    inside = [(a, u) for a, u in changes if a >= start]
    return round(time_weighted(level, inside, window), 1)
