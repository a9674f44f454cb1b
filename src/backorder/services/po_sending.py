"""Sending purchase orders to suppliers: the document made once when a purchase order is
approved (or cancelled after the supplier had it), its delivery planned in that
transaction, and each attempt made by the sender (`services/sending.py`): an X12 850 or the
JSON purchase order POSTed to the supplier's URL, signed the Standard Webhooks way with the
supplier's secret, or an e-mail to the supplier with the purchase order as PDF and CSV.
A supplier taking purchase orders by hand (`none`) has one from the moment it is approved."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Connection, insert, select, update

from backorder.domain.errors import InvalidRequest
from backorder.notify import Sent, webhooks
from backorder.notify import email as mail
from backorder.notify import purchase_orders as documents
from backorder.services.context import Backorder
from backorder.store.supply import po_line_rows, po_row
from backorder.store.tables import (
    deliveries,
    po_documents,
    products,
    purchase_orders,
    recommendations,
    suppliers,
)

CHANNEL = "supplier"  # deliveries.channel of documents sent to suppliers


def document_of(conn: Connection, ref: str, cancel: bool) -> documents.PurchaseOrder:
    po = po_row(conn, ref)
    assert po is not None
    supplier = conn.execute(select(suppliers).where(suppliers.c.id == po["supplier_id"])).one()
    rows = po_line_rows(conn, po["id"])
    names = dict(
        conn.execute(
            select(products.c.id, products.c.name).where(
                products.c.id.in_([line["product_id"] for line in rows])
            )
        ).all()
    )
    lines = tuple(
        documents.PoLine(
            sku=line["sku"],
            name=names.get(line["product_id"], ""),
            units=line["ordered"] - line["cancelled"] if not cancel else line["ordered"],
            unit_cost=line["unit_cost"],
            expected_on=line["expected_on"],
        )
        for line in rows
    )
    return documents.PurchaseOrder(
        ref=ref,
        supplier=supplier.id,
        supplier_name=supplier.name,
        location=po["location"] or "",
        currency=currency_of(conn, po["id"]),
        lines=lines,
        cancel=cancel,
    )


def currency_of(conn: Connection, po_id: int) -> str:
    found = conn.execute(
        select(recommendations.c.currency).where(recommendations.c.po_id == po_id)
    ).first()
    return str(found[0]) if found else "USD"


def plan(conn: Connection, ref: str, what: tuple[str, int], now: datetime) -> None:
    """Plan the delivery of the purchase order (or its cancellation) to its supplier by
    the supplier's channel, the document made once. A supplier taking them by hand has an
    approved one at once (sent_at), and hears of a cancellation by hand too."""
    po = po_row(conn, ref)
    assert po is not None
    supplier = conn.execute(select(suppliers).where(suppliers.c.id == po["supplier_id"])).one()
    fmt = supplier.po_format or "none"
    kind, event_id = what
    if fmt == "none":
        if kind == "order":
            conn.execute(
                update(purchase_orders).where(purchase_orders.c.id == po["id"]).values(sent_at=now)
            )
        return
    recipient = supplier.po_address or supplier.email
    if not recipient:
        raise InvalidRequest(f"supplier {supplier.id} has no address for its purchase orders")
    number = f"{ref}-{kind}"
    message_id = "wpo_" + hashlib.sha256(number.encode()).hexdigest()[:40]
    doc_id = conn.execute(
        insert(po_documents)
        .values(
            po_id=po["id"],
            kind=kind,
            format=fmt,
            recipient=recipient,
            message_id=message_id,
            document="",
            created_at=now,
        )
        .returning(po_documents.c.id)
    ).scalar_one()
    made = document_of(conn, ref, kind == "cancel")
    text = (
        documents.x12_850(made, int(doc_id), now)
        if fmt == "x12-850"
        else documents.as_json(made, now)
    )
    conn.execute(update(po_documents).where(po_documents.c.id == doc_id).values(document=text))
    conn.execute(
        insert(deliveries).values(
            event_id=event_id,
            channel=CHANNEL,
            kind=fmt,
            recipient=recipient,
            message_id=message_id,
            state="due",
            attempts=0,
            due_at=now,
            created_at=now,
        )
    )


def mark_sent(conn: Connection, delivery_id: int, now: datetime) -> None:
    """The supplier got a purchase order's document (the delivery `delivery_id`): record
    when, in the transaction that records the delivery. Any other delivery: nothing."""
    sent = (
        select(po_documents.c.po_id)
        .join(deliveries, deliveries.c.message_id == po_documents.c.message_id)
        .where(deliveries.c.id == delivery_id, po_documents.c.kind == "order")
        .scalar_subquery()
    )
    conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == sent, purchase_orders.c.sent_at.is_(None))
        .values(sent_at=now)
    )


def send(app: Backorder, row: Any, client: httpx.Client, smtp: mail.Session | None) -> Sent:
    """One attempt at a purchase order's document: the same bytes (and id) every time."""
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(po_documents.c.document, suppliers.c.po_secret)
            .join(purchase_orders, purchase_orders.c.id == po_documents.c.po_id)
            .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
            .where(po_documents.c.message_id == row.message_id)
        ).one()
    if row.kind in documents.MEDIA:  # x12-850 or webhook: POSTed, signed
        if not found.po_secret:
            return Sent(False, None, "the supplier has no signing secret", permanent=True)
        media = documents.MEDIA[row.kind]
        return webhooks.post(
            client, row.recipient, found.po_secret, row.message_id, app.now(), found.document, media
        )
    if smtp is None:
        return Sent(False, None, "no SMTP server: set BACKORDER_SMTP_URL")
    po, made = documents.from_json(found.document)
    settings = app.settings
    # fpdf2 and matplotlib take a third of a second to import: only an e-mailed purchase
    # order pays for them, not every start of the command line or of the server.
    from backorder.report import po_pdf

    pdf = po_pdf.build(po, made, settings.shop_name)
    message = documents.message(
        po,
        (settings.shop_name, documents.as_csv(po), pdf),
        (settings.mail_from, row.recipient),
        row.message_id,
    )
    return smtp.send(message)
