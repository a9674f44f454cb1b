"""Available to promise, for the network or one location: what is on the shelves, what is
on its way (purchase orders and transfers, each where it arrives), and what a new order
could be promised by each date once the waiting queue has taken its share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backorder.domain.errors import UnknownSku
from backorder.domain.network_supply import Waiter, promise, restricts
from backorder.domain.sourcing import Site
from backorder.domain.supply import Inbound, Promisable
from backorder.services.context import Backorder
from backorder.store.network import all_sites, load_levels, site_named
from backorder.store.repos import Products
from backorder.store.supply import outlooks, waiting_lines


def _percent(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _points(points: list[Promisable]) -> list[dict[str, Any]]:
    return [{"date": p.on.isoformat(), "units": p.units} for p in points]


def _entry(inbound: Inbound, codes: dict[int, str], units: int) -> dict[str, Any]:
    return {
        "po": inbound.po or None,
        "transfer": inbound.transfer,
        "location": codes.get(inbound.location) if inbound.location is not None else None,
        "from_location": codes.get(inbound.source) if inbound.source is not None else None,
        "expected_on": inbound.expected_on.isoformat(),
        "units": units,
    }


def atp(app: Backorder, sku: str, location: str | None = None) -> dict[str, Any]:
    """How many units a new order could be promised by each future date, for the network
    (None) or one location, and the date of anything beyond (a new purchase order, ordered
    today). Transfers not yet shipped count where they arrive and, until they leave, are
    not promised where they sit."""
    today = app.now().date()
    with app.db.read() as uow:
        conn = uow.connection
        row = Products(conn).get(sku)
        if row is None:
            raise UnknownSku(sku)
        sites = all_sites(conn)
        here = site_named(sites, location) if location is not None else None
        outlook = outlooks(conn, [row], today)[row.id]
        levels = load_levels(conn, [row.id])[row.id]
        by_id = {site.id: site for site in sites}
        leaving: dict[int, int] = {}
        for inbound in outlook.inbound:
            if inbound.source is not None:
                leaving[inbound.source] = leaving.get(inbound.source, 0) + inbound.units
        free = {loc: max(0, lv.available - leaving.get(loc, 0)) for loc, lv in levels.items()}
        picky = any(restricts(i, by_id) for i in outlook.inbound) or any(
            restricts(Inbound("", today, units, loc), by_id) for loc, units in free.items()
        )
        queue = (
            waiting_lines(conn, row.id)
            if picky
            else [Waiter(0, row.stock.backordered)]
            if row.stock.backordered
            else []
        )
    promised = promise(queue, free, outlook, by_id)
    codes = {site.id: site.code for site in sites}
    places = [site for site in sites if site.id in levels or site.id in promised.by_location]
    view = {
        "sku": sku,
        "today": today.isoformat(),
        "location": here.code if here else None,
        "backordered": row.stock.backordered,
        "beyond_supply": outlook.beyond_supply.isoformat() if outlook.beyond_supply else None,
        "lead_time_days": outlook.lead_time_days,
        "supplier": row.product.supplier,
        "supplier_on_time_percent": _percent(outlook.on_time_percent),
    }
    if here is None:
        return view | {
            "on_hand": row.stock.on_hand,
            "allocated": row.stock.allocated,
            "available": row.stock.available,
            "inbound": [_entry(i, codes, i.units) for i in outlook.inbound],
            "promisable": _points(promised.network),
            "locations": [_at(site, levels, promised.by_location) for site in places],
        }
    level = _at(here, levels, promised.by_location)
    arriving = [_entry(i, codes, i.units) for i in outlook.inbound if i.location == here.id]
    leaving_here = [_entry(i, codes, -i.units) for i in outlook.inbound if i.source == here.id]
    return (
        view
        | {k: level[k] for k in ("on_hand", "allocated", "available", "promisable")}
        | {"inbound": arriving + leaving_here, "locations": [level]}
    )


def _at(
    site: Site, levels: dict[int, Any], by_location: dict[int | None, list[Promisable]]
) -> dict[str, Any]:
    level = levels.get(site.id)
    on_hand, allocated = (level.on_hand, level.allocated) if level else (0, 0)
    return {
        "location": site.code,
        "on_hand": on_hand,
        "allocated": allocated,
        "available": on_hand - allocated,
        "promisable": _points(by_location.get(site.id, [])),
    }
