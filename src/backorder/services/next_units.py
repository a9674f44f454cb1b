"""Where each SKU's queue gets its next units (GET /queues/{sku}/sources, the product page
and the dashboard's longest queues), and the network's stock per location (the dashboard)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from backorder.config import Settings
from backorder.domain.errors import UnknownSku
from backorder.domain.next_units import Source, next_from, sources
from backorder.domain.sourcing import site_order
from backorder.domain.supply import Inbound
from backorder.services.context import Backorder
from backorder.store.inbound import free_at, inbound_at, waiting_groups
from backorder.store.network import all_sites
from backorder.store.repos import Products
from backorder.store.tables import stock_levels

SHOWN_INBOUND = 5  # the next deliveries shown per location


def sources_of(
    conn: Connection, product_ids: Sequence[int], settings: Settings
) -> dict[int, list[Source]]:
    """Per product id: the locations that can serve its waiting lines, in sourcing order
    (none when nothing waits). Four statements, however many SKUs."""
    sites = sorted(all_sites(conn), key=site_order)
    default = next((s.id for s in sites if s.code == settings.default_location), None)
    inbound = inbound_at(conn, product_ids, default) if default is not None else {}
    groups = waiting_groups(conn, product_ids)
    free = free_at(conn, product_ids)
    found: dict[int, list[Source]] = {}
    for pid in product_ids:
        stock = (free.get(pid, {}), inbound.get(pid, {}))
        found[pid] = sources(sites, groups.get(pid, []), stock, settings.ship_complete)
    return found


def _inbound(item: Inbound, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "po": item.po or None,
        "transfer": item.transfer,
        "location": codes.get(item.location) if item.location is not None else None,
        "from_location": codes.get(item.source) if item.source is not None else None,
        "expected_on": item.expected_on.isoformat(),
        "units": item.units,
    }


def next_view(found: list[Source], codes: dict[int, str]) -> dict[str, Any] | None:
    """The headline: where the queue's next units come from, and when (None: now)."""
    picked = next_from(found)
    if picked is None:
        return None
    source, item = picked
    if item is None:
        return {
            "location": source.site.code,
            "po": None,
            "transfer": None,
            "expected_on": None,
            "units": 0,
        }
    return {
        "location": source.site.code,
        "po": item.po or None,
        "transfer": item.transfer,
        "expected_on": item.expected_on.isoformat(),
        "units": item.units,
    }


def site_codes(conn: Connection) -> dict[int, str]:
    return {site.id: site.code for site in all_sites(conn)}


def queue_sources(app: Backorder, sku: str) -> dict[str, Any]:
    """Where a SKU's queue gets its next units: each location that can serve some of its
    waiting lines, with what is free there and what is on its way there."""
    with app.db.read() as uow:
        conn = uow.connection
        row = Products(conn).get(sku)
        if row is None:
            raise UnknownSku(sku)
        found = sources_of(conn, [row.id], app.settings)[row.id]
        codes = site_codes(conn)
    return {
        "sku": sku,
        "backordered": row.stock.backordered,
        "next": next_view(found, codes),
        "locations": [
            {
                "location": s.site.code,
                "lines": s.lines,
                "units": s.units,
                "available": s.available,
                "inbound_units": sum(i.units for i in s.inbound),
                "inbound": [_inbound(i, codes) for i in s.inbound[:SHOWN_INBOUND]],
            }
            for s in found
        ],
    }


def network_stock(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Every location's stock summed over SKUs, in sourcing order, and the network's total."""
    level = stock_levels.c
    sums = {
        r.location_id: r
        for r in conn.execute(
            select(
                level.location_id,
                func.count().filter(level.on_hand > 0).label("skus"),
                func.coalesce(func.sum(level.on_hand), 0).label("on_hand"),
                func.coalesce(func.sum(level.allocated), 0).label("allocated"),
            ).group_by(level.location_id)
        )
    }
    places: list[dict[str, Any]] = []
    for site in sorted(all_sites(conn), key=site_order):
        at = sums.get(site.id)
        if at is None and not site.active:
            continue
        on_hand, allocated = (int(at.on_hand), int(at.allocated)) if at else (0, 0)
        places.append(
            {
                "location": site.code,
                "active": site.active,
                "default": site.code == settings.default_location,
                "skus": int(at.skus) if at else 0,
                "on_hand": on_hand,
                "allocated": allocated,
                "available": on_hand - allocated,
            }
        )
    total = {k: sum(p[k] for p in places) for k in ("on_hand", "allocated", "available")}
    return {"locations": places, "total": total}
