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
units at a 3PL wait until then). When a location was asked for more than the order holds
there and shipped from there (units cancelled, counted away, allocated elsewhere), its
newest shipping orders there are cancelled, as many as cover the difference (rows of kind
`cancel`, each sent as its own document), and what the order still holds there is asked
for again: cancel and replace. Sending is the webhooks' (`services/sending.py`): signed,
retried with backoff, dead after the last try, the same bytes and `webhook-id` each time."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, tuple_

from backorder.domain.model import parse_ref
from backorder.notify.shipping_orders import REF_MAX, OrderLine, ShippingOrder, document
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
MOVES = (
    "units_allocated",
    "units_cancelled",
    "allocation_taken_back",
)  # events after which an order is looked at

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
    """The shipping orders and cancellations of these orders (ref -> its newest event here),
    set-based: a handful of queries whatever the number of orders."""
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
    ledger = _ledger(conn, [line.id for line in lines], list(takers), list(by_id))
    waiting: dict[int, int] = defaultdict(int)
    of_order: dict[int, list[Any]] = defaultdict(list)
    for line in lines:
        waiting[line.order_id] += line.backordered
        of_order[line.order_id].append(line)
    made = 0
    for order_id, order in sorted(by_id.items()):
        ref = f"{order.channel}:{order.external_id}"
        for location_id in sorted(takers, key=lambda i: takers[i].code):
            pass_ = _Pass(conn, (order, ref, newest[ref]), takers[location_id], now)
            made += pass_.run(of_order[order_id], ledger, waiting[order_id])
    return made


class _Ledger:
    """Per (line, location): units held there, shipped from there, and asked for there by
    shipping orders less what cancellations took off; and the shipping orders themselves."""

    def __init__(self) -> None:
        self.held: dict[Key, int] = defaultdict(int)
        self.shipped: dict[Key, int] = defaultdict(int)
        self.asked: dict[Key, int] = defaultdict(int)
        self.sent: dict[tuple[int, int], list[Any]] = defaultdict(list)  # (order, location)
        self.cancelled: set[int] = set()

    def unsent(self, key: Key) -> int:
        return self.held[key] + self.shipped[key] - self.asked[key]


def _ledger(
    conn: Connection, line_ids: list[int], location_ids: list[int], order_ids: list[int]
) -> _Ledger:
    found = _Ledger()
    held = line_holdings.c
    for line_id, location_id, units in conn.execute(
        select(held.line_id, held.location_id, held.allocated).where(
            held.line_id.in_(line_ids), held.location_id.in_(location_ids)
        )
    ):
        found.held[(line_id, location_id)] += units
    for line_id, location_id, units in conn.execute(
        select(shipment_lines.c.line_id, shipments.c.location_id, func.sum(shipment_lines.c.units))
        .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .where(shipment_lines.c.line_id.in_(line_ids), shipments.c.location_id.in_(location_ids))
        .group_by(shipment_lines.c.line_id, shipments.c.location_id)
    ):
        found.shipped[(line_id, location_id)] += int(units)
    for row in conn.execute(
        select(
            shipping_table.c.id,
            shipping_table.c.order_id,
            shipping_table.c.location_id,
            shipping_table.c.kind,
            shipping_table.c.number,
            shipping_table.c.short_ref,
            shipping_table.c.cancels,
            shipping_table.c.lines,
        )
        .where(shipping_table.c.order_id.in_(order_ids))
        .order_by(shipping_table.c.id)
    ):
        for entry in row.lines:
            found.asked[(int(entry["line_id"]), row.location_id)] += int(entry["units"])
        if row.kind == "cancel":
            found.cancelled.add(int(row.cancels))
        else:
            found.sent[(row.order_id, row.location_id)].append(row)
    return found


