"""Several suppliers per SKU, each on its own terms (cost, lead time, minimum order, pack),
with the performance measured from its purchase orders. The preferred supplier is the
SKU's own (`products.supplier_id`, what ETAs and the review use; its terms' lead time is the
SKU's stated lead time unless the product sets its own): marking another preferred, or
changing the preferred one's lead time, re-dates the waiting lines in the same
transaction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from backorder.domain.errors import AlreadyExists, InvalidRequest, UnknownSku, UnknownSupplier
from backorder.services.context import Backorder
from backorder.services.products import save_change
from backorder.services.schedule import reschedule
from backorder.services.supplier_performance import closed_lines, performance_views
from backorder.services.supply import MAX_LEAD_DAYS, MAX_UNITS
from backorder.store.db import UnitOfWork
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.supply import supplier_rows
from backorder.store.tables import product_suppliers

MAX_COST = Decimal("1000000000")
EDITABLE = ("cost", "lead_time_days", "moq", "pack")


class NotSupplying(UnknownSupplier):
    def __init__(self, supplier: str, sku: str) -> None:
        super().__init__(supplier)
        self.args = (f"{supplier!r} does not supply {sku}: add it with `product supplier add`",)


@dataclass(frozen=True)
class SupplierTerms:
    supplier: str
    cost: Decimal | None
    lead_time_days: int
    moq: int = 1
    pack: int = 1


def check_terms(terms: SupplierTerms) -> None:
    if terms.cost is not None and not Decimal(0) <= terms.cost <= MAX_COST:
        raise InvalidRequest(f"cost must be between 0 and {MAX_COST}, got {terms.cost}")
    if terms.cost is not None and terms.cost.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidRequest(f"cost {terms.cost} has more than 4 decimal places")
    if not 0 <= terms.lead_time_days <= MAX_LEAD_DAYS:
        raise InvalidRequest(
            f"lead time must be between 0 and {MAX_LEAD_DAYS} days, got {terms.lead_time_days}"
        )
    for name in ("moq", "pack"):
        value = getattr(terms, name)
        if not 1 <= value <= MAX_UNITS:
            raise InvalidRequest(f"{name} must be between 1 and {MAX_UNITS}, got {value}")


def _product(conn: Connection, sku: str) -> ProductRow:
    row = Products(conn).lock([sku]).get(sku)
    if row is None:
        raise UnknownSku(sku)
    return row


def _make_preferred(app: Backorder, uow: UnitOfWork, row: ProductRow, supplier: str) -> None:
    """Name the SKU's preferred supplier (the one ETAs use) and re-date its waiting lines."""
    now = app.now()
    updated = dataclasses.replace(row.product, supplier=supplier)
    facts = save_change(uow, row, (updated, None), (app, now))
    Outbox(uow.connection).append(facts, now)


def add_terms(app: Backorder, sku: str, terms: SupplierTerms, preferred: bool) -> dict[str, Any]:
    """A supplier that can deliver this SKU, on these terms; preferred, it becomes the
    SKU's supplier."""
    check_terms(terms)
    with app.db.write() as uow:
        conn = uow.connection
        row = _product(conn, sku)
        if not supplier_rows(conn, [terms.supplier]):
            raise UnknownSupplier(terms.supplier)
        if _terms_row(conn, row.id, terms.supplier) is not None:
            raise AlreadyExists(f"{terms.supplier!r} already supplies {sku}")
        now = app.now()
        conn.execute(
            insert(product_suppliers).values(
                product_id=row.id,
                supplier_id=terms.supplier,
                cost=terms.cost,
                lead_time_days=terms.lead_time_days,
                moq=terms.moq,
                pack=terms.pack,
                created_at=now,
                updated_at=now,
            )
        )
        if preferred and row.product.supplier != terms.supplier:
            _make_preferred(app, uow, row, terms.supplier)
        view = _list(conn, row, app.now().date())
        uow.commit()
    return _one(view, terms.supplier)


