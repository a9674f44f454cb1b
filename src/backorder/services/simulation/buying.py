"""The reorder-point policy's purchases in a replay: once a day, each SKU with a preferred
supplier whose stock position is at or below its reorder point is ordered (a purchase order
in the copy, through the same use case as live) and its arrival is scheduled."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from backorder.domain.simulation import Policy, Position, Terms, lateness, order_quantity
from backorder.services.context import Backorder
from backorder.services.simulation.record import Movement
from backorder.services.supply import PoLineIn, add_purchase_order
from backorder.store.tables import order_lines, po_lines, products

DEMAND_DAYS = 28  # the policy sees this many days of demand


def buy(
    app: Backorder,
    rules: tuple[Policy, dict[str, Terms]],
    rng: random.Random,
    prefix: str,
) -> list[tuple[Movement, datetime]]:
    """Order what is at or below its point now; each order's arrival and when it comes
    (after the lead time plus a lateness drawn from the supplier's measured ones)."""
    policy, terms_of = rules
    now = app.now()
    arrivals = []
    for sku, position in sorted(positions(app, now).items()):
        terms = terms_of.get(sku)
        if terms is None:
            continue
        units = order_quantity(position, terms, policy)
        if units <= 0:
            continue
        ref = f"{prefix}-{sku}"
        days = terms.lead_days + lateness(terms, rng.random())
        expected = now.date() + timedelta(days=terms.lead_days)
        add_purchase_order(app, ref, terms.supplier, [PoLineIn(sku, units, expected)])
        arrivals.append((Movement(sku, "receipt", units, ref, None), now + timedelta(days=days)))
    return arrivals


def positions(app: Backorder, now: datetime) -> dict[str, Position]:
    """Every SKU's stock position now and its daily demand over the days before."""
    since = now - timedelta(days=DEMAND_DAYS)
    with app.db.read() as uow:
        conn = uow.connection
        p, pl, line = products.c, po_lines.c, order_lines.c
        on_order = dict(
            conn.execute(
                select(pl.product_id, func.sum(pl.ordered - pl.received - pl.cancelled))
                .where(pl.received + pl.cancelled < pl.ordered)
                .group_by(pl.product_id)
            ).all()
        )
        demand: dict[int, list[int]] = defaultdict(lambda: [0] * DEMAND_DAYS)
        rows = conn.execute(
            select(line.product_id, line.placed_at, line.quantity).where(
                line.placed_at >= since, line.placed_at < now
            )
        )
        for product_id, placed_at, quantity in rows:
            day = min((placed_at - since).days, DEMAND_DAYS - 1)
            demand[product_id][day] += quantity
        found = {}
        for r in conn.execute(select(p.id, p.sku, p.on_hand, p.allocated, p.backordered)):
            found[r.sku] = Position(
                r.on_hand,
                r.allocated,
                r.backordered,
                int(on_order.get(r.id, 0)),
                tuple(demand.get(r.id, [0] * DEMAND_DAYS)),
            )
    return found
