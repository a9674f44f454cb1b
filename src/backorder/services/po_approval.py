"""Purchase orders made from accepted recommendations: drafted, approved (by the rule whose
limit the value is within, or by a person through an `approve_po` task), sent to the
supplier through the outbox, and reversible until sent.

A draft (approval `pending`) is not inbound supply: it dates no customer until approved.
Approval re-dates the SKU's queue against it and plans its delivery to the supplier (an
X12 850 or a signed webhook with the JSON purchase order to the supplier's URL, or an e-mail
with the PDF and CSV); a supplier taking purchase orders by hand (`none`) has it from the
moment it is approved. `sent_at` is recorded when the delivery succeeds. Cancelled before
it was sent, its delivery is withdrawn and its recommendation proposed again; cancelled
after, a cancellation (BEG01 `01`, or the JSON/e-mail `purchase_order_cancel`) is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from backorder.domain.errors import DecisionConflict, InvalidRequest, UnknownPurchaseOrder
from backorder.domain.events import Event, PurchaseOrderChanged
from backorder.domain.po_approval import Limits, Verdict, decide
from backorder.services import po_sending, po_tasks
from backorder.services.context import Backorder
from backorder.services.foresight_plan import abc_classes
from backorder.services.schedule import reschedule
from backorder.store.db import UnitOfWork
from backorder.store.repos import Outbox, ProductRow, Products, take_event_ids_in_commit_order
from backorder.store.supply import po_line_rows, po_row
from backorder.store.tables import (
    deliveries,
    events,
    po_documents,
    po_lines,
    purchase_orders,
    recommendations,
    suppliers,
)

# pending: a draft, not inbound supply; withdrawn: cancelled while pending
APPROVALS = ("pending", "approved", "rejected", "withdrawn")


@dataclass(frozen=True)
class DraftLine:
    product: ProductRow
    units: int
    unit_cost: Decimal | None
    expected_on: date


def po_event(conn: Connection, ref: str, action: str, by: str | None) -> PurchaseOrderChanged:
    po = po_row(conn, ref)
    assert po is not None
    lines = po_line_rows(conn, po["id"])
    return PurchaseOrderChanged(
        po=ref,
        supplier=po["supplier_id"],
        action=action,
        state=po["state"],
        lines=tuple(
            {
                "sku": line["sku"],
                "ordered": line["ordered"],
                "received": line["received"],
                "cancelled": line["cancelled"],
                "expected_on": line["expected_on"].isoformat(),
                "unit_cost": None if line["unit_cost"] is None else str(line["unit_cost"]),
            }
            for line in lines
        ),
        on_time=po["on_time"],
        location=po["location"],
        by=by,
        approval=po["approval"],
    )


def value_of(conn: Connection, po_id: int) -> Decimal | None:
    """What a purchase order costs: its lines' units at their prices; None if one has none."""
    total = Decimal(0)
    for line in po_line_rows(conn, po_id):
        if line["unit_cost"] is None:
            return None
        total += line["ordered"] * line["unit_cost"]
    return total


def draft(
    app: Backorder, uow: UnitOfWork, head: tuple[str, int], lines: list[DraftLine]
) -> tuple[str, list[Event]]:
    """A draft purchase order from `supplier` arriving at location `location_id` (`head`),
    numbered R-<year>-<its id>, then the approval policy: approved by its rule (and sent),
    or a task for the procurement manager. Its reference and the events."""
    supplier_id, location_id = head
    conn, now = uow.connection, app.now()
    po_id = conn.execute(
        insert(purchase_orders)
        .values(
            ref=f"R-draft-{supplier_id}-{now.timestamp()}"[:64],
            supplier_id=supplier_id,
            state="open",
            created_at=now,
            location_id=location_id,
            origin="recommendation",
            approval="pending",
        )
        .returning(purchase_orders.c.id)
    ).scalar_one()
    ref = f"R-{now.year}-{int(po_id):06d}"
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(ref=ref))
    conn.execute(
        insert(po_lines),
        [
            {
                "po_id": po_id,
                "product_id": line.product.id,
                "ordered": line.units,
                "received": 0,
                "cancelled": 0,
                "expected_on": line.expected_on,
                "first_expected_on": line.expected_on,
                "unit_cost": line.unit_cost,
            }
            for line in lines
        ],
    )
    facts: list[Event] = [po_event(conn, ref, "drafted", None)]
    verdict = _verdict(app, conn, po_id, [line.product for line in lines])
    if verdict.automatic:
        assert verdict.rule is not None
        facts += _approve(app, uow, ref, verdict.rule, [line.product for line in lines])
    else:
        facts += po_tasks.ask(
            conn, ref, po_tasks.Why(verdict.reason, value_of(conn, po_id), app.now())
        )
    return ref, facts


