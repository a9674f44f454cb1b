"""Automatic purchase orders against a real database (SQLite and PostgreSQL): a proposed
recommendation accepted (as is, or changed and re-rounded) becomes a draft purchase order
that dates no customer until approved; the approval policy approves it by rule or opens a
task; approved, it goes to the supplier through the deliveries (an X12 850 or a signed
webhook to a real HTTP server on loopback, an e-mail with PDF and CSV to a real SMTP
server); cancelled before it went, its delivery is withdrawn and the recommendation is
proposed again; after, a cancellation goes. Clock: 10 January 2026."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import insert, select

from backorder.config import Settings
from backorder.domain.errors import DecisionConflict, InvalidRequest
from backorder.services import po_approval
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.product_suppliers import SupplierTerms, add_terms, update_terms
from backorder.services.products import add_product, update_product
from backorder.services.replenishment_decisions import Change, accept, reject
from backorder.services.sending import send_due
from backorder.services.supply import (
    SupplierIn,
    add_supplier,
    cancel_purchase_order,
    get_purchase_order,
    update_supplier,
)
from backorder.services.tasks import list_tasks
from backorder.services.views import order_view
from backorder.store.tables import deliveries, events, products, recommendations
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_shipping_orders import Warehouse, _segments
from tests.mail import Inbox

SKU = "FILTER-10"


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite:///unused.db", notify_max_attempts=3)


@pytest.fixture
def supplied(app: Backorder) -> Backorder:
    return with_suppliers(app)


def with_suppliers(app: Backorder) -> Backorder:
    """FilterCo (supplier lead 10 days; its terms for FILTER-10: 4 days, 2.50, MOQ 100, packs
    of 12) and ClearFlow (terms: 3 days, 2.60, packs of 50)."""
    add_supplier(app, SupplierIn("FILTERCO", "FilterCo", 10, email="po@filterco.example"))
    add_supplier(app, SupplierIn("CLEARFLOW", "ClearFlow", 5))
    add_product(app, product(SKU, supplier="FILTERCO"))
    changes = {"cost": Decimal("2.50"), "lead_time_days": 4, "moq": 100, "pack": 12}
    update_terms(app, SKU, "FILTERCO", changes, True)
    add_terms(app, SKU, SupplierTerms("CLEARFLOW", Decimal("2.60"), 3, pack=50), False)
    return app


def proposed(app: Backorder, quantity: int = 120, key: str = SKU) -> int:
    """A proposed purchase recommendation for FILTER-10, as the planner writes one."""
    with app.db.write() as uow:
        conn = uow.connection
        pid = conn.execute(select(products.c.id).where(products.c.sku == SKU)).scalar_one()
        rec_id = conn.execute(
            insert(recommendations)
            .values(
                key=key,
                product_id=pid,
                kind="purchase",
                cause="stockout",
                supplier_id="FILTERCO",
                quantity=quantity,
                unit_cost=Decimal("2.50"),
                currency="USD",
                need_by=date(2026, 1, 20),
                arrive_on=date(2026, 1, 14),
                arrive_p90=date(2026, 1, 16),
                expected_short=0.0,
                expected_cost=Decimal("300.00"),
                reasons=["FilterCo can deliver by 14 Jan."],
                facts={},
                state="proposed",
                computed_at=app.now(),
            )
            .returning(recommendations.c.id)
        ).scalar_one()
        uow.commit()
    return int(rec_id)


def rec_row(app: Backorder, rec_id: int) -> Any:
    with app.db.read() as uow:
        return (
            uow.connection.execute(select(recommendations).where(recommendations.c.id == rec_id))
            .mappings()
            .one()
        )


def types_after(app: Backorder, after: int) -> list[str]:
    with app.db.read() as uow:
        return list(
            uow.connection.execute(
                select(events.c.type).where(events.c.id > after).order_by(events.c.id)
            ).scalars()
        )


def actions_after(app: Backorder, after: int) -> list[str]:
    """What the events after `after` say, in order: a decision and its purchase order's steps."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(events.c.type, events.c.payload).where(events.c.id > after).order_by(events.c.id)
        ).all()
    said = []
    for kind, payload in rows:
        if kind == "recommendation_accepted":
            said.append(f"accepted by {payload['decided_by']}")
        elif kind == "purchase_order_changed":
            said.append(payload["action"])
    return said


