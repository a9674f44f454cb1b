"""A 3PL's or a marketplace's word that an order's units left one of its warehouses: ship
them here, from that location, with the carrier's tracking.

`confirm_shipment` runs inside the caller's transaction (the feed intake's, which also marks
the stored payload), through the same code path as `order ship` (`orders.ship_locked`).
Its rules:
- the confirmed units of a SKU ship from the order's lines of that SKU held at the location,
  in line order; fewer than held: those ship, the rest stays allocated there;
- more than the order holds there, a SKU the order does not have, an unknown order: refused
  (a `BackorderError`, which the intake keeps as a dead letter), nothing changed;
- a ship-complete order ships only when nothing of it waits at any location (NotReadyToShip:
  a dead letter, replayable once the rest is allocated);
- the same shipment confirmed again (same sender's shipment id, else same tracking, for the
  same order and location) ships nothing and says so: the answer is not an error;
- the order is named by its reference, or by one of our shipping orders to that location
  (its short reference, the 940's W05-02 that a 945 brings back in W06-02, or its number);
  a shipping order we cancelled is refused, in words, and units no longer held there say
  which cancellations took them off.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, tuple_

from backorder.domain.errors import InvalidRequest, NotReadyToShip
from backorder.domain.model import parse_ref
from backorder.intake.feeds import ShipmentConfirmation
from backorder.services.orders import Dispatch, check_shippable, lock_order, ship_locked
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, holdings_of
from backorder.store.repos import LineRow
from backorder.store.tables import orders, shipments, shipping_orders

MAX_LINES = 10_000


def confirm_shipment(
    uow: UnitOfWork, location_id: int, document: ShipmentConfirmation, now: datetime
) -> str:
    """Ship what a confirmation says left `location_id`, in the caller's transaction (not
    committed here); what came of it, in words."""
    if not document.lines or len(document.lines) > MAX_LINES:
        raise InvalidRequest(f"a shipment confirmation lists 1 to {MAX_LINES:,} lines")
    confirmed: dict[str, int] = {}
    for item in document.lines:
        if item.units <= 0:
            raise InvalidRequest(f"{item.sku}: {item.units} units shipped; must be more than 0")
        confirmed[item.sku] = confirmed.get(item.sku, 0) + item.units
    site = next((s for s in all_sites(uow.connection) if s.id == location_id), None)
    if site is None:
        raise InvalidRequest(f"no location with id {location_id}")
    ref, cancelled = _order_named(uow, site.id, site.code, document.order_ref)
    locked = lock_order(uow, ref)
    order, lines, _ = locked
    key = document.reference or document.tracking
    if key is not None:
        done = uow.connection.execute(
            select(shipments.c.id).where(
                shipments.c.order_id == order["id"],
                shipments.c.location_id == site.id,
                shipments.c.reference == key[:128],
            )
        ).scalar_one_or_none()
        if done is not None:
            return (
                f"already shipped: {ref} from {site.code} ({key}), shipment {done}; nothing changed"
            )
    try:
        check_shippable(lines)
    except NotReadyToShip as refused:
        if cancelled:  # say why: the units went back when the order or line was cancelled
            raise NotReadyToShip(f"{refused} at {site.code} for {ref}{cancelled}") from None
        raise
    held = holdings_of(uow.connection, [line.id for line in lines])
    here = {line.id: held[line.id].get(site.id, 0) for line in lines}
    plan: dict[int, int] = {}
    for sku, units in sorted(confirmed.items()):
        of_sku = [line for line in lines if line.sku == sku]
        if not of_sku:
            raise InvalidRequest(f"order {ref} has no line of SKU {sku!r}: nothing shipped")
        holds = sum(here[line.id] for line in of_sku)
        if units > holds:
            raise InvalidRequest(
                f"{units} units of {sku} confirmed shipped from {site.code}, but order {ref} "
                f"holds {holds} there: nothing shipped" + cancelled
            )
        plan |= _take(of_sku, here, units)
    ship_locked(uow, locked, [(site, plan)], Dispatch(document.tracking, now, key and key[:128]))
    units = sum(plan.values())
    carried = " ".join(part for part in (document.carrier, document.tracking) if part)
    return f"shipped {units} unit{'s' if units != 1 else ''} of {ref} from {site.code}" + (
        f" ({carried})" if carried else ""
    )


def _order_named(uow: UnitOfWork, site_id: int, code: str, named: str) -> tuple[str, str]:
    """The order reference a confirmation names (itself, or through one of our shipping
    orders to the location), and words on the cancellations sent there for the order."""
    conn = uow.connection
    so = shipping_orders.c
    found = conn.execute(
        select(so.id, so.number, orders.c.channel, orders.c.external_id)
        .join(orders, orders.c.id == so.order_id)
        .where(
            so.location_id == site_id,
            so.kind == "order",
            or_(so.short_ref == named, so.number == named),
        )
        .limit(1)
    ).first()
    ref = f"{found.channel}:{found.external_id}" if found is not None else named
    if found is not None:
        cancel = conn.execute(
            select(so.number, so.created_at).where(so.cancels == found.id)
        ).first()
        if cancel is not None:
            raise InvalidRequest(
                f"shipping order {found.number} ({named}) of {ref} to {code} was cancelled "
                f"on {cancel.created_at:%Y-%m-%d %H:%M} UTC ({cancel.number}): its units are "
                "no longer held there for the order; nothing shipped"
            )
    numbers = (
        conn.execute(
            select(so.number)
            .join(orders, orders.c.id == so.order_id)
            .where(
                so.location_id == site_id,
                so.kind == "cancel",
                tuple_(orders.c.channel, orders.c.external_id).in_([_pair(ref)]),
            )
            .order_by(so.id)
            .limit(5)
        )
        .scalars()
        .all()
    )
    words = f" (units taken off by cancellation {', '.join(numbers)})" if numbers else ""
    return ref, words


def _pair(ref: str) -> tuple[str, str]:
    try:
        return parse_ref(ref)
    except ValueError:
        return ("", ref)


def _take(lines: list[LineRow], here: dict[int, int], units: int) -> dict[int, int]:
    """Units per line number: `units` from these lines, in line order, each at most what it
    holds here (line id -> units)."""
    plan: dict[int, int] = {}
    for line in sorted(lines, key=lambda line: line.line_no):
        take = min(units, here[line.id])
        if take:
            plan[line.line_no] = take
            units -= take
    return plan
