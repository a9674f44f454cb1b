"""Shipping orders to 3PL and FBA locations, planned from the outbox.

A reader of the outbox of its own (consumer `shipping_orders`) takes the `units_allocated`
events written since its position. Units allocated at a location of kind `3pl` or `fba`
that takes shipping orders (`location update CODE --orders-to URL`) make, per order and
location and per transaction that allocated them (the events of one intake or one receipt),
one shipping order `<order ref>-<location>-<n>`: its document (an X12 940 or JSON, per the
location's setting) is made and kept once, and a delivery of it is planned in the same
transaction that moves the position, so each is planned exactly once. Sending is the
webhooks' (`services/sending.py`): signed, retried with backoff, dead after the last try,
the same bytes and the same `webhook-id` on every attempt."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from backorder.domain.model import parse_ref
from backorder.notify.shipping_orders import OrderLine, ShippingOrder, document
from backorder.services.consumers import save_position
from backorder.services.context import Backorder
from backorder.store.tables import deliveries, event_consumers, events, locations, orders
from backorder.store.tables import shipping_orders as shipping_table

log = logging.getLogger(__name__)

CONSUMER = "shipping_orders"
CHANNEL = "warehouse"  # deliveries.channel of shipping orders
KINDS = ("3pl", "fba")


def _position(conn: Connection, dialect: str) -> int:
    query = select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
    if dialect != "sqlite":
        query = query.with_for_update()
    found = conn.execute(query).scalar_one_or_none()
    return int(found) if found is not None else 0  # the migration records where it starts


def _placed(payload: dict[str, Any]) -> list[tuple[str, int]]:
    """(location code, units) an allocation event placed, at intake or from a receipt."""
    why = payload.get("why") or {}
    if isinstance(why.get("locations"), list):
        return [
            (str(p["location"]), int(p["units"]))
            for p in why["locations"]
            if isinstance(p, dict) and p.get("location") and p.get("units")
        ]
    if why.get("location"):
        return [(str(why["location"]), int(payload.get("units") or 0))]
    return []


def _source(payload: dict[str, Any]) -> tuple[str, str]:
    return str(payload.get("source")), str(payload.get("ref"))


def plan_shipping_orders(app: Backorder, limit: int = 1000, rounds: int = 100) -> int:
    """Plan the shipping orders of the allocations not yet read; how many."""
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
            select(
                events.c.id,
                events.c.type,
                events.c.order_ref,
                events.c.occurred_at,
                events.c.payload,
            )
            .where(events.c.id > position)
            .order_by(events.c.id)
            .limit(limit)
        ).all()
        if not batch:
            return 0, 0
        takers = {
            row.code: row
            for row in conn.execute(
                select(locations).where(
                    locations.c.kind.in_(KINDS), locations.c.orders_url.is_not(None)
                )
            )
        }
        groups: dict[tuple[str, str, int], list[OrderLine]] = {}
        # (order, location, when, source, ref) -> its first event: what one intake or one
        # receipt allocated, together
        firsts: dict[tuple[Any, ...], int] = {}
        for event in batch:
            if event.type != "units_allocated" or not event.order_ref:
                continue
            for code, units in _placed(event.payload):
                if code in takers and units > 0:
                    key = (event.order_ref, code, event.occurred_at, *_source(event.payload))
                    start = firsts.setdefault(key, event.id)
                    line = OrderLine(int(event.payload["line"]), str(event.payload["sku"]), units)
                    groups.setdefault((event.order_ref, code, start), []).append(line)
        made = 0
        for (ref, code, first), lines in groups.items():
            made += _make(conn, takers[code], (ref, first), lines, now)
        save_position(conn, uow.dialect, CONSUMER, batch[-1].id, now)
        uow.commit()
    return made, len(batch)


def _make(
    conn: Connection,
    location: Any,
    ref_event: tuple[str, int],
    lines: list[OrderLine],
    now: datetime,
) -> int:
    """One shipping order and its delivery; 0 when the order is gone (it never is)."""
    ref, event_id = ref_event
    channel, external_id = parse_ref(ref)
    order = conn.execute(
        select(orders).where(orders.c.channel == channel, orders.c.external_id == external_id)
    ).first()
    if order is None:
        log.error("allocation event %s names order %s, which does not exist", event_id, ref)
        return 0
    merged: dict[tuple[int, str], int] = {}
    for line in lines:
        merged[(line.line, line.sku)] = merged.get((line.line, line.sku), 0) + line.units
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
        lines=tuple(OrderLine(n, sku, u) for (n, sku), u in sorted(merged.items())),
    )
    message_id = f"wso_{event_id}_{location.id}"
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
    return 1
