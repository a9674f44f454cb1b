"""Self-healing after a slip against a real database, on SQLite and PostgreSQL: a redate or a
reduction re-plans the shortfall (a recommendation with cause `slip` superseding the plain
proposal, a `supply_replanned` event), a transfer from a location with surplus, and the
daily review's procurement task carrying the options (clock: 10 January 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.product_suppliers import SupplierTerms, add_terms, update_terms
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.self_healing import slip_options
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import (
    PoLineIn,
    SupplierIn,
    add_purchase_order,
    add_supplier,
    cancel_purchase_order,
    redate_purchase_order,
    reduce_purchase_order,
)
from backorder.services.tasks import list_tasks
from backorder.store.tables import products, recommendations
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.integration.test_engine import payloads

SKU = "FILTER"


def make(app: Backorder) -> Backorder:
    """ACME (2.00 a unit) has PO-1 bring 12 units on 15 January; ClearFlow sells at 2.60 in
    4 days, at least 10, in packs of 5; three orders of 4 units wait, promised 15 January."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_supplier(app, SupplierIn("CLEARFLOW", "ClearFlow", 4))
    add_product(app, product(SKU, supplier="ACME"))
    update_terms(app, SKU, "ACME", {"cost": Decimal("2.00")}, preferred=False)
    add_terms(app, SKU, SupplierTerms("CLEARFLOW", Decimal("2.60"), 4, 10, 5), preferred=False)
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 12, date(2026, 1, 15))])
    for n in (1, 2, 3):
        place_order(app, order(f"{n}", (SKU, 4), placed_at=jan(n)))
    return app


def proposals(app: Backorder) -> list[dict[str, Any]]:
    r = recommendations.c
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(r.cause, r.kind, r.supplier_id, r.quantity, r.state, r.need_by).order_by(r.id)
        )
        return [dict(row._mapping) for row in rows]


def plain_proposal(app: Backorder) -> None:
    """A reorder-point proposal for the SKU, as the restock plan would store it."""
    with app.db.write() as uow:
        conn = uow.connection
        pid = conn.execute(select(products.c.id).where(products.c.sku == SKU)).scalar_one()
        day = date(2026, 1, 20)
        conn.execute(
            insert(recommendations).values(
                key=SKU,
                product_id=pid,
                kind="purchase",
                cause="reorder_point",
                supplier_id="ACME",
                quantity=20,
                unit_cost=Decimal(2),
                currency="USD",
                need_by=day,
                arrive_on=day,
                arrive_p90=day,
                expected_short=0.0,
                expected_cost=Decimal(40),
                reasons=[],
                facts={},
                state="proposed",
                computed_at=datetime(2026, 1, 10, tzinfo=UTC),
            )
        )
        uow.commit()


def test_a_redate_past_three_promises_replans_and_supersedes_the_plain_proposal(
    app: Backorder,
) -> None:
    make(app)
    plain_proposal(app)
    redate_purchase_order(app, "PO-1", SKU, date(2026, 1, 25))
    assert proposals(app) == [
        {
            "cause": "reorder_point",
            "kind": "purchase",
            "supplier_id": "ACME",
            "quantity": 20,
            "state": "superseded",
            "need_by": date(2026, 1, 20),
        },
        # 12 short, rounded to ClearFlow's minimum 10 and packs of 5
        {
            "cause": "slip",
            "kind": "purchase",
            "supplier_id": "CLEARFLOW",
            "quantity": 15,
            "state": "proposed",
            "need_by": date(2026, 1, 15),
        },
    ]
    (event,) = payloads(app, "supply_replanned")
    assert (event["sku"], event["po"], event["orders"], event["shortfall"]) == (
        SKU,
        "PO-1",
        ["web:1", "web:2", "web:3"],
        12,
    )
    assert event["sentences"] == [
        "Expedite PO-1 to arrive by 15 Jan: keeps 3 orders' dates.",
        "ClearFlow: 15 units by 14 Jan at USD 39.00 (+30 %), keeps 3 orders' dates.",
        "No action: 3 orders move from 15 Jan to 25 Jan.",
    ]
    # procurement hears of it (a notice, by e-mail where configured)
    (notice,) = alert_list(app, state="notice")
    assert (notice["kind"], notice["audience"], notice["summary"]) == (
        "supply_replanned",
        ["procurement"],
        "PO-1 slipped: 3 orders of FILTER miss their dates, 12 units short",
    )
    assert notice["facts"]["option 2"] == event["sentences"][1]
    view = slip_options(app, SKU)
    assert view["recommendation"] == event["recommendation"]
    expedite, clearflow = view["options"]
    assert clearflow["orders"][0] == {
        "order": "web:1",
        "line_id": clearflow["orders"][0]["line_id"],
        "promised": "2026-01-15",
        "no_action": "2026-01-25",
        "with_option": "2026-01-14",
    }
    assert (expedite["kind"], expedite["arrive_on"], expedite["keeps"]) == (
        "expedite",
        "2026-01-15",
        3,
    )


