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
  same order and location) ships nothing and says so: the answer is not an error.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backorder.domain.errors import InvalidRequest
from backorder.intake.feeds import ShipmentConfirmation
from backorder.services.orders import Dispatch, check_shippable, lock_order, ship_locked
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, holdings_of
from backorder.store.repos import LineRow
from backorder.store.tables import shipments

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
    ref = document.order_ref
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
    check_shippable(lines)
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
                f"holds {holds} there: nothing shipped"
            )
        plan |= _take(of_sku, here, units)
    ship_locked(uow, locked, [(site, plan)], Dispatch(document.tracking, now, key and key[:128]))
    units = sum(plan.values())
    carried = " ".join(part for part in (document.carrier, document.tracking) if part)
    return f"shipped {units} unit{'s' if units != 1 else ''} of {ref} from {site.code}" + (
        f" ({carried})" if carried else ""
    )


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