def update_terms(
    app: Backorder, sku: str, supplier: str, changes: dict[str, Any], preferred: bool
) -> dict[str, Any]:
    """Change a supplier's terms for this SKU; `preferred` makes it the SKU's supplier."""
    if set(changes) - set(EDITABLE):
        raise InvalidRequest(f"cannot change {sorted(set(changes) - set(EDITABLE))}")
    if not changes and not preferred:
        raise InvalidRequest("nothing to change: name a field or --preferred")
    with app.db.write() as uow:
        conn = uow.connection
        row = _product(conn, sku)
        current = _terms_row(conn, row.id, supplier)
        if current is None:
            raise NotSupplying(supplier, sku)
        merged = {k: current[k] for k in EDITABLE} | changes
        check_terms(SupplierTerms(supplier, **merged))
        if changes:
            conn.execute(
                update(product_suppliers)
                .where(_key(row.id, supplier))
                .values(**changes, updated_at=app.now())
            )
        if preferred and row.product.supplier != supplier:
            _make_preferred(app, uow, row, supplier)
        elif (
            row.product.supplier == supplier
            and merged["lead_time_days"] != current["lead_time_days"]
        ):
            _redate(app, uow, row)
        view = _list(conn, row, app.now().date())
        uow.commit()
    return _one(view, supplier)


def _redate(app: Backorder, uow: UnitOfWork, row: ProductRow) -> None:
    """The preferred supplier's lead time for the SKU changed: re-date its waiting lines."""
    now = app.now()
    facts = reschedule(uow, [row], now, app.settings.eta_change_days)
    Outbox(uow.connection).append(facts, now)


def remove_terms(app: Backorder, sku: str, supplier: str) -> None:
    """A supplier no longer delivers this SKU. The preferred one is refused: the SKU's ETAs
    rest on it; make another preferred first (or clear the SKU's supplier)."""
    with app.db.write() as uow:
        conn = uow.connection
        row = _product(conn, sku)
        if _terms_row(conn, row.id, supplier) is None:
            raise NotSupplying(supplier, sku)
        if row.product.supplier == supplier:
            raise InvalidRequest(
                f"{supplier} is the preferred supplier of {sku}: make another preferred first,"
                " or clear it with `product update --supplier ''`"
            )
        conn.execute(delete(product_suppliers).where(_key(row.id, supplier)))
        uow.commit()


def list_terms(app: Backorder, sku: str) -> dict[str, Any]:
    with app.db.read() as uow:
        conn = uow.connection
        row = Products(conn).get(sku)
        if row is None:
            raise UnknownSku(sku)
        return _list(conn, row, app.now().date())


def _key(product_id: int, supplier: str) -> Any:
    return and_(
        product_suppliers.c.product_id == product_id, product_suppliers.c.supplier_id == supplier
    )


def _terms_row(conn: Connection, product_id: int, supplier: str) -> Any:
    return (
        conn.execute(select(product_suppliers).where(_key(product_id, supplier))).mappings().first()
    )


def _one(view: dict[str, Any], supplier: str) -> dict[str, Any]:
    return next(item for item in view["suppliers"] if item["supplier"] == supplier)


def _list(conn: Connection, row: ProductRow, today: date) -> dict[str, Any]:
    rows = (
        conn.execute(
            select(product_suppliers)
            .where(product_suppliers.c.product_id == row.id)
            .order_by(product_suppliers.c.supplier_id)
        )
        .mappings()
        .all()
    )
    preferred = row.product.supplier
    ids = [r["supplier_id"] for r in rows]
    measured = closed_lines(conn, ids, today, row.id)
    views = [
        {
            "supplier": r["supplier_id"],
            "preferred": r["supplier_id"] == preferred,
            "cost": None if r["cost"] is None else str(r["cost"]),
            "lead_time_days": r["lead_time_days"],
            "moq": r["moq"],
            "pack": r["pack"],
            "performance": performance_views(measured.get(r["supplier_id"], []), today),
        }
        for r in rows
    ]
    views.sort(key=lambda v: (not v["preferred"], v["supplier"]))
    return {"sku": row.product.sku, "preferred": preferred, "suppliers": views}