def _verdict(app: Backorder, conn: Connection, po_id: int, rows: list[ProductRow]) -> Verdict:
    po = conn.execute(
        select(purchase_orders.c.supplier_id, suppliers.c.name, suppliers.c.auto_approve_limit)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .where(purchase_orders.c.id == po_id)
    ).one()
    settings = app.settings
    classes = abc_classes(conn)
    limits = Limits(
        po.auto_approve_limit, settings.auto_approve_limits, settings.auto_approve_limit
    )
    # a SKU without a forecast has no class: only the supplier's and the general limit apply
    found = [classes[row.id] for row in rows if row.id in classes]
    return decide(value_of(conn, po_id), po.name, found, limits)


def _approve(
    app: Backorder, uow: UnitOfWork, ref: str, by: str, rows: list[ProductRow]
) -> list[Event]:
    """Approved: inbound supply from now on (the SKUs' queues re-dated against it). Its
    delivery to the supplier is planned once the events are written (`send_approved`),
    naming the event that approved it."""
    conn, now = uow.connection, app.now()
    conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.ref == ref)
        .values(approval="approved", approved_by=by[:120], approved_at=now)
    )
    approved = po_event(conn, ref, "approved", by)
    return [approved, *reschedule(uow, rows, now, app.settings.eta_change_days)]


def send_approved(conn: Connection, ref: str, now: datetime) -> None:
    """After the events of an approval are written: plan the purchase order's delivery to
    its supplier, naming the newest `approved` event of it (this transaction's: event ids
    are taken in commit order). Nothing for a draft, or one planned already."""
    po = po_row(conn, ref)
    if po is None or po["approval"] != "approved" or po["sent_at"] is not None:
        return
    planned = conn.execute(
        select(po_documents.c.id).where(
            po_documents.c.po_id == po["id"], po_documents.c.kind == "order"
        )
    ).first()
    if planned is not None:
        return
    newest = conn.execute(
        select(events.c.id, events.c.payload)
        .where(events.c.type == PurchaseOrderChanged.type)
        .order_by(events.c.id.desc())
        .limit(100)
    ).all()
    found = next(
        (
            row.id
            for row in newest
            if row.payload.get("po") == ref and row.payload.get("action") == "approved"
        ),
        None,
    )
    if found is None:
        raise RuntimeError(f"no approved event of {ref} in this transaction")
    po_sending.plan(conn, ref, ("order", int(found)), now)


def _write_now(conn: Connection, fact: Event, now: datetime) -> int:
    """Write one event at once (a delivery names it); its id."""
    take_event_ids_in_commit_order(conn)
    return int(
        conn.execute(
            insert(events)
            .values(
                type=fact.type,
                occurred_at=now,
                order_ref=None,
                sku=fact.subject_sku,
                payload=fact.payload(),
            )
            .returning(events.c.id)
        ).scalar_one()
    )


# A person's decision on a draft


def _pending(uow: UnitOfWork, ref: str) -> tuple[RowMapping, dict[str, ProductRow]]:
    conn = uow.connection
    found = po_row(conn, ref)
    if found is None:
        raise UnknownPurchaseOrder(ref)
    skus = [line["sku"] for line in po_line_rows(conn, found["id"])]
    rows = Products(conn).lock(skus)  # the SKUs first, as every use case locks them
    po = po_row(conn, ref, lock=True)
    assert po is not None
    if po["approval"] != "pending" or po["state"] != "open":
        raise DecisionConflict(
            f"purchase order {ref} is {po['state']} and {po['approval']}"
            f"{' by ' + po['approved_by'] if po['approved_by'] else ''}; "
            "only a draft awaiting approval can be approved or rejected"
        )
    return po, rows


def approve(app: Backorder, ref: str, actor: str) -> dict[str, Any]:
    """A person approves a draft: it becomes inbound supply and goes to the supplier."""
    now = app.now()
    with app.db.write() as uow:
        _, rows = _pending(uow, ref)
        conn = uow.connection
        facts = _approve(app, uow, ref, actor, list(rows.values()))
        facts += po_tasks.settle(conn, ref, f"{ref} approved by {actor}", now)
        Outbox(conn).append(facts, now)
        send_approved(conn, ref, now)
        view = summary(conn, ref)
        uow.commit()
    return view