def newest_event(app: Backorder) -> int:
    with app.db.read() as uow:
        return int(
            uow.connection.execute(select(events.c.id).order_by(events.c.id.desc())).scalar() or 0
        )


def test_a_draft_dates_no_customer_until_a_person_approves_it(supplied: Backorder) -> None:
    app = supplied
    update_product(app, SKU, {"lead_time_days": 10})  # the product's own lead time dates it
    place_order(app, order("A1", (SKU, 30)))
    before = order_view(app, "web:A1")["lines"][0]["eta"]
    assert before == "2026-01-20"  # no inbound supply: the product's 10 days
    rec_id = proposed(app)
    start = newest_event(app)

    made = accept(app, rec_id, "cli")

    po = made["purchase_order"]
    assert po["po"] == "R-2026-000001" and po["approval"] == "pending"
    # 120 rounded up to packs of 12 is 120; expected today + the terms' 4 days (no record)
    assert po["lines"] == [
        {"sku": SKU, "ordered": 120, "unit_cost": "2.50", "expected_on": "2026-01-14"}
    ]
    assert po["value"] == "300.00"
    assert order_view(app, "web:A1")["lines"][0]["eta"] == "2026-01-20"  # not inbound yet
    [task] = list_tasks(app, role="procurement")
    assert task["kind"] == "approve_po" and task["sku"] == SKU
    assert task["facts"]["purchase_orders"][0]["why"] == (
        "no auto-approve limit is set: a person approves"
    )
    assert types_after(app, start) == [
        "recommendation_accepted",
        "purchase_order_changed",
        "task_opened",
    ]
    row = rec_row(app, rec_id)
    assert (row["state"], row["decided_by"], row["po_id"]) == ("accepted", "cli", 1)

    approved = po_approval.approve(app, po["po"], "alice")

    assert (approved["approval"], approved["approved_by"]) == ("approved", "alice")
    assert approved["sent_at"] is not None  # FilterCo takes them by hand: it has it now
    assert order_view(app, "web:A1")["lines"][0]["eta"] == "2026-01-14"
    assert list_tasks(app, role="procurement") == []
    with pytest.raises(DecisionConflict, match="approved by alice"):
        po_approval.reject(app, po["po"], "bob")


def test_deciding_twice_is_a_conflict_and_a_rejection_keeps_its_note(
    supplied: Backorder,
) -> None:
    rec_id = proposed(supplied)
    reject(supplied, rec_id, "dashboard:alice", "we are phasing it out")
    row = rec_row(supplied, rec_id)
    assert (row["state"], row["decided_by"], row["note"]) == (
        "rejected",
        "dashboard:alice",
        "we are phasing it out",
    )
    with pytest.raises(DecisionConflict, match="is rejected by dashboard:alice"):
        accept(supplied, rec_id, "cli")
    with pytest.raises(InvalidRequest, match="does not supply"):
        accept(supplied, proposed(supplied), "cli", Change(supplier="NOBODY"))


