"""Changing an order after intake: cancel (order, line, part of a line), ship, expedite."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from backorder.domain.allocation import plan_cancel, plan_shipment
from backorder.domain.errors import ImpossibleCancel, InvalidRequest, NotReadyToShip, UnknownOrder
from backorder.domain.events import (
    Event,
    OrderExpedited,
    ShippedLine,
    UnitsCancelled,
    UnitsShipped,
)
from backorder.domain.model import AllocationSource, parse_ref
from backorder.domain.sourcing import Site, site_order
from backorder.services.context import Backorder
from backorder.services.queueing import rerank, serve_network
from backorder.services.schedule import reschedule
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, change_holdings, holdings_of, site_named
from backorder.store.repos import LineRow, Lines, Outbox, ProductRow, Products
from backorder.store.tables import cancellations, orders, shipment_lines, shipments

CUSTOMER_REQUEST = "customer_request"


@dataclass(frozen=True)
class Cancelled:
    ref: str
    units: int
    released: int  # allocated units handed back to the queue
    reallocated: int  # of those, units the queue took at once


@dataclass(frozen=True)
class Shipped:
    ref: str
    units: int
    shipment_id: int  # the first of them
    complete: bool
    shipments: tuple[int, ...] = ()  # one per location shipped from


# Built once: building a statement and its cache key costs more than running it on SQLite.
_FIND_ORDER = select(orders).where(
    orders.c.channel == bindparam("channel"), orders.c.external_id == bindparam("external_id")
)


def find_order(uow: UnitOfWork, ref: str) -> dict[str, Any]:
    try:
        channel, external_id = parse_ref(ref)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None
    row = (
        uow.connection.execute(_FIND_ORDER, {"channel": channel, "external_id": external_id})
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownOrder(ref)
    return dict(row)


def lock_order(
    uow: UnitOfWork, ref: str
) -> tuple[dict[str, Any], list[LineRow], dict[int, ProductRow]]:
    """Lock the order's SKUs (in SKU order), then read its lines under those locks."""
    order = find_order(uow, ref)
    lines = Lines(uow.connection)
    product_ids = {line.product_id for line in lines.of_order(order["id"])}
    rows = Products(uow.connection).lock_by_id(product_ids)
    return order, lines.of_order(order["id"]), rows


def cancel_order(
    app: Backorder,
    ref: str,
    line_no: int | None = None,
    units: int | None = None,
    reason: str | None = None,
) -> Cancelled:
    """Cancel the whole order, one line, or part of one line, before shipment. Allocated
    units released by the cancel go to the queue in the same transaction."""
    if units is not None and line_no is None:
        raise InvalidRequest("a cancel quantity needs a line number")
    now = app.now()
    with app.db.write() as uow:
        _, lines, rows = lock_order(uow, ref)
        if line_no is not None:
            targets = [line for line in lines if line.line_no == line_no]
            if not targets:
                raise InvalidRequest(f"order {ref} has no line {line_no}")
        else:
            targets = [line for line in lines if line.qty.open > 0]
            if not targets:
                raise ImpossibleCancel(f"order {ref} has nothing left to cancel")
        done, facts = cancel_lines(
            app, uow, (ref, rows), [(line, units) for line in targets], reason or CUSTOMER_REQUEST
        )
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return done


