"""Suppliers and purchase orders: the inbound supply that dates every waiting line, and
what can still be promised to a new order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from backorder.canonical import is_address
from backorder.domain.errors import (
    AlreadyExists,
    InvalidRequest,
    UnknownPurchaseOrder,
    UnknownSku,
    UnknownSupplier,
)
from backorder.domain.events import Event, PurchaseOrderChanged
from backorder.domain.supply import on_time_percent
from backorder.services.context import Backorder
from backorder.services.po_approval import on_cancel
from backorder.services.po_channel import PO_CHANNEL_FIELDS, po_channel_changes, po_channel_view
from backorder.services.schedule import reschedule
from backorder.services.self_healing import replan
from backorder.services.supplier_performance import supplier_performance
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, site_named
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.supply import (
    OUTSTANDING,
    po_line_rows,
    po_row,
    po_select,
    supplier_rows,
)
from backorder.store.tables import po_lines, products, purchase_orders, suppliers

MAX_UNITS = 2**31 - 1
MAX_LEAD_DAYS = 3650
MAX_PO_LINES = 1000
SLIPS = ("redated", "reduced", "cancelled")


def _check_name(kind: str, value: str) -> None:
    if not value or len(value) > 64 or any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidRequest(f"{kind} {value!r} must be 1-64 visible characters without spaces")


def _check_lead(days: int) -> None:
    if not 0 <= days <= MAX_LEAD_DAYS:
        raise InvalidRequest(f"lead time must be between 0 and {MAX_LEAD_DAYS} days, got {days}")


def _percent(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


# Suppliers


@dataclass(frozen=True)
class SupplierIn:
    id: str
    name: str
    lead_time_days: int
    email: str | None = None
    contact: str | None = None


def _check_supplier(supplier: SupplierIn) -> None:
    _check_name("supplier id", supplier.id)
    if not supplier.name or len(supplier.name) > 200:
        raise InvalidRequest("a supplier needs a name of at most 200 characters")
    _check_lead(supplier.lead_time_days)
    if supplier.email is not None and (not is_address(supplier.email) or len(supplier.email) > 320):
        raise InvalidRequest(f"{supplier.email!r} is not an e-mail address")
    if supplier.contact is not None and len(supplier.contact) > 200:
        raise InvalidRequest("a supplier's contact is at most 200 characters")


def supplier_view(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "contact": row["contact"],
        "lead_time_days": row["lead_time_days"],
        "orders_completed": row["orders_completed"],
        "orders_on_time": row["orders_on_time"],
        "on_time_percent": _percent(
            on_time_percent(row["orders_completed"], row["orders_on_time"])
        ),
    } | po_channel_view(row)


def add_supplier(app: Backorder, supplier: SupplierIn) -> dict[str, Any]:
    _check_supplier(supplier)
    now = app.now()
    with app.db.write() as uow:
        if supplier_rows(uow.connection, [supplier.id]):
            raise AlreadyExists(f"supplier {supplier.id!r} already exists")
        uow.connection.execute(
            insert(suppliers).values(
                id=supplier.id,
                name=supplier.name,
                email=supplier.email,
                contact=supplier.contact,
                lead_time_days=supplier.lead_time_days,
                created_at=now,
                updated_at=now,
            )
        )
        row = supplier_rows(uow.connection, [supplier.id])[supplier.id]
        uow.commit()
    return supplier_view(row)


def update_supplier(app: Backorder, supplier_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a supplier's name, contact or lead time; a new lead time re-dates the waiting
    lines of its SKUs beyond their inbound supply."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        known = supplier_rows(conn, [supplier_id])
        if supplier_id not in known:
            raise UnknownSupplier(supplier_id)
        current = known[supplier_id]
        allowed = {"name", "email", "contact", "lead_time_days"}
        if not changes:
            raise InvalidRequest("nothing to change: name a field")
        channel = {k: changes.pop(k) for k in list(changes) if k in PO_CHANNEL_FIELDS}
        secret = po_channel_changes(conn, current, channel, now)
        if not changes:
            row = supplier_rows(conn, [supplier_id])[supplier_id]
            uow.commit()
            return supplier_view(row) | secret
        if set(changes) - allowed:
            raise InvalidRequest(f"cannot change {sorted(set(changes) - allowed)}")
        merged = {k: current[k] for k in allowed} | changes
        _check_supplier(SupplierIn(supplier_id, **merged))
        conn.execute(
            update(suppliers).where(suppliers.c.id == supplier_id).values(**changes, updated_at=now)
        )
        facts: list[Event] = []
        if merged["lead_time_days"] != current["lead_time_days"]:
            skus = conn.execute(
                select(products.c.sku).where(products.c.supplier_id == supplier_id)
            ).scalars()
            rows = Products(conn).lock(list(skus))
            facts = reschedule(uow, rows.values(), now, app.settings.eta_change_days)
        Outbox(conn).append(facts, now)
        row = supplier_rows(conn, [supplier_id])[supplier_id]
        uow.commit()
    return supplier_view(row) | secret


def list_suppliers(app: Backorder) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        conn = uow.connection
        rows = conn.execute(select(suppliers).order_by(suppliers.c.id)).mappings().all()
    return [supplier_view(row) for row in rows]


def get_supplier(app: Backorder, supplier_id: str) -> dict[str, Any]:
    with app.db.read() as uow:
        conn = uow.connection
        known = supplier_rows(conn, [supplier_id])
        if supplier_id not in known:
            raise UnknownSupplier(supplier_id)
        open_pos = conn.execute(
            select(purchase_orders.c.ref)
            .where(purchase_orders.c.supplier_id == supplier_id, purchase_orders.c.state == "open")
            .order_by(purchase_orders.c.id)
        ).scalars()
        skus = conn.execute(
            select(products.c.sku)
            .where(products.c.supplier_id == supplier_id)
            .order_by(products.c.sku)
        ).scalars()
        return supplier_view(known[supplier_id]) | {
            "skus": list(skus),
            "open_purchase_orders": list(open_pos),
            "performance": supplier_performance(conn, supplier_id, app.now().date()),
        }


def check_supplier_known(conn: Connection, supplier_id: str | None) -> None:
    """A product may only name a supplier that exists. The product itself is there, so this
    is bad input (422), not a missing resource (404)."""
    if supplier_id is not None and not supplier_rows(conn, [supplier_id]):
        raise InvalidRequest(f"unknown supplier {supplier_id!r}: add it first")


# Purchase orders


@dataclass(frozen=True)
class PoLineIn:
    sku: str
    quantity: int
    expected_on: date


def _view(po: RowMapping, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "po": po["ref"],
        "supplier": po["supplier_id"],
        "location": po["location"],
        "state": po["state"],
        "origin": po["origin"],
        "approval": po["approval"],
        "approved_by": po["approved_by"],
        "sent_at": po["sent_at"].isoformat() if po["sent_at"] else None,
        "on_time": po["on_time"],
        "created_at": po["created_at"].isoformat(),
        "closed_at": po["closed_at"].isoformat() if po["closed_at"] else None,
        "lines": [
            {
                "sku": line["sku"],
                "ordered": line["ordered"],
                "received": line["received"],
                "cancelled": line["cancelled"],
                "outstanding": line["ordered"] - line["received"] - line["cancelled"],
                "unit_cost": None if line["unit_cost"] is None else f"{line['unit_cost']:.2f}",
                "expected_on": line["expected_on"].isoformat(),
                "first_expected_on": line["first_expected_on"].isoformat(),
                "last_received_at": line["last_received_at"].isoformat()
                if line["last_received_at"]
                else None,
            }
            for line in lines
        ],
    }


def _event(po: RowMapping, lines: list[dict[str, Any]], action: str) -> PurchaseOrderChanged:
    view = _view(po, lines)
    return PurchaseOrderChanged(
        po=view["po"],
        supplier=view["supplier"],
        action=action,
        state=po["state"],
        lines=tuple(
            {k: line[k] for k in ("sku", "ordered", "received", "cancelled", "expected_on")}
            for line in view["lines"]
        ),
        on_time=po["on_time"],
        location=po["location"],
    )


def add_purchase_order(
    app: Backorder,
    ref: str,
    supplier_id: str,
    lines: Sequence[PoLineIn],
    location: str | None = None,
) -> dict[str, Any]:
    """Inbound supply: what the supplier is to deliver, per SKU and expected date, at a
    location (None: the default one). The waiting lines of those SKUs are dated against it
    at once."""
    _check_name("purchase order", ref)
    if not lines:
        raise InvalidRequest("a purchase order needs at least one line")
    if len(lines) > MAX_PO_LINES:
        raise InvalidRequest(f"at most {MAX_PO_LINES} lines per purchase order")
    skus = [line.sku for line in lines]
    if len(set(skus)) != len(skus):
        raise InvalidRequest("a purchase order names a SKU twice; give one line per SKU")
    for line in lines:
        if not 0 < line.quantity <= MAX_UNITS:
            raise InvalidRequest(f"quantity of {line.sku} must be between 1 and {MAX_UNITS}")
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        check_supplier_known(conn, supplier_id)
        site = site_named(all_sites(conn), location or app.settings.default_location)
        if not site.active:
            raise InvalidRequest(f"location {site.code} is not active")
        if po_row(conn, ref) is not None:
            raise AlreadyExists(f"purchase order {ref!r} already exists")
        rows = Products(conn).lock(skus)
        for sku in skus:
            if sku not in rows:
                raise UnknownSku(sku)
        po_id = conn.execute(
            insert(purchase_orders)
            .values(
                ref=ref, supplier_id=supplier_id, state="open", created_at=now, location_id=site.id
            )
            .returning(purchase_orders.c.id)
        ).scalar_one()
        conn.execute(
            insert(po_lines),
            [
                {
                    "po_id": po_id,
                    "product_id": rows[line.sku].id,
                    "ordered": line.quantity,
                    "received": 0,
                    "cancelled": 0,
                    "expected_on": line.expected_on,
                    "first_expected_on": line.expected_on,
                }
                for line in lines
            ],
        )
        return _finish(app, uow, (ref, "placed"), list(rows.values()))


def _finish(
    app: Backorder, uow: UnitOfWork, change: tuple[str, str], rows: list[ProductRow]
) -> dict[str, Any]:
    """Close the purchase order if nothing is outstanding, re-date the SKUs' queues, write
    the events and commit; the purchase order as it now stands."""
    ref, action = change
    conn, now = uow.connection, app.now()
    facts: list[Event] = []
    po = po_row(conn, ref)
    assert po is not None
    if _close_if_complete(conn, po, now) is not None:
        po = po_row(conn, ref)
        assert po is not None
    lines = po_line_rows(conn, po["id"])
    facts.append(_event(po, lines, action))
    facts.extend(reschedule(uow, rows, now, app.settings.eta_change_days))
    if action in SLIPS:  # waiting lines may now miss their dates: re-plan the shortfall
        facts.extend(replan(uow, rows, app, ref)[0])
    Outbox(conn).append(facts, now)
    uow.commit()
    return _view(po, lines)


def _close_if_complete(conn: Connection, po: RowMapping, now: datetime) -> bool | None:
    """A purchase order with nothing outstanding is closed: received (and counted in its
    supplier's on-time record: every line in by its first expected date) when anything came,
    else cancelled. Returns whether it was on time, or None when it stays open."""
    if po["state"] != "open":
        return None
    lines = po_line_rows(conn, po["id"])
    if any(line["ordered"] > line["received"] + line["cancelled"] for line in lines):
        return None
    came = [line for line in lines if line["received"]]
    if not came:
        conn.execute(
            update(purchase_orders)
            .where(purchase_orders.c.id == po["id"])
            .values(state="cancelled", closed_at=now)
        )
        return False
    on_time = all(line["last_received_at"].date() <= line["first_expected_on"] for line in came)
    conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == po["id"])
        .values(state="received", on_time=on_time, closed_at=now)
    )
    conn.execute(
        update(suppliers)
        .where(suppliers.c.id == po["supplier_id"])
        .values(
            orders_completed=suppliers.c.orders_completed + 1,
            orders_on_time=suppliers.c.orders_on_time + (1 if on_time else 0),
            updated_at=now,
        )
    )
    return on_time


def _open_po(uow: UnitOfWork, ref: str) -> RowMapping:
    po = po_row(uow.connection, ref, lock=True)
    if po is None:
        raise UnknownPurchaseOrder(ref)
    if po["state"] != "open":
        raise InvalidRequest(f"purchase order {ref} is {po['state']}; it can no longer change")
    return po


def _po_line(uow: UnitOfWork, po: RowMapping, sku: str) -> tuple[dict[str, Any], ProductRow]:
    rows = Products(uow.connection).lock([sku])
    if sku not in rows:
        raise UnknownSku(sku)
    for line in po_line_rows(uow.connection, po["id"]):
        if line["product_id"] == rows[sku].id:
            return line, rows[sku]
    raise InvalidRequest(f"purchase order {po['ref']} has no line for {sku}")


def redate_purchase_order(app: Backorder, ref: str, sku: str, expected: date) -> dict[str, Any]:
    """The supplier now expects to deliver this line on another date."""
    with app.db.write() as uow:
        line, row = _po_line(uow, _open_po(uow, ref), sku)
        uow.connection.execute(
            update(po_lines).where(po_lines.c.id == line["id"]).values(expected_on=expected)
        )
        return _finish(app, uow, (ref, "redated"), [row])


def reduce_purchase_order(app: Backorder, ref: str, sku: str, quantity: int) -> dict[str, Any]:
    """The supplier will deliver only `quantity` units of this line in all (what already
    came counts): the rest is cancelled."""
    with app.db.write() as uow:
        line, row = _po_line(uow, _open_po(uow, ref), sku)
        if not line["received"] <= quantity < line["ordered"] - line["cancelled"]:
            raise InvalidRequest(
                f"{sku} on {ref}: reduce to between {line['received']} (received) and "
                f"{line['ordered'] - line['cancelled'] - 1} units, got {quantity}"
            )
        uow.connection.execute(
            update(po_lines)
            .where(po_lines.c.id == line["id"])
            .values(cancelled=line["ordered"] - quantity)
        )
        return _finish(app, uow, (ref, "reduced"), [row])


def cancel_purchase_order(app: Backorder, ref: str) -> dict[str, Any]:
    """Nothing more will come of this purchase order."""
    with app.db.write() as uow:
        po = _open_po(uow, ref)
        conn = uow.connection
        lines = po_line_rows(conn, po["id"])
        rows = Products(conn).lock_by_id(line["product_id"] for line in lines)
        # from a recommendation: withdrawn until sent, else a cancellation goes to the supplier
        Outbox(conn).append(on_cancel(uow, po, app.now()), app.now())
        conn.execute(
            update(po_lines)
            .where(po_lines.c.po_id == po["id"])
            .values(cancelled=po_lines.c.ordered - po_lines.c.received)
        )
        return _finish(app, uow, (ref, "cancelled"), list(rows.values()))


def get_purchase_order(app: Backorder, ref: str) -> dict[str, Any]:
    with app.db.read() as uow:
        conn = uow.connection
        po = po_row(conn, ref)
        if po is None:
            raise UnknownPurchaseOrder(ref)
        return _view(po, po_line_rows(conn, po["id"]))


def list_purchase_orders(
    app: Backorder, state: str | None = None, sku: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        conn = uow.connection
        query = po_select().order_by(purchase_orders.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(purchase_orders.c.state == state)
        if sku is not None:
            query = query.where(
                purchase_orders.c.id.in_(
                    select(po_lines.c.po_id)
                    .join(products, products.c.id == po_lines.c.product_id)
                    .where(products.c.sku == sku)
                )
            )
        return [_view(po, po_line_rows(conn, po["id"])) for po in conn.execute(query).mappings()]


def count_against_po(
    uow: UnitOfWork, po: RowMapping | None, row: ProductRow, units: int, now: datetime
) -> list[Event]:
    """A receipt whose reference names an open purchase order (`po`, locked by the caller;
    None or closed: nothing to count against) with a line for this SKU counts against that
    line: at most what is outstanding (more is simply stock). The purchase order closes
    once nothing is outstanding."""
    conn = uow.connection
    if po is None or po["state"] != "open" or po["approval"] != "approved":
        return []  # a draft awaiting approval was never placed: what came is simply stock
    counted = conn.execute(
        update(po_lines)
        .where(po_lines.c.po_id == po["id"], po_lines.c.product_id == row.id, OUTSTANDING > 0)
        .values(
            received=po_lines.c.received + func.min(units, OUTSTANDING)
            if conn.dialect.name == "sqlite"
            else po_lines.c.received + func.least(units, OUTSTANDING),
            last_received_at=now,
        )
    ).rowcount
    if not counted:
        return []
    if _close_if_complete(conn, po, now) is None:
        return []
    closed = po_row(conn, po["ref"])
    assert closed is not None
    return [_event(closed, po_line_rows(conn, closed["id"]), "received")]
