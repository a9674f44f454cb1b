"""Several suppliers per SKU against a real database, on SQLite and PostgreSQL: terms added,
listed, changed and removed, with their refusals; the preferred supplier is the SKU's own;
the migration gives every SKU's supplier its row; and performance measured from a
hand-computed set of purchase-order lines (clock: 10 January 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select

from backorder.domain.errors import AlreadyExists, InvalidRequest, UnknownSku, UnknownSupplier
from backorder.domain.safety_stock import LeadTime
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.lead_times import lead_times as measured_or_stated
from backorder.services.product_suppliers import (
    SupplierTerms,
    add_terms,
    list_terms,
    remove_terms,
    update_terms,
)
from backorder.services.products import add_product, update_product
from backorder.services.supply import SupplierIn, add_supplier, get_supplier
from backorder.services.views import order_view
from backorder.store.db import Database
from backorder.store.migrate import alembic_config, upgrade
from backorder.store.tables import po_lines, product_suppliers, products, purchase_orders
from tests.factories import order, product

SKU = "FILTER-10"


@pytest.fixture
def supplied(app: Backorder) -> Backorder:
    """FilterCo (10 days) is FILTER-10's supplier; ClearFlow (5 days) is known too."""
    add_supplier(app, SupplierIn("FILTERCO", "FilterCo", 10))
    add_supplier(app, SupplierIn("CLEARFLOW", "ClearFlow", 5))
    add_product(app, product(SKU, supplier="FILTERCO"))
    return app


def names(app: Backorder) -> list[tuple[str, bool, str | None]]:
    return [(s["supplier"], s["preferred"], s["cost"]) for s in list_terms(app, SKU)["suppliers"]]


def test_the_skus_supplier_is_listed_first_with_cost_unknown(supplied: Backorder) -> None:
    assert names(supplied) == [("FILTERCO", True, None)]
    [only] = list_terms(supplied, SKU)["suppliers"]
    assert only["lead_time_days"] == 10  # what the SKU already used: the supplier's


def test_add_an_alternative_then_make_it_preferred(supplied: Backorder) -> None:
    added = add_terms(
        supplied, SKU, SupplierTerms("CLEARFLOW", Decimal("4.20"), 6, moq=10, pack=5), False
    )
    assert (added["cost"], added["moq"], added["pack"], added["preferred"]) == (
        "4.20",
        10,
        5,
        False,
    )
    assert names(supplied) == [("FILTERCO", True, None), ("CLEARFLOW", False, "4.20")]
    update_terms(supplied, SKU, "CLEARFLOW", {"lead_time_days": 7}, True)
    assert names(supplied) == [("CLEARFLOW", True, "4.20"), ("FILTERCO", False, None)]
    with supplied.db.read() as uow:
        owner = uow.connection.execute(
            select(products.c.supplier_id).where(products.c.sku == SKU)
        ).scalar_one()
    assert owner == "CLEARFLOW"  # the one ETAs and the review use
    assert list_terms(supplied, SKU)["suppliers"][0]["lead_time_days"] == 7


def test_waiting_lines_are_dated_by_the_preferred_suppliers_terms(supplied: Backorder) -> None:
    place_order(supplied, order("1", (SKU, 2)))  # nothing on hand: both wait

    def eta() -> str:
        return str(order_view(supplied, "web:1")["lines"][0]["eta"])

    assert eta() == "2026-01-20"  # the terms row FilterCo got: its 10 days
    update_terms(supplied, SKU, "FILTERCO", {"lead_time_days": 20}, False)
    assert eta() == "2026-01-30"  # the terms, not the supplier's default
    stated_days = lead_times(supplied, SKU)
    assert (stated_days.source, stated_days.days) == ("supplier", 20)
    add_terms(supplied, SKU, SupplierTerms("CLEARFLOW", Decimal("4.20"), 6), True)
    assert eta() == "2026-01-16"  # ClearFlow's terms for the SKU: 6 days, not its 5
    update_product(supplied, SKU, {"lead_time_days": 3})
    assert eta() == "2026-01-13"  # the product's own lead time still wins


def lead_times(app: Backorder, sku: str) -> LeadTime:
    with app.db.read() as uow:
        conn = uow.connection
        pid = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar_one()
        return measured_or_stated(conn, [pid], app.now())[pid]


