"""Read models: what `show` commands (and later the API) print, as plain JSON-ready dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select

from backorder.domain.errors import UnknownSku
from backorder.domain.model import order_status
from backorder.services.context import Backorder
from backorder.services.delays import notices_of
from backorder.services.orders import find_order
from backorder.services.substitute_answers import offers_of
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites
from backorder.store.repos import Lines, Products, line_from_row, line_select
from backorder.store.tables import (
    allocations,
    cancellations,
    events,
    order_lines,
    orders,
    products,
    shipment_lines,
    shipments,
)


def _ordered(row: Any) -> dict[str, Any] | None:
    """What the buyer ordered when not in single units: {"quantity": 12, "unit": "CA",
    "pack": 12}; None for a line in single units."""
    if row.ordered_unit is None:
        return None
    return {"quantity": row.ordered_quantity, "unit": row.ordered_unit, "pack": row.ordered_pack}


def _money(value: Any) -> str:
    return str(value)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def product_view(app: Backorder, sku: str) -> dict[str, Any]:
    with app.db.read() as uow:
        repo = Products(uow.connection)
        row = repo.get(sku)
        packs = repo.packs([sku])[sku] if row is not None else {}
    if row is None:
        raise UnknownSku(sku)
    p = row.product
    return {
        "sku": p.sku,
        "name": p.name,
        "price": _money(p.unit_price),
        "policy": p.policy.value,
        "max_per_customer": p.max_per_customer,
        "lead_time_days": p.lead_time_days,
        "queue": p.queue.value,
        "discontinued": p.discontinued,
        "backorder_cap": p.backorder_cap,
        "backorder_until": p.backorder_until.isoformat() if p.backorder_until else None,
        "supplier": p.supplier,
        "require_known_date": p.require_known_date,
        "max_lead_days": p.max_lead_days,
        "min_on_time_percent": p.min_on_time_percent,
        "packs": packs,
    }


def stock_view(app: Backorder, sku: str) -> dict[str, Any]:
    with app.db.read() as uow:
        row = Products(uow.connection).get(sku)
    if row is None:
        raise UnknownSku(sku)
    s = row.stock
    return {
        "sku": sku,
        "on_hand": s.on_hand,
        "allocated": s.allocated,
        "available": s.available,
        "backordered": s.backordered,
    }


# The order view's statements, built once: building a statement and its cache key costs
# more than running it on SQLite.
_ALLOCATIONS = (
    select(allocations)
    .where(allocations.c.line_id.in_(bindparam("ids", expanding=True)))
    .order_by(allocations.c.id)
)
# An order's lines with what only the view shows of them (the last check, the buyer's
# units, the date the customer was told, the product's name): one statement for both.
_LINES = (
    line_select()
    .add_columns(
        order_lines.c.checked_at,
        order_lines.c.checked_status,
        order_lines.c.variant,
        order_lines.c.ordered_quantity,
        order_lines.c.ordered_unit,
        order_lines.c.ordered_pack,
        order_lines.c.eta_told,
        products.c.name.label("product_name"),
    )
    .where(order_lines.c.order_id == bindparam("order_id"))
    .order_by(order_lines.c.line_no)
)


def order_view(app: Backorder, ref: str) -> dict[str, Any]:
    with app.db.read() as uow:
        return order_view_in(uow, ref)


def order_view_in(uow: UnitOfWork, ref: str, fresh: bool = False) -> dict[str, Any]:
    """The order view read in a transaction the caller holds (placing an order answers
    with its view before it commits, on the same connection). `fresh`: the order was
    created in this transaction, so it has no delay notices nor substitute offers yet (the
    daily review and the worker make those, later), and they are not looked for."""
    order = find_order(uow, ref)
    rows = uow.connection.execute(_LINES, {"order_id": order["id"]}).all()
    lines = [line_from_row(row._mapping) for row in rows]
    checked = {row.id: row for row in rows}
    ids = [line.id for line in lines]
    why: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    allocated = uow.connection.execute(_ALLOCATIONS, {"ids": ids}).mappings().all()
    shipped_any = any(line.qty.shipped for line in lines)
    codes = (
        {site.id: site.code for site in all_sites(uow.connection)}
        if allocated or shipped_any
        else {}
    )
    for a in allocated:
        why[a["line_id"]].append(
            {
                "units": a["units"],
                "at": a["allocated_at"].isoformat(),
                "source": a["source"],
                "ref": a["ref"],
                "position": a["position"],
                "rank_class": a["rank_class"],
                "rule": a["rule"],
                "location": codes.get(a["location_id"]),
                "sourcing": a["sourcing"],
            }
        )
    cancelled: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    # The counters say whether there is any history to read (most orders have none).
    any_cancelled = any(line.qty.cancelled for line in lines)
    for c in (
        uow.connection.execute(
            select(cancellations)
            .where(cancellations.c.line_id.in_(ids))
            .order_by(cancellations.c.id)
        ).mappings()
        if any_cancelled
        else ()
    ):
        cancelled[c["line_id"]].append(
            {
                "units": c["units"],
                "reason": c["reason"],
                "at": c["cancelled_at"].isoformat(),
            }
        )
    shipped = (
        [
            {
                "id": s["id"],
                "tracking": s["tracking"],
                "at": s["shipped_at"].isoformat(),
                "units": int(s["units"]),
                "location": codes.get(s["location_id"]),
            }
            for s in uow.connection.execute(
                select(
                    shipments.c.id,
                    shipments.c.tracking,
                    shipments.c.shipped_at,
                    shipments.c.location_id,
                    func.sum(shipment_lines.c.units).label("units"),
                )
                .join(shipment_lines, shipment_lines.c.shipment_id == shipments.c.id)
                .where(shipments.c.order_id == order["id"])
                .group_by(
                    shipments.c.id,
                    shipments.c.tracking,
                    shipments.c.shipped_at,
                    shipments.c.location_id,
                )
                .order_by(shipments.c.id)
            ).mappings()
        ]
        if shipped_any
        else []
    )
    delays = [] if fresh else notices_of(uow.connection, order["id"])
    offers = [] if fresh else offers_of(uow.connection, order["id"])
    context = lines[0].order if lines else None
    return {
        "ref": ref,
        "status": order_status([line.qty for line in lines]),
        "display_number": order["display_number"] or order["external_id"],
        "channel": order["channel"],
        "external_id": order["external_id"],
        "placed_at": order["placed_at"].isoformat(),
        "received_at": order["received_at"].isoformat(),
        "customer": {
            "id": order["customer_id"],
            "name": order["customer_name"],
            "email": order["customer_email"],
            "phone": order["customer_phone"],
            "tier": order["customer_tier"],
            "sms_consent": bool(order["customer_sms_consent"]),
            "language": order["customer_language"],
        },
        "currency": order["currency"],
        "shipping": {
            "method": order["shipping_method"],
            "preference": order["shipping_preference"],
        },
        "payment_timing": order["payment_timing"],
        "expedite": bool(order["expedite"]) if context else False,
        "lines": [
            {
                "line": line.line_no,
                "sku": line.sku,
                "name": checked[line.id].product_name,
                "variant": checked[line.id].variant,
                "quantity": line.qty.quantity,
                "ordered": _ordered(checked[line.id]),
                "allocated": line.qty.allocated,
                "backordered": line.qty.backordered,
                "shipped": line.qty.shipped,
                "cancelled": line.qty.cancelled,
                "status": line.qty.status.value,
                "unit_price": _money(line.unit_price),
                "eta": line.eta.isoformat() if line.eta and line.qty.backordered else None,
                "told": _day(checked[line.id].eta_told) if line.qty.backordered else None,
                "promised": _day(line.promised),
                "allocations": why[line.id],
                "cancellations": cancelled[line.id],
                "checked_at": _when(checked[line.id].checked_at),
                "checked_status": checked[line.id].checked_status,
            }
            for line in lines
        ],
        "shipments": shipped,
        "delays": delays,
        "substitutes": offers,
    }


def queue_view(app: Backorder, sku: str, limit: int = 100) -> dict[str, Any]:
    """The SKU's queue, head first, as the next receipt would serve it. Read-only: lines due
    to climb a class are ranked at their climbed class here and climb for good when the
    queue is next served."""
    now = app.now()
    with app.db.read() as uow:
        row = Products(uow.connection).get(sku)
        if row is None:
            raise UnknownSku(sku)
        ranking = app.ranking(row.product.queue)
        lines = Lines(uow.connection)
        # The true head is within the stored head plus the lines due to climb: a line that is
        # not due keeps its stored rank, and a due line only moves up.
        candidates = {line.id: line for line in lines.queue_head(row.id, limit=limit)}
        if ranking.aging_days is not None:
            for line in lines.due_to_climb(row.id, now):
                climbed = ranking.current_class(line.base_class, line.placed_at, now)
                line.rank_class = min(line.rank_class, climbed)
                candidates[line.id] = line
        head = sorted(candidates.values(), key=lambda x: (x.rank_class, x.placed_at, x.id))
        depth = lines.queue_depth(row.id)
    return {
        "sku": sku,
        "strategy": row.product.queue.value,
        "depth": depth,
        "backordered": row.stock.backordered,
        "entries": [
            {
                "ref": line.order.ref,
                "line": line.line_no,
                "backordered": line.qty.backordered,
                "position": position,
                "placed_at": line.placed_at.isoformat(),
                "customer": line.order.customer.id,
                "tier": line.order.customer.tier.value,
                "rank_class": line.rank_class,
                "rule": ranking.explain(line.base_class, line.rank_class),
                "eta": _day(line.eta),
                "promised": _day(line.promised),
            }
            for position, line in enumerate(head[:limit], start=1)
        ],
    }


@dataclass(frozen=True)
class BackorderFilter:
    sku: str | None = None
    tier: str | None = None
    status: str | None = None  # "waiting" (nothing allocated yet) or "partial"
    min_age_days: int | None = None


def backorders_view(
    app: Backorder, wanted: BackorderFilter, after: int = 0, limit: int = 100
) -> dict[str, Any]:
    """Waiting lines, oldest intake first, a page at a time (keyset on the line id)."""
    now = app.now()
    query = line_select().where(order_lines.c.backordered > 0, order_lines.c.id > after)
    if wanted.sku is not None:
        query = query.where(products.c.sku == wanted.sku)
    if wanted.tier is not None:
        query = query.where(orders.c.customer_tier == wanted.tier)
    if wanted.status == "waiting":
        query = query.where(order_lines.c.allocated == 0)
    elif wanted.status == "partial":
        query = query.where(order_lines.c.allocated > 0)
    if wanted.min_age_days is not None:
        query = query.where(order_lines.c.placed_at <= now - timedelta(days=wanted.min_age_days))
    with app.db.read() as uow:
        rows = (
            uow.connection.execute(query.order_by(order_lines.c.id).limit(limit + 1))
            .mappings()
            .all()
        )
    lines = [line_from_row(row) for row in rows[:limit]]
    return {
        "items": [
            {
                "ref": line.order.ref,
                "line": line.line_no,
                "sku": line.sku,
                "quantity": line.qty.quantity,
                "allocated": line.qty.allocated,
                "backordered": line.qty.backordered,
                "status": "partial" if line.qty.allocated else "waiting",
                "placed_at": line.placed_at.isoformat(),
                "age_days": (now - line.placed_at).days,
                "customer": line.order.customer.id,
                "tier": line.order.customer.tier.value,
                "value": str(line.unit_price * line.qty.backordered),
                "currency": line.order.currency,
                "eta": _day(line.eta),
                "promised": _day(line.promised),
            }
            for line in lines
        ],
        "next_after": lines[-1].id if len(rows) > limit else None,
    }


def newest_event_id(app: Backorder) -> int:
    """The id of the newest event (0 when there is none)."""
    with app.db.read() as uow:
        return int(
            uow.connection.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
        )


def events_view(app: Backorder, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """The outbox in id order, after a given id (what a polling integration reads)."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
        ).mappings()
        return [
            {
                "id": r["id"],
                "type": r["type"],
                "occurred_at": r["occurred_at"].isoformat(),
                "order_ref": r["order_ref"],
                "sku": r["sku"],
                "payload": r["payload"],
            }
            for r in rows
        ]
