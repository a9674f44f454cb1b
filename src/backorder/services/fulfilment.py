"""A location's word that an order's units left it (a 3PL's shipping advice): the units it
holds there ship, with the carrier's tracking. Called by the feed intake inside the
payload's own transaction."""

from __future__ import annotations

from datetime import datetime

from backorder.domain.errors import InvalidRequest
from backorder.intake.feeds import ShipmentConfirmation
from backorder.services.orders import lock_order, ship_from
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, holdings_of
from backorder.store.repos import Outbox, Products


def confirm_shipment(
    uow: UnitOfWork, location_id: int, document: ShipmentConfirmation, now: datetime
) -> str:
    """Ship, within `uow`, the units of each SKU the confirmation names from what the order
    holds at the location; what was done, in words. The goods have left: a ship-complete
    order is not held back, but units the order does not hold there are refused."""
    order, lines, rows = lock_order(uow, document.order_ref)
    site = next((s for s in all_sites(uow.connection) if s.id == location_id), None)
    if site is None:
        raise InvalidRequest(f"no location with id {location_id}")
    held = holdings_of(uow.connection, [line.id for line in lines])
    wanted: dict[str, int] = {}
    for item in document.lines:
        wanted[item.sku] = wanted.get(item.sku, 0) + item.units
    plan: dict[int, int] = {}
    for line in sorted(lines, key=lambda line: line.line_no):  # earlier lines first
        here = min(held[line.id].get(site.id, 0), wanted.get(line.sku, 0))
        if here > 0:
            plan[line.line_no] = here
            wanted[line.sku] -= here
    short = {sku: units for sku, units in wanted.items() if units > 0}
    if short:
        sku, units = sorted(short.items())[0]
        raise InvalidRequest(
            f"order {document.order_ref} holds {units} unit(s) of {sku} fewer at {site.code} "
            "than the confirmation ships"
        )
    _, event = ship_from(uow, (order, lines, rows), site, plan, (document.tracking, now))
    Products(uow.connection).save_stocks(list(rows.values()), now)
    Outbox(uow.connection).append([event], now)
    units = sum(plan.values())
    tracking = f", tracking {document.tracking}" if document.tracking else ""
    return f"shipped {units} unit(s) of {document.order_ref} from {site.code}{tracking}"