def test_refusals_change_nothing(supplied: Backorder) -> None:
    terms = SupplierTerms("CLEARFLOW", Decimal("4.20"), 6)
    with pytest.raises(UnknownSku):
        add_terms(supplied, "NOPE", terms, False)
    with pytest.raises(UnknownSupplier):
        add_terms(supplied, SKU, SupplierTerms("NOBODY", Decimal(1), 6), False)
    with pytest.raises(AlreadyExists):
        add_terms(supplied, SKU, SupplierTerms("FILTERCO", Decimal(1), 6), False)
    with pytest.raises(InvalidRequest, match="cost"):
        add_terms(supplied, SKU, SupplierTerms("CLEARFLOW", Decimal("-1"), 6), True)
    with pytest.raises(InvalidRequest, match="moq"):
        add_terms(supplied, SKU, SupplierTerms("CLEARFLOW", Decimal(1), 6, moq=0), True)
    with pytest.raises(InvalidRequest, match="lead time"):
        add_terms(supplied, SKU, SupplierTerms("CLEARFLOW", Decimal(1), 4000), True)
    with pytest.raises(UnknownSupplier, match="does not supply"):
        update_terms(supplied, SKU, "CLEARFLOW", {"pack": 2}, False)
    with pytest.raises(InvalidRequest, match="nothing to change"):
        update_terms(supplied, SKU, "FILTERCO", {}, False)
    with pytest.raises(InvalidRequest, match="pack"):
        update_terms(supplied, SKU, "FILTERCO", {"pack": 0}, False)
    assert names(supplied) == [("FILTERCO", True, None)]


def test_the_preferred_supplier_cannot_be_removed_another_can(supplied: Backorder) -> None:
    add_terms(supplied, SKU, SupplierTerms("CLEARFLOW", Decimal("4.20"), 6), False)
    with pytest.raises(InvalidRequest, match="preferred supplier of FILTER-10"):
        remove_terms(supplied, SKU, "FILTERCO")
    remove_terms(supplied, SKU, "CLEARFLOW")
    assert names(supplied) == [("FILTERCO", True, None)]
    with pytest.raises(UnknownSupplier):
        remove_terms(supplied, SKU, "CLEARFLOW")


def test_naming_a_supplier_on_the_product_records_it(supplied: Backorder) -> None:
    update_product(supplied, SKU, {"supplier": "CLEARFLOW"})
    assert names(supplied) == [("CLEARFLOW", True, None), ("FILTERCO", False, None)]


# Performance. Closed lines of FILTERCO for FILTER-10 (first expected, ordered, received,
# last receipt):
#   A 2025-12-01 10/10 on 2025-11-30  on time, 0 days late
#   B 2025-11-01 10/10 on 2025-11-05  late 4
#   C 2025-10-01 20/15 on 2025-10-01  short (5 cancelled): not on time, 0 days late
#   D 2025-03-01 10/10 on 2025-03-09  late 8 (12 months only)
#   E 2024-06-01 10/10 on 2024-07-01  older than 12 months: left out
#   F 2026-01-20  5/0  open: left out
# and one of FILTERCO for OTHER: G 2025-12-15 4/4 on 2025-12-14, on time.
# 6 months (A B C): 1/3 on time; late 0, 4, 0: mean 4/3, sd sqrt(16/3) = 2.3094;
#   fill 35/40. 12 months (A-D): 1/4; late 0, 4, 0, 8: mean 3, sd sqrt(44/3) = 3.8297;
#   fill 45/50.
LINES = (
    ("A", SKU, date(2025, 12, 1), 10, 10, 0, date(2025, 11, 30)),
    ("B", SKU, date(2025, 11, 1), 10, 10, 0, date(2025, 11, 5)),
    ("C", SKU, date(2025, 10, 1), 20, 15, 5, date(2025, 10, 1)),
    ("D", SKU, date(2025, 3, 1), 10, 10, 0, date(2025, 3, 9)),
    ("E", SKU, date(2024, 6, 1), 10, 10, 0, date(2024, 7, 1)),
    ("F", SKU, date(2026, 1, 20), 5, 0, 0, None),
    ("G", "OTHER", date(2025, 12, 15), 4, 4, 0, date(2025, 12, 14)),
)