def test_change_re_rounds_to_the_other_suppliers_pack_and_its_limit_approves_it(
    supplied: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    app = supplied
    endpoint = Warehouse(httpserver, "/po")
    secret = update_supplier(
        app,
        "CLEARFLOW",
        {"auto_approve_limit": Decimal("500"), "po_format": "x12-850", "po_address": endpoint.url},
    )["po_secret"]
    rec_id = proposed(app)
    start = newest_event(app)

    made = accept(app, rec_id, "ops-key", Change(quantity=130, supplier="CLEARFLOW"))

    assert made["quantity"] == 150  # 130 in packs of 50
    assert made["changes"] == [
        "supplier CLEARFLOW instead of FILTERCO",
        "quantity 130 instead of 120",
        "rounded up from 130 to 150 units (CLEARFLOW: minimum order 1, packs of 50)",
    ]
    po = made["purchase_order"]
    assert (po["supplier"], po["value"], po["approval"]) == ("CLEARFLOW", "390.00", "approved")
    assert po["approved_by"] == "rule:auto_approve_limit supplier ClearFlow 500.00"
    assert po["sent_at"] is None  # not yet: the 850 waits for the sender
    assert actions_after(app, start) == ["accepted by ops-key", "drafted", "approved"]
    assert send_due(app) == {"sent": 1}
    [document] = endpoint.verified(secret)
    segments = _segments(document)
    assert ["BEG", "00", "SA", po["po"], "", "20260110"] in segments
    assert ["PO1", "1", "150", "EA", "2.60", "PE", "BP", SKU] in segments
    assert ["DTM", "002", "20260113"] in segments
    assert ["CTT", "1", "150"] in segments
    assert segments[-1] == ["SE", str(len(segments) - 2), "0001"]
    assert get_purchase_order(app, po["po"])["sent_at"] == clock().isoformat()

    cancel_purchase_order(app, po["po"])  # the supplier has it: a cancellation goes

    assert send_due(app) == {"sent": 1}
    cancelled = _segments(endpoint.verified(secret)[1])
    assert ["BEG", "01", "SA", po["po"], "", "20260110"] in cancelled
    assert rec_row(app, rec_id)["state"] == "accepted"  # what was sent stays decided


def test_cancelled_before_it_went_its_delivery_is_withdrawn_and_the_line_proposed_again(
    supplied: Backorder, httpserver: HTTPServer
) -> None:
    app = supplied
    endpoint = Warehouse(httpserver, "/po")
    update_supplier(
        app,
        "FILTERCO",
        {"po_format": "webhook", "po_address": endpoint.url},
    )
    app.settings.auto_approve_limit = Decimal("1000")
    rec_id = proposed(app)
    po = accept(app, rec_id, "cli")["purchase_order"]
    assert po["approved_by"] == "rule:auto_approve_limit general 1000.00"

    cancel_purchase_order(app, po["po"])

    with app.db.read() as uow:
        states = uow.connection.execute(select(deliveries.c.state)).scalars().all()
    assert states == ["withdrawn"]
    assert send_due(app) == {}
    assert endpoint.received == []
    row = rec_row(app, rec_id)
    assert (row["state"], row["po_id"], row["decided_by"]) == ("proposed", None, None)
    assert "cancelled before it was sent" in row["note"]
    assert accept(app, rec_id, "cli")["purchase_order"]["po"] == "R-2026-000002"


def test_a_webhook_carries_the_json_purchase_order_signed(
    supplied: Backorder, httpserver: HTTPServer
) -> None:
    app = supplied
    endpoint = Warehouse(httpserver, "/po")
    secret = update_supplier(app, "FILTERCO", {"po_format": "webhook", "po_address": endpoint.url})[
        "po_secret"
    ]
    app.settings.auto_approve_limits = {"A": Decimal("100"), "C": Decimal("10")}
    po = accept(app, proposed(app), "cli")["purchase_order"]
    assert po["approval"] == "pending"  # no forecast, no class; no general limit: a person
    po_approval.approve(app, po["po"], "alice")
    assert send_due(app) == {"sent": 1}
    [body] = endpoint.verified(secret)
    sent = json.loads(body)
    assert sent["type"] == "purchase_order" and sent["po"] == po["po"]
    assert sent["lines"] == [
        {
            "line": 1,
            "sku": SKU,
            "name": "Filter-10",
            "units": 120,
            "unit_cost": "2.50",
            "expected_on": "2026-01-14",
        }
    ]
    assert sent["total"] == "300.00" and sent["supplier"] == {"id": "FILTERCO", "name": "FilterCo"}


def test_an_email_goes_with_the_pdf_and_the_csv(
    supplied: Backorder, inbox: tuple[Inbox, int]
) -> None:
    app = supplied
    box, port = inbox
    app.settings.smtp_url = f"smtp://127.0.0.1:{port}"
    update_supplier(app, "FILTERCO", {"po_format": "email", "auto_approve_limit": Decimal(300)})
    po = accept(app, proposed(app), "cli")["purchase_order"]
    assert po["approval"] == "approved"  # 300.00 is within 300.00
    assert send_due(app) == {"sent": 1}
    [message] = box.messages
    assert message["To"] == "po@filterco.example"
    assert message["Subject"] == f"Purchase order {po['po']}"
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attached) == {f"{po['po']}.pdf", f"{po['po']}.csv"}
    assert attached[f"{po['po']}.pdf"].get_content().startswith(b"%PDF")
    rows = attached[f"{po['po']}.csv"].get_content().splitlines()
    assert rows[1] == f"{po['po']},1,{SKU},Filter-10,120,2.50,USD,2026-01-14"
    assert (
        get_purchase_order(app, po["po"])["sent_at"]
        == datetime(2026, 1, 10, 9, 0, tzinfo=UTC).isoformat()
    )