def cancel_lines(
    app: Backorder,
    uow: UnitOfWork,
    order: tuple[str, dict[int, ProductRow]],
    targets: list[tuple[LineRow, int | None]],
    reason: str,
) -> tuple[Cancelled, list[Event]]:
    """Within the caller's transaction, with the order's SKUs locked and its lines read under
    the locks (`lock_order`): cancel so many units of each line (None: all it has open), hand
    released stock to the queue and date the queue again. The events, for the caller."""
    ref, rows = order
    now = app.now()
    lines = [line for line, _ in targets]
    facts: list[Event] = []
    log: list[dict[str, Any]] = []
    released = 0
    sites = all_sites(uow.connection)
    held = holdings_of(uow.connection, [line.id for line in lines])
    freed: list[tuple[int, int, int]] = []  # (line id, location id, -units)
    for line, units in targets:
        plan = plan_cancel(line.qty, units)
        row = rows[line.product_id]
        line.qty.backordered -= plan.from_backordered
        line.qty.allocated -= plan.from_allocated
        line.qty.cancelled += plan.units
        row.stock.backordered -= plan.from_backordered
        freed.extend(_release(row, line.id, held[line.id], plan.from_allocated, sites))
        released += plan.from_allocated
        log.append(
            {
                "line_id": line.id,
                "units": plan.units,
                "from_allocated": plan.from_allocated,
                "from_backordered": plan.from_backordered,
                "reason": reason,
                "cancelled_at": now,
            }
        )
        facts.append(
            UnitsCancelled(
                order=line.order,
                sku=line.sku,
                line=line.line_no,
                units=plan.units,
                from_backordered=plan.from_backordered,
                from_allocated=plan.from_allocated,
                reason=reason,
                unit_price=line.unit_price,
                value=line.unit_price * plan.units,
            )
        )
    if not lines:
        return Cancelled(ref, 0, 0, 0), facts
    Lines(uow.connection).save_quantities(lines, now)
    uow.connection.execute(insert(cancellations), log)
    change_holdings(uow.connection, freed)
    reallocated = 0
    for row in sorted(rows.values(), key=lambda r: r.product.sku):
        moved = serve_network(
            uow,
            row,
            app.ranking(row.product.queue),
            (AllocationSource.RELEASE, ref),
            now,
            sites,
            ship_complete=app.settings.ship_complete,
        )
        reallocated += moved.units
        facts.extend(moved.events)
    Products(uow.connection).save_stocks(list(rows.values()), now)
    facts.extend(reschedule(uow, rows.values(), now, app.settings.eta_change_days))
    return Cancelled(ref, sum(entry["units"] for entry in log), released, reallocated), facts


def _release(
    row: ProductRow, line_id: int, held: dict[int, int], units: int, sites: list[Site]
) -> list[tuple[int, int, int]]:
    """Release `units` a line holds, from the least preferred location first; the holdings'
    changes, for `change_holdings`."""
    changes = []
    for site in sorted(sites, key=site_order, reverse=True):
        if units <= 0:
            break
        here = min(units, held.get(site.id, 0))
        if here:
            row.allocate(site.id, -here)
            held[site.id] -= here
            changes.append((line_id, site.id, -here))
            units -= here
    if units:
        raise RuntimeError(f"{row.product.sku}: line {line_id} holds fewer units than allocated")
    return changes


@dataclass(frozen=True)
class Dispatch:
    """What a shipment carries besides its units: the carrier's tracking, when it left, and
    the sender's shipment id when a 3PL confirmed it (None: shipped by hand)."""

    tracking: str | None
    now: datetime
    reference: str | None = None


Locked = tuple[dict[str, Any], list[LineRow], dict[int, ProductRow]]


def ship_order(
    app: Backorder, ref: str, tracking: str | None = None, location: str | None = None
) -> Shipped:
    """Ship the order's allocated units held at `location`, or (None) at every location
    that holds some: one shipment per location, each with the tracking given. A
    ship-complete order ships only when nothing of it waits anywhere."""
    now = app.now()
    with app.db.write() as uow:
        locked = lock_order(uow, ref)
        _, lines, _ = locked
        check_shippable(lines)
        sites = all_sites(uow.connection)
        held = holdings_of(uow.connection, [line.id for line in lines])
        if location is not None:
            chosen = [site_named(sites, location)]
        else:
            chosen = sorted(
                (s for s in sites if any(h.get(s.id) for h in held.values())), key=site_order
            )
        if location is not None and not any(h.get(chosen[0].id) for h in held.values()):
            raise NotReadyToShip(f"nothing allocated at {location} to ship")
        plans = [
            (
                site,
                {
                    line.line_no: held[line.id][site.id]
                    for line in lines
                    if held[line.id].get(site.id)
                },
            )
            for site in chosen
        ]
        shipment_ids = ship_locked(uow, locked, plans, Dispatch(tracking, now))
        uow.commit()
    units_shipped = sum(sum(plan.values()) for _, plan in plans)
    complete = all(line.qty.open == 0 for line in lines)
    return Shipped(ref, units_shipped, shipment_ids[0], complete, tuple(shipment_ids))