def test_a_redate_that_keeps_every_date_replans_nothing(app: Backorder) -> None:
    make(app)
    redate_purchase_order(app, "PO-1", SKU, date(2026, 1, 14))
    assert proposals(app) == [] and payloads(app, "supply_replanned") == []
    assert slip_options(app, SKU)["orders"] == []


def test_a_slip_proposal_is_withdrawn_once_nothing_waits(app: Backorder) -> None:
    make(app)
    redate_purchase_order(app, "PO-1", SKU, date(2026, 1, 25))
    receive_stock(app, SKU, 12)  # stock from elsewhere serves the three orders
    cancel_purchase_order(app, "PO-1")
    assert [(p["cause"], p["state"]) for p in proposals(app)] == [("slip", "superseded")]
    assert len(payloads(app, "supply_replanned")) == 1  # the redate's; nothing since


def test_a_reduction_prefers_a_transfer_from_a_location_with_surplus(app: Backorder) -> None:
    make(app)
    # the store does not serve backorders; it holds 20 free units and spares 15 of them
    add(app, LocationIn("store", "Corner store", "store", accepts_backorders=False))
    set_stock(app, SKU, 20, location="store")
    reduce_purchase_order(app, "PO-1", SKU, 4)  # web:2 and web:3 fall beyond supply (30 Jan)
    (row,) = proposals(app)
    assert (row["cause"], row["kind"], row["quantity"]) == ("slip", "transfer", 8)
    view = slip_options(app, SKU)
    assert [o["order"] for o in view["orders"]] == ["web:2", "web:3"]
    transfer = view["options"][0]
    assert (transfer["source"], transfer["arrive_on"], transfer["keeps"]) == (
        "store",
        "2026-01-13",
        2,
    )
    assert (
        view["sentences"][0]
        == "Transfer 8 units from store by 13 Jan at USD 0.00, keeps 2 orders' dates."
    )


def test_the_daily_review_procurement_task_carries_the_options(
    app: Backorder, clock: Clock
) -> None:
    make(app)
    redate_purchase_order(app, "PO-1", SKU, date(2026, 1, 25))
    clock.current = datetime(2026, 1, 17, 6, 0, tzinfo=UTC)
    run_review(app)
    (task,) = list_tasks(app, role="procurement")
    # two days past the promise nothing keeps it; each option says the date it gives
    assert task["facts"]["options"] == [
        "Expedite PO-1 to arrive by 17 Jan: no order keeps its date (17 Jan).",
        "ClearFlow: 15 units by 21 Jan at USD 39.00 (+30 %), no order keeps its date (21 Jan).",
        "No action: 3 orders move from 15 Jan to 25 Jan.",
    ]
    assert task["facts"]["self_healing"]["shortfall"] == 12
    again = run_review(app)
    assert again["tasks_opened"] == 0 and len(payloads(app, "supply_replanned")) == 2