class _Pass:
    """One order at one location: cancel what the location was asked for and no longer
    holds for the order (and has not shipped), then ask for what it holds and was not asked
    for."""

    def __init__(
        self, conn: Connection, order_ref_event: tuple[Any, str, int], location: Any, now: datetime
    ) -> None:
        self.conn = conn
        self.order, self.ref, self.event_id = order_ref_event
        self.location = location
        self.now = now

    def run(self, lines: list[Any], ledger: _Ledger, waiting: int) -> int:
        where = self.location.id
        sent = ledger.sent[(self.order.id, where)]
        number = f"{self.ref}-{self.location.code}-{len(sent) + 1}"
        made = 0
        if any(ledger.unsent((line.id, where)) < 0 for line in lines):
            cancels = _cancels(lines, ledger, where, sent)
            for line in lines:  # what the cancellations take off is asked for no more
                key = (line.id, where)
                ledger.asked[key] -= sum(off.get(line.id, 0) for _, off in cancels)
            ship_complete = self.order.shipping_preference == "ship_complete"
            again = any(ledger.unsent((line.id, where)) > 0 for line in lines)
            replaced_by = number if again and not (ship_complete and waiting) else None
            for row, off in cancels:
                taken = [(line, off[line.id]) for line in lines if off.get(line.id)]
                self._cancel(row, taken, replaced_by)
                made += 1
        if self.order.shipping_preference == "ship_complete" and waiting:
            return made  # its units at a 3PL wait for the rest: asked for once nothing waits
        asked = [
            (line, ledger.unsent((line.id, where)))
            for line in lines
            if ledger.unsent((line.id, where)) > 0
        ]
        if asked:
            self._order(number, asked)
            made += 1
        return made

    def _order(self, number: str, asked: list[tuple[Any, int]]) -> None:
        order = self.order
        shipping = ShippingOrder(
            number=number,
            order_ref=self.ref,
            location=self.location.code,
            customer=order.customer_name,
            country=order.ship_country,
            ship_complete=order.shipping_preference == "ship_complete",
            lines=tuple(OrderLine(line.line_no, line.sku, units) for line, units in asked),
        )
        self._keep(shipping, "order", None, asked)

    def _cancel(self, row: Any, off: list[tuple[Any, int]], replaced_by: str | None) -> None:
        order = self.order
        shipping = ShippingOrder(
            number=row.number,
            order_ref=self.ref,
            location=self.location.code,
            customer=order.customer_name,
            country=order.ship_country,
            ship_complete=order.shipping_preference == "ship_complete",
            lines=tuple(OrderLine(line.line_no, line.sku, units) for line, units in off),
            short_ref=row.short_ref or self.ref,  # of old, a 940 carried the order reference
            cancel=True,
            replaced_by=replaced_by,
        )
        self._keep(shipping, "cancel", int(row.id), [(line, -units) for line, units in off])

    def _keep(
        self, shipping: ShippingOrder, kind: str, cancels: int | None, lines: list[tuple[Any, int]]
    ) -> None:
        """Its row, its document (made once, numbered by the row) and its delivery."""
        conn, now, location = self.conn, self.now, self.location
        number = f"{shipping.number}-cancel" if cancels is not None else shipping.number
        message_id = "wso_" + hashlib.sha256(number.encode()).hexdigest()[:40]
        fmt = location.orders_format or "json"
        new_id = conn.execute(
            insert(shipping_table)
            .values(
                number=number,
                order_id=self.order.id,
                location_id=location.id,
                event_id=self.event_id,
                format=fmt,
                message_id=message_id,
                kind=kind,
                cancels=cancels,
                lines=[
                    {"line_id": line.id, "line": line.line_no, "sku": line.sku, "units": units}
                    for line, units in lines
                ],
                document="",
                created_at=now,
            )
            .returning(shipping_table.c.id)
        ).scalar_one()
        if cancels is None:
            shipping = replace(shipping, short_ref=short_ref(shipping.number, int(new_id)))
        conn.execute(
            shipping_table.update()
            .where(shipping_table.c.id == new_id)
            .values(
                document=document(shipping, fmt, int(new_id), now),
                short_ref=None if cancels is not None else shipping.short_ref,
            )
        )
        conn.execute(
            insert(deliveries).values(
                event_id=self.event_id,
                channel=CHANNEL,
                kind=fmt,
                recipient=location.orders_url,
                message_id=message_id,
                state="due",
                attempts=0,
                due_at=now,
                created_at=now,
                order_ref=self.ref,
            )
        )


def short_ref(number: str, row_id: int) -> str:
    """What a 940's W05-02 carries for shipping order `number` (row `row_id`): the number
    when X12 4010 takes it as it is (22 characters, none a separator), else `BO<id>`.
    A number always holds a `:` (of its order reference), so the two never meet."""
    fits = len(number) <= REF_MAX and all(c.isprintable() and c not in "*>~^" for c in number)
    return number if fits and number.strip() == number else f"BO{row_id}"


def _cancels(
    lines: list[Any], ledger: _Ledger, where: int, sent: list[Any]
) -> list[tuple[Any, dict[int, int]]]:
    """The shipping orders to cancel, each with what it takes off (line id -> units).
    Newest first (a 3PL ships the older first), only as many as cover what the location was
    asked for beyond what it holds and shipped (a 940 cancels a whole shipping order: one
    taken off for part of its units is replaced). What each takes off is what it asked for
    and, by that order, has not shipped."""
    left = {
        line.id: max(0, ledger.asked[(line.id, where)] - ledger.shipped[(line.id, where)])
        for line in lines
    }
    short = {line.id: -ledger.unsent((line.id, where)) for line in lines}
    found = []
    for row in reversed(sent):
        if not any(units > 0 for units in short.values()):
            break
        if row.id in ledger.cancelled:
            continue
        off: dict[int, int] = {}
        for entry in row.lines:
            line_id = int(entry["line_id"])
            off[line_id] = off.get(line_id, 0) + min(int(entry["units"]), left.get(line_id, 0))
            left[line_id] = left.get(line_id, 0) - off[line_id]
        if any(short.get(line_id, 0) > 0 and units > 0 for line_id, units in off.items()):
            off = {line_id: units for line_id, units in off.items() if units > 0}
            for line_id, units in off.items():
                short[line_id] = short.get(line_id, 0) - units
            found.append((row, off))
            ledger.cancelled.add(row.id)
    return found