def check_shippable(lines: list[LineRow]) -> None:
    """NotReadyToShip when nothing of the order is allocated, or when it ships complete and
    some of it still waits (at any location)."""
    plan_shipment({line.line_no: line.qty for line in lines}, lines[0].order.terms.preference)


def ship_locked(
    uow: UnitOfWork,
    locked: Locked,
    plans: list[tuple[Site, dict[int, int]]],
    dispatch: Dispatch,
) -> list[int]:
    """Within the caller's transaction, with the order locked (`lock_order`): one shipment
    per location, of the units each plan gives per line number (at most what the line holds
    there), with their events in the outbox. The shipments' ids. `order ship` and a 3PL's
    shipment confirmation both ship through here."""
    _, _, rows = locked
    shipment_ids: list[int] = []
    facts: list[Event] = []
    for site, plan in plans:
        sid, event = _ship_from(uow, locked, site, plan, dispatch)
        shipment_ids.append(sid)
        facts.append(event)
    Products(uow.connection).save_stocks(list(rows.values()), dispatch.now)
    Outbox(uow.connection).append(facts, dispatch.now)
    return shipment_ids


def _ship_from(
    uow: UnitOfWork,
    order_lines_rows: Locked,
    site: Site,
    plan: dict[int, int],
    dispatch: Dispatch,
) -> tuple[int, Event]:
    """One shipment from one location: the units `plan` gives per line number."""
    order, lines, rows = order_lines_rows
    tracking, now = dispatch.tracking, dispatch.now
    by_number = {line.line_no: line for line in lines}
    # what each line holds here: a shipment is exact when it ships all of that (accuracy),
    # whatever the line holds at other locations for their own shipments
    there = holdings_of(uow.connection, [by_number[number].id for number in plan])
    held = {number: there[by_number[number].id].get(site.id, 0) for number in plan}
    shipped: list[ShippedLine] = []
    for number, units in sorted(plan.items()):
        line = by_number[number]
        line.qty.allocated -= units
        line.qty.shipped += units
        row = rows[line.product_id]
        row.allocate(site.id, -units)
        row.put(site.id, -units)
        shipped.append(
            ShippedLine(number, line.sku, units, line.unit_price, line.unit_price * units)
        )
    complete = all(line.qty.open == 0 for line in lines)
    shipment_id = int(
        uow.connection.execute(
            insert(shipments)
            .values(
                order_id=order["id"],
                tracking=tracking,
                shipped_at=now,
                line_count=len(plan),
                exact_lines=sum(1 for n, u in plan.items() if u == held[n]),
                location_id=site.id,
                reference=dispatch.reference,
            )
            .returning(shipments.c.id)
        ).scalar_one()
    )
    if complete:
        uow.connection.execute(
            update(orders).where(orders.c.id == order["id"]).values(completed_at=now)
        )
    uow.connection.execute(
        insert(shipment_lines),
        [
            {
                "shipment_id": shipment_id,
                "line_id": by_number[n].id,
                "units": u,
                "allocated": held[n],
            }
            for n, u in sorted(plan.items())
        ],
    )
    change_holdings(uow.connection, [(by_number[n].id, site.id, -u) for n, u in plan.items()])
    Lines(uow.connection).save_quantities([by_number[n] for n in plan], now)
    event = UnitsShipped(
        order=lines[0].order,
        tracking=tracking,
        lines=tuple(shipped),
        value=sum((s.value for s in shipped), Decimal(0)),
        complete=complete,
    )
    return shipment_id, event


def expedite_order(app: Backorder, ref: str) -> int:
    """Set the manual expedite flag; the order's open lines are ranked afresh.
    Returns how many lines were re-ranked."""
    now = app.now()
    with app.db.write() as uow:
        order, lines, rows = lock_order(uow, ref)
        uow.connection.execute(
            update(orders).where(orders.c.id == order["id"]).values(expedite=True)
        )
        moved = 0
        for row in rows.values():
            ranking = app.ranking(row.product.queue)
            moved += rerank(uow, row, ranking, now, only_order=order["id"])
        context = lines[0].order
        context = replace(context, terms=replace(context.terms, expedite=True))
        facts: list[Event] = [OrderExpedited(order=context, lines_reranked=moved)]
        facts.extend(reschedule(uow, rows.values(), now, app.settings.eta_change_days))
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return moved