def reject(app: Backorder, ref: str, actor: str, note: str | None = None) -> dict[str, Any]:
    """A person rejects a draft: cancelled, never sent; its recommendation is marked
    rejected with the note."""
    if note is not None and len(note) > 2000:
        raise InvalidRequest("a note is at most 2000 characters")
    now = app.now()
    with app.db.write() as uow:
        po, _ = _pending(uow, ref)
        conn = uow.connection
        _close(conn, po["id"], "rejected", actor, now)
        conn.execute(
            update(recommendations)
            .where(recommendations.c.po_id == po["id"])
            .values(
                state="rejected",
                decided_at=now,
                decided_by=actor[:120],
                note=(note or f"purchase order {ref} rejected")[:2000],
            )
        )
        facts: list[Event] = [po_event(conn, ref, "rejected", actor)]
        facts += po_tasks.settle(conn, ref, f"{ref} rejected by {actor}", now)
        Outbox(conn).append(facts, now)
        view = summary(conn, ref)
        uow.commit()
    return view


def _close(conn: Connection, po_id: int, approval: str, by: str, now: datetime) -> None:
    conn.execute(
        update(po_lines)
        .where(po_lines.c.po_id == po_id)
        .values(cancelled=po_lines.c.ordered - po_lines.c.received)
    )
    conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == po_id)
        .values(
            state="cancelled",
            closed_at=now,
            approval=approval,
            approved_by=by[:120],
            approved_at=now,
        )
    )


def on_cancel(uow: UnitOfWork, po: RowMapping, now: datetime) -> list[Event]:
    """`po cancel` of a purchase order from a recommendation (called before its lines are
    cancelled). A draft is withdrawn; one approved and not yet sent has its delivery
    withdrawn; either way its recommendation is proposed again (or superseded, when a newer
    one is proposed for the same key). One the supplier has gets a cancellation."""
    if po["origin"] != "recommendation":
        return []
    conn = uow.connection
    facts: list[Event] = []
    if po["approval"] == "pending":
        conn.execute(
            update(purchase_orders)
            .where(purchase_orders.c.id == po["id"])
            .values(approval="withdrawn")
        )
        facts += po_tasks.settle(conn, po["ref"], f"{po['ref']} cancelled", now)
        _reopen(conn, po)
        return facts
    mine = select(po_documents.c.message_id).where(po_documents.c.po_id == po["id"])
    withdrawn = conn.execute(
        update(deliveries)
        .where(deliveries.c.message_id.in_(mine), deliveries.c.state == "due")
        .values(state="withdrawn", last_error="the purchase order was cancelled before it went")
    ).rowcount
    still = conn.execute(
        select(deliveries.c.id).where(
            deliveries.c.message_id.in_(mine), deliveries.c.state.in_(("sending", "sent"))
        )
    ).first()
    if po["sent_at"] is None and still is None:
        if withdrawn:
            facts.append(po_event(conn, po["ref"], "withdrawn", None))
        _reopen(conn, po)
        return facts
    if po["sent_at"] is not None and still is None:
        return facts  # placed by hand: the supplier hears of it by hand too
    cancelling = po_event(conn, po["ref"], "cancelling", None)
    po_sending.plan(conn, po["ref"], ("cancel", _write_now(conn, cancelling, now)), now)
    return facts


def _reopen(conn: Connection, po: RowMapping) -> None:
    rec = conn.execute(
        select(recommendations.c.id, recommendations.c.key).where(
            recommendations.c.po_id == po["id"], recommendations.c.state == "accepted"
        )
    ).first()
    if rec is None:
        return
    newer = conn.execute(
        select(recommendations.c.id).where(
            recommendations.c.key == rec.key, recommendations.c.state == "proposed"
        )
    ).first()
    conn.execute(
        update(recommendations)
        .where(recommendations.c.id == rec.id)
        .values(
            state="superseded" if newer else "proposed",
            decided_at=None,
            decided_by=None,
            po_id=None,
            note=f"purchase order {po['ref']} was cancelled before it was sent",
        )
    )


def summary(conn: Connection, ref: str) -> dict[str, Any]:
    po = po_row(conn, ref)
    assert po is not None
    value = value_of(conn, po["id"])
    return {
        "po": ref,
        "supplier": po["supplier_id"],
        "location": po["location"],
        "state": po["state"],
        "origin": po["origin"],
        "approval": po["approval"],
        "approved_by": po["approved_by"],
        "sent_at": po["sent_at"].isoformat() if po["sent_at"] else None,
        "value": None if value is None else f"{value:.2f}",
        "currency": po_sending.currency_of(conn, po["id"]),
        "lines": [
            {
                "sku": line["sku"],
                "ordered": line["ordered"],
                "unit_cost": None if line["unit_cost"] is None else f"{line['unit_cost']:.2f}",
                "expected_on": line["expected_on"].isoformat(),
            }
            for line in po_line_rows(conn, po["id"])
        ],
    }