def write_history(app: Backorder) -> None:
    add_product(app, product("OTHER", supplier="FILTERCO"))
    with app.db.write() as uow:
        conn = uow.connection
        ids = {sku: pid for sku, pid in conn.execute(select(products.c.sku, products.c.id))}
        for ref, sku, first, ordered, received, cancelled, came in LINES:
            created = datetime(first.year, first.month, 1, tzinfo=UTC)
            po_id = conn.execute(
                insert(purchase_orders)
                .values(
                    ref=f"PO-{ref}",
                    supplier_id="FILTERCO",
                    state="open" if came is None else "received",
                    created_at=created,
                )
                .returning(purchase_orders.c.id)
            ).scalar_one()
            conn.execute(
                insert(po_lines).values(
                    po_id=po_id,
                    product_id=ids[sku],
                    ordered=ordered,
                    received=received,
                    cancelled=cancelled,
                    expected_on=first,
                    first_expected_on=first,
                    last_received_at=None
                    if came is None
                    else datetime(came.year, came.month, came.day, 15, tzinfo=UTC),
                )
            )
        uow.commit()


def figures(performance: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            p["months"],
            p["lines"],
            p["on_time_lines"],
            round(p["on_time_rate"], 4),
            round(p["late_days_mean"], 4),
            round(p["late_days_sd"], 4),
            p["received"],
            p["ordered"],
            round(p["fill_rate"], 4),
        )
        for p in performance
    ]


def test_performance_per_sku_and_per_supplier_from_closed_lines(supplied: Backorder) -> None:
    write_history(supplied)
    [filterco] = list_terms(supplied, SKU)["suppliers"]
    assert figures(filterco["performance"]) == [
        (6, 3, 1, 0.3333, 1.3333, 2.3094, 35, 40, 0.875),
        (12, 4, 1, 0.25, 3.0, 3.8297, 45, 50, 0.9),
    ]
    # over all its SKUs: G (on time, 0 days late) joins both windows
    shown = get_supplier(supplied, "FILTERCO")["performance"]
    assert figures(shown) == [
        (6, 4, 2, 0.5, 1.0, 2.0, 39, 44, 0.8864),
        (12, 5, 2, 0.4, 2.4, 3.5777, 49, 54, 0.9074),
    ]


def test_no_history_means_no_figures(supplied: Backorder) -> None:
    [perf6, perf12] = get_supplier(supplied, "CLEARFLOW")["performance"]
    assert (perf6["lines"], perf6["on_time_rate"], perf6["late_days_mean"]) == (0, None, None)
    assert (perf12["fill_rate"], perf12["late_days_sd"]) == (None, None)


def test_the_migration_gives_every_skus_supplier_its_row(db_url: str) -> None:
    database = Database(db_url)
    config = alembic_config(database)
    try:
        command.downgrade(config, "0033")
        now = "2026-01-01 00:00:00"
        with database.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO suppliers (id, name, lead_time_days, created_at, updated_at)"
                f" VALUES ('ACME', 'Acme', 12, '{now}', '{now}')"
            )
            for sku, supplier, lead in (("A-1", "'ACME'", "NULL"), ("B-2", "'ACME'", "3")):
                conn.exec_driver_sql(
                    "INSERT INTO products (sku, name, unit_price, policy, queue_strategy,"
                    " supplier_id, lead_time_days, created_at, updated_at) VALUES"
                    f" ('{sku}', 'x', 100, 'allow', 'fifo', {supplier}, {lead}, '{now}', '{now}')"
                )
            conn.exec_driver_sql(
                "INSERT INTO products (sku, name, unit_price, policy, queue_strategy,"
                f" created_at, updated_at) VALUES ('C-3', 'x', 100, 'allow', 'fifo',"
                f" '{now}', '{now}')"
            )
        upgrade(database)
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(
                    products.c.sku,
                    product_suppliers.c.supplier_id,
                    product_suppliers.c.cost,
                    product_suppliers.c.lead_time_days,
                    product_suppliers.c.moq,
                    product_suppliers.c.pack,
                )
                .join(product_suppliers, product_suppliers.c.product_id == products.c.id)
                .order_by(products.c.sku)
            ).all()
        assert [tuple(r) for r in rows] == [
            ("A-1", "ACME", None, 12, 1, 1),
            ("B-2", "ACME", None, 3, 1, 1),
        ]
    finally:
        upgrade(database)
        database.dispose()
