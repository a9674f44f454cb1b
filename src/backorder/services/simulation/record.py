"""Reading the live database's history for the simulator: the catalogue to copy and the timed
inputs to replay, in time order (read-only; one read transaction)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Preference,
    ShippingMethod,
    Tier,
)
from backorder.store.tables import (
    cancellations,
    events,
    locations,
    order_lines,
    orders,
    po_lines,
    product_packs,
    product_suppliers,
    products,
    purchase_orders,
    shipment_lines,
    shipments,
    stock_levels,
    stock_movements,
    suppliers,
)

# The tables copied as they stand (stock is left out: it arrives through the replay).
CATALOGUE: tuple[Table, ...] = (locations, suppliers, products, product_packs, product_suppliers)

# Inputs at the same moment are applied in this order of kind.
RANK = {"po": 0, "stock": 1, "order": 2, "expedite": 3, "cancel": 4, "ship": 5}


@dataclass(frozen=True)
class Input:
    """One recorded input: when the engine took it, its kind, its place among its kind."""

    at: datetime
    kind: str
    seq: int
    data: Any = field(compare=False)

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.at, RANK[self.kind], self.seq)


@dataclass(frozen=True)
class Movement:
    sku: str
    kind: str  # receipt | count
    units: int
    ref: str | None
    location: str | None


@dataclass(frozen=True)
class PoPlaced:
    ref: str
    supplier: str
    location: str | None
    lines: tuple[tuple[str, int, date], ...]  # sku, ordered, first expected


@dataclass(frozen=True)
class PoChanged:
    ref: str
    action: str  # redated | reduced | cancelled
    lines: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Cancel:
    ref: str
    line_no: int
    from_waiting: int
    from_allocated: int
    reason: str


@dataclass(frozen=True)
class Ship:
    ref: str
    location: str | None
    tracking: str | None
    lines: tuple[tuple[int, int, bool], ...]  # line no, units, whether all it held there


@dataclass
class History:
    catalogue: dict[str, list[dict[str, Any]]]
    inputs: list[Input]
    opening: list[tuple[str, str | None, int]]  # sku, location, on hand before any input
    po_created: dict[str, datetime]  # purchase order -> when placed


def _codes(conn: Connection) -> dict[int, str]:
    return {r.id: r.code for r in conn.execute(select(locations.c.id, locations.c.code))}


def read_history(conn: Connection, until: datetime) -> History:
    """Everything recorded before `until`."""
    catalogue = {t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in CATALOGUE}
    codes = _codes(conn)
    expedited = _expedites(conn, until)
    inputs = [
        *_orders(conn, until, {ref for _, ref in expedited}),
        *(Input(at, "expedite", n, ref) for n, (at, ref) in enumerate(expedited)),
        *_movements(conn, until, codes),
        *_cancels(conn, until),
        *_shipments(conn, until, codes),
    ]
    placed, changes = _purchase_orders(conn, until, codes)
    inputs += placed + changes
    inputs.sort(key=lambda i: i.key)
    po_created = {i.data.ref: i.at for i in placed}
    return History(catalogue, inputs, _opening(conn, codes), po_created)


def _expedites(conn: Connection, until: datetime) -> list[tuple[datetime, str]]:
    query = (
        select(events.c.occurred_at, events.c.order_ref)
        .where(events.c.type == "order_expedited", events.c.occurred_at < until)
        .order_by(events.c.id)
    )
    return [(r.occurred_at, r.order_ref) for r in conn.execute(query)]


def _orders(conn: Connection, until: datetime, expedited_later: set[str]) -> list[Input]:
    o, line, p = orders.c, order_lines.c, products.c
    query = (
        select(orders, line.line_no, p.sku, line.quantity, line.unit_price, line.variant)
        .join(order_lines, line.order_id == o.id)
        .join(products, p.id == line.product_id)
        .where(o.received_at < until)
        .order_by(o.id, line.line_no)
    )
    lines: dict[int, list[LineRequest]] = defaultdict(list)
    heads: dict[int, Any] = {}
    for r in conn.execute(query).mappings():
        heads.setdefault(r["id"], r)
        lines[r["id"]].append(LineRequest(r["sku"], r["quantity"], r["unit_price"], r["variant"]))
    found = []
    for order_id, r in heads.items():
        ref = f"{r['channel']}:{r['external_id']}"
        request = OrderRequest(
            channel=r["channel"],
            external_id=r["external_id"],
            placed_at=r["placed_at"],
            customer=Customer(
                r["customer_id"],
                r["customer_name"],
                r["customer_email"],
                r["customer_phone"],
                Tier(r["customer_tier"]),
                r["customer_sms_consent"],
                r["customer_language"],
            ),
            currency=r["currency"],
            terms=OrderTerms(
                ShippingMethod(r["shipping_method"]),
                Preference(r["shipping_preference"]),
                PaymentTiming(r["payment_timing"]),
                expedite=bool(r["expedite"]) and ref not in expedited_later,
            ),
            lines=tuple(lines[order_id]),
            display_number=r["display_number"],
            ship_country=r["ship_country"],
        )
        found.append(Input(r["received_at"], "order", order_id, request))
    return found


def _movements(conn: Connection, until: datetime, codes: dict[int, str]) -> list[Input]:
    m = stock_movements.c
    query = (
        select(m.id, m.kind, m.units, m.ref, m.moved_at, m.location_id, products.c.sku)
        .join(products, products.c.id == m.product_id)
        .where(m.moved_at < until, m.kind.in_(("receipt", "count")), m.units != 0)
    )
    return [
        Input(
            r.moved_at,
            "stock",
            r.id,
            Movement(r.sku, r.kind, r.units, r.ref, codes.get(r.location_id)),
        )
        for r in conn.execute(query)
    ]


def _cancels(conn: Connection, until: datetime) -> list[Input]:
    c, line, o = cancellations.c, order_lines.c, orders.c
    query = (
        select(c.id, c.cancelled_at, c.from_backordered, c.from_allocated, c.reason)
        .add_columns(line.line_no, o.channel, o.external_id)
        .join(order_lines, line.id == c.line_id)
        .join(orders, o.id == line.order_id)
        # the intake's refusals (nothing waited or was held) are the intake's to make again
        .where(c.cancelled_at < until, (c.from_backordered > 0) | (c.from_allocated > 0))
    )
    return [
        Input(
            r.cancelled_at,
            "cancel",
            r.id,
            Cancel(
                f"{r.channel}:{r.external_id}",
                r.line_no,
                r.from_backordered,
                r.from_allocated,
                r.reason,
            ),
        )
        for r in conn.execute(query)
    ]


def _shipments(conn: Connection, until: datetime, codes: dict[int, str]) -> list[Input]:
    s, sl, line, o = shipments.c, shipment_lines.c, order_lines.c, orders.c
    query = (
        select(s.id, s.shipped_at, s.location_id, s.tracking, o.channel, o.external_id)
        .add_columns(line.line_no, sl.units, sl.allocated)
        .join(shipment_lines, sl.shipment_id == s.id)
        .join(order_lines, line.id == sl.line_id)
        .join(orders, o.id == s.order_id)
        .where(s.shipped_at < until)
        .order_by(s.id, line.line_no)
    )
    heads: dict[int, Any] = {}
    lines: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
    for r in conn.execute(query):
        heads.setdefault(r.id, r)
        lines[r.id].append((r.line_no, r.units, r.units == r.allocated))
    return [
        Input(
            r.shipped_at,
            "ship",
            sid,
            Ship(
                f"{r.channel}:{r.external_id}",
                codes.get(r.location_id),
                r.tracking,
                tuple(lines[sid]),
            ),
        )
        for sid, r in heads.items()
    ]


def _purchase_orders(
    conn: Connection, until: datetime, codes: dict[int, str]
) -> tuple[list[Input], list[Input]]:
    po, pl = purchase_orders.c, po_lines.c
    query = (
        select(po.id, po.ref, po.supplier_id, po.created_at, po.location_id)
        .add_columns(products.c.sku, pl.ordered, pl.first_expected_on)
        .join(po_lines, pl.po_id == po.id)
        .join(products, products.c.id == pl.product_id)
        .where(po.created_at < until)
        .order_by(po.id, pl.id)
    )
    heads: dict[int, Any] = {}
    lines: dict[int, list[tuple[str, int, date]]] = defaultdict(list)
    for r in conn.execute(query):
        heads.setdefault(r.id, r)
        lines[r.id].append((r.sku, r.ordered, r.first_expected_on))
    placed = [
        Input(
            r.created_at,
            "po",
            2 * pid,
            PoPlaced(r.ref, r.supplier_id, codes.get(r.location_id), tuple(lines[pid])),
        )
        for pid, r in heads.items()
    ]
    e = events.c
    changed = select(e.id, e.occurred_at, e.payload).where(
        e.type == "purchase_order_changed", e.occurred_at < until
    )
    changes = []
    for r in conn.execute(changed.order_by(e.id)):
        action = r.payload.get("action")
        if action in ("redated", "reduced", "cancelled"):
            data = PoChanged(r.payload["po"], action, tuple(r.payload.get("lines", ())))
            changes.append(Input(r.occurred_at, "po", 2 * r.id + 1, data))
    return placed, changes


def _opening(conn: Connection, codes: dict[int, str]) -> list[tuple[str, str | None, int]]:
    """On hand per SKU and location before anything recorded: today's, less what the
    movements brought, plus what shipped (zero where the history starts from nothing)."""
    level: dict[tuple[int, int | None], int] = defaultdict(int)
    for r in conn.execute(
        select(stock_levels.c.product_id, stock_levels.c.location_id, stock_levels.c.on_hand)
    ):
        level[(r.product_id, r.location_id)] += r.on_hand
    m = stock_movements.c
    for r in conn.execute(select(m.product_id, m.location_id, m.units)):
        level[(r.product_id, r.location_id)] -= r.units
    s, sl, line = shipments.c, shipment_lines.c, order_lines.c
    shipped = (
        select(line.product_id, s.location_id, sl.units)
        .join(shipment_lines, sl.shipment_id == s.id)
        .join(order_lines, line.id == sl.line_id)
    )
    for r in conn.execute(shipped):
        level[(r.product_id, r.location_id)] += r.units
    skus = {r.id: r.sku for r in conn.execute(select(products.c.id, products.c.sku))}
    return [
        (skus[pid], codes.get(loc) if loc is not None else None, units)
        for (pid, loc), units in sorted(level.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
        if units > 0
    ]
