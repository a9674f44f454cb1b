"""Shipping orders to 3PL and FBA locations, planned from the outbox.

A reader of the outbox of its own (consumer `shipping_orders`) takes the events written
since its position. For every order an allocation or a cancellation event names, and every
location of kind `3pl` or `fba` that takes shipping orders (`location update CODE
--orders-to URL`) where the order holds units, it asks for what has not been asked for
yet: per line, what the line holds there, plus what shipped from there, less what earlier
shipping orders asked for. Any of that makes one shipping order `<order ref>-<location>-<n>`:
its document (an X12 940 or JSON, per the location's setting) is made and kept once, and its
delivery is planned in the transaction that moves the position, so each is planned exactly
once. A ship-complete order is asked for only once nothing of it waits anywhere (its
units at a 3PL wait until then). Sending is the webhooks' (`services/sending.py`): signed,
retried with backoff, dead after the last try, the same bytes and `webhook-id` each time."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, tuple_

from backorder.domain.model import parse_ref
from backorder.notify.shipping_orders import OrderLine, ShippingOrder, document
from backorder.services.consumers import save_position
from backorder.services.context import Backorder
from backorder.store.tables import (
    deliveries,
    event_consumers,
    events,
    line_holdings,
    locations,
    order_lines,
    orders,
    products,
    shipment_lines,
    shipments,
)
from backorder.store.tables import shipping_orders as shipping_table

log = logging.getLogger(__name__)

CONSUMER = "shipping_orders"
CHANNEL = "warehouse"  # deliveries.channel of shipping orders
KINDS = ("3pl", "fba")
MOVES = ("units_allocated", "units_cancelled")  # events after which an order is looked at

Key = tuple[int, int]  # (line id, location id)


def _position(conn: Connection, dialect: str) -> int:
    query = select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
    if dialect != "sqlite":
        query = query.with_for_update()
    found = conn.execute(query).scalar_one_or_none()
    return int(found) if found is not None else 0  # the migration records where it starts


def plan_shipping_orders(app: Backorder, limit: int = 1000, rounds: int = 100) -> int:
    """Plan the shipping orders the events not yet read call for; how many."""
    made = 0
    for _ in range(rounds):
        planned, seen = _plan_batch(app, limit)
        made += planned
        if not seen:
            break
    return made


def _plan_batch(app: Backorder, limit: int) -> tuple[int, int]:
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        position = _position(conn, uow.dialect)
        batch = conn.execute(
            select(events.c.id, events.c.type, events.c.order_ref)
            .where(events.c.id > position)
            .order_by(events.c.id)
            .limit(limit)
        ).all()
        if not batch:
            return 0, 0
        newest = {e.order_ref: e.id for e in batch if e.type in MOVES and e.order_ref}
        takers = {
            row.id: row
            for row in conn.execute(
                select(locations).where(
                    locations.c.kind.in_(KINDS), locations.c.orders_url.is_not(None)
                )
            )
        }
        made = _make_all(conn, newest, takers, now) if newest and takers else 0
        save_position(conn, uow.dialect, CONSUMER, batch[-1].id, now)
        uow.commit()
    return made, len(batch)


def _make_all(
    conn: Connection, newest: dict[str, int], takers: dict[int, Any], now: datetime
) -> int:
    """The shipping orders of these orders (ref -> its newest event here), set-based: a
    handful of queries whatever the number of orders."""
    pairs = []
    for ref in newest:
        try:
            pairs.append(parse_ref(ref))
        except ValueError:
            continue
    found = conn.execute(
        select(orders).where(tuple_(orders.c.channel, orders.c.external_id).in_(pairs))
    ).all()
    by_id = {row.id: row for row in found}
    if not by_id:
        return 0
    lines = conn.execute(
        select(
            order_lines.c.id,
            order_lines.c.order_id,
            order_lines.c.line_no,
            order_lines.c.backordered,
            products.c.sku,
        )
        .join(products, products.c.id == order_lines.c.product_id)
        .where(order_lines.c.order_id.in_(list(by_id)))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    ).all()
    line_ids = [line.id for line in lines]
    wanted = _unsent(conn, line_ids, list(takers), list(by_id))
    waiting: dict[int, int] = defaultdict(int)
    for line in lines:
        waiting[line.order_id] += line.backordered
    made = 0
    for order_id, order in sorted(by_id.items()):
        if order.shipping_preference == "ship_complete" and waiting[order_id]:
            continue  # its units at a 3PL wait for the rest: asked for once nothing waits
        ref = f"{order.channel}:{order.external_id}"
        for location_id in sorted(takers, key=lambda i: takers[i].code):
            asked = [
                (line, wanted[(line.id, location_id)])
                for line in lines
                if line.order_id == order_id and wanted.get((line.id, location_id), 0) > 0
            ]
            if asked:
                _make(conn, (order, ref, newest[ref]), takers[location_id], asked, now)
                made += 1
    return made


def _unsent(
    conn: Connection, line_ids: list[int], location_ids: list[int], order_ids: list[int]
) -> dict[Key, int]:
    """Per (line, location): held there + shipped from there - asked for already."""
    found: dict[Key, int] = defaultdict(int)
    held = line_holdings.c
    for line_id, location_id, units in conn.execute(
        select(held.line_id, held.location_id, held.allocated).where(
            held.line_id.in_(line_ids), held.location_id.in_(location_ids)
        )
    ):
        found[(line_id, location_id)] += units
    for line_id, location_id, units in conn.execute(
        select(shipment_lines.c.line_id, shipments.c.location_id, func.sum(shipment_lines.c.units))
        .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .where(shipment_lines.c.line_id.in_(line_ids), shipments.c.location_id.in_(location_ids))
        .group_by(shipment_lines.c.line_id, shipments.c.location_id)
    ):
        found[(line_id, location_id)] += int(units)
    for location_id, asked in conn.execute(
        select(shipping_table.c.location_id, shipping_table.c.lines).where(
            shipping_table.c.order_id.in_(order_ids)
        )
    ):
        for entry in asked:
            found[(int(entry["line_id"]), location_id)] -= int(entry["units"])
    return found


def _make(
    conn: Connection,
    order_ref_event: tuple[Any, str, int],
    location: Any,
    asked: list[tuple[Any, int]],
    now: datetime,
) -> None:
    """One shipping order, its document and its delivery."""
    order, ref, event_id = order_ref_event
    earlier = conn.execute(
        select(func.count())
        .select_from(shipping_table)
        .where(
            shipping_table.c.order_id == order.id,
            shipping_table.c.location_id == location.id,
        )
    ).scalar_one()
    shipping = ShippingOrder(
        number=f"{ref}-{location.code}-{earlier + 1}",
        order_ref=ref,
        location=location.code,
        customer=order.customer_name,
        country=order.ship_country,
        ship_complete=order.shipping_preference == "ship_complete",
        lines=tuple(OrderLine(line.line_no, line.sku, units) for line, units in asked),
    )
    message_id = "wso_" + hashlib.sha256(shipping.number.encode()).hexdigest()[:40]
    fmt = location.orders_format or "json"
    new_id = conn.execute(
        insert(shipping_table)
        .values(
            number=shipping.number,
            order_id=order.id,
            location_id=location.id,
            event_id=event_id,
            format=fmt,
            message_id=message_id,
            lines=[
                {"line_id": line.id, "line": line.line_no, "sku": line.sku, "units": units}
                for line, units in asked
            ],
            document="",
            created_at=now,
        )
        .returning(shipping_table.c.id)
    ).scalar_one()
    conn.execute(
        shipping_table.update()
        .where(shipping_table.c.id == new_id)
        .values(document=document(shipping, fmt, int(new_id), now))
    )
    conn.execute(
        insert(deliveries).values(
            event_id=event_id,
            channel=CHANNEL,
            kind=fmt,
            recipient=location.orders_url,
            message_id=message_id,
            state="due",
            attempts=0,
            due_at=now,
            created_at=now,
            order_ref=ref,
        )
    )
