"""The catalogue: add, change and import products with their backorder policy."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backorder.domain.errors import DuplicateSku, InvalidRequest, UnknownSku
from backorder.domain.model import Policy, Product, QueueStrategy
from backorder.services.context import Backorder
from backorder.services.queueing import rerank
from backorder.store.repos import Products

IMPORT_COLUMNS = (
    "sku",
    "name",
    "price",
    "policy",
    "max_per_customer",
    "lead_time_days",
    "queue",
    "discontinued",
    "backorder_cap",
    "backorder_until",
)


def check_product(product: Product) -> None:
    if not product.sku or len(product.sku) > 64 or any(c.isspace() for c in product.sku):
        raise InvalidRequest(f"SKU {product.sku!r} must be 1-64 characters without spaces")
    if not product.name:
        raise InvalidRequest(f"product {product.sku} needs a name")
    if product.unit_price < 0:
        raise InvalidRequest(f"price of {product.sku} cannot be negative")
    if product.unit_price != product.unit_price.quantize(Decimal("0.0001")):
        raise InvalidRequest(f"price of {product.sku} has more than 4 decimal places")
    for field in ("lead_time_days", "max_per_customer", "backorder_cap"):
        value = getattr(product, field)
        if value is not None and value < 0:
            raise InvalidRequest(f"{field} of {product.sku} cannot be negative")


def add_product(app: Backorder, product: Product) -> Product:
    check_product(product)
    now = app.now()
    with app.db.write() as uow:
        repo = Products(uow.connection)
        if repo.get(product.sku) is not None:
            raise DuplicateSku(product.sku)
        repo.add(product, now)
        uow.commit()
    return product


def update_product(app: Backorder, sku: str, changes: dict[str, Any]) -> Product:
    """Change catalogue fields; a new queue strategy re-ranks the SKU's queue."""
    now = app.now()
    with app.db.write() as uow:
        repo = Products(uow.connection)
        rows = repo.lock([sku])
        if sku not in rows:
            raise UnknownSku(sku)
        row = rows[sku]
        unknown = set(changes) - {f.name for f in dataclasses.fields(Product)} - {"sku"}
        if unknown or changes.get("sku", sku) != sku:
            raise InvalidRequest(f"cannot change {sorted(unknown) or ['sku']}")
        updated = dataclasses.replace(row.product, **changes)
        check_product(updated)
        repo.replace(row.id, updated, now)
        if updated.queue is not row.product.queue:
            row.product = updated
            rerank(uow, row, app.ranking(updated.queue), now)
        uow.commit()
    return updated


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


def read_product_csv(path: Path, default_queue: QueueStrategy) -> list[Product]:
    """Rows of a product CSV (header: sku,name,price[,policy,...]); every bad cell is
    reported with its row number and nothing is imported."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = set(reader.fieldnames or ())
        missing = {"sku", "name", "price"} - header
        if missing:
            raise InvalidRequest(f"{path}: missing column(s) {sorted(missing)}")
        extra = header - set(IMPORT_COLUMNS)
        if extra:
            raise InvalidRequest(f"{path}: unknown column(s) {sorted(extra)}")
        products, errors = [], []
        for number, record in enumerate(reader, start=2):
            try:
                products.append(_product_from_record(record, default_queue))
            except (ValueError, InvalidOperation, InvalidRequest) as error:
                errors.append(f"row {number}: {error}")
    if errors:
        raise InvalidRequest(f"{path}: " + "; ".join(errors[:10]))
    return products


def _optional_int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _product_from_record(record: dict[str, str], default_queue: QueueStrategy) -> Product:
    product = Product(
        sku=record["sku"].strip(),
        name=record["name"].strip(),
        unit_price=Decimal(record["price"].strip()),
        policy=Policy(record.get("policy") or "allow"),
        queue=QueueStrategy(record.get("queue") or default_queue),
        lead_time_days=_optional_int(record.get("lead_time_days")),
        max_per_customer=_optional_int(record.get("max_per_customer")),
        discontinued=(record.get("discontinued") or "").strip().lower() in ("1", "true", "yes"),
        backorder_cap=_optional_int(record.get("backorder_cap")),
        backorder_until=date.fromisoformat(record["backorder_until"])
        if record.get("backorder_until")
        else None,
    )
    check_product(product)
    return product


def import_products(app: Backorder, products: Iterable[Product]) -> Imported:
    """Add new SKUs and update known ones, all in one transaction."""
    products = list(products)
    skus = [p.sku for p in products]
    if len(set(skus)) != len(skus):
        raise InvalidRequest("the import names a SKU twice")
    now = app.now()
    added = updated = 0
    with app.db.write() as uow:
        repo = Products(uow.connection)
        rows = repo.lock(skus)
        for product in products:
            if product.sku in rows:
                row = rows[product.sku]
                repo.replace(row.id, product, now)
                if product.queue is not row.product.queue:
                    row.product = product
                    rerank(uow, row, app.ranking(product.queue), now)
                updated += 1
            else:
                repo.add(product, now)
                added += 1
        uow.commit()
    return Imported(added, updated)
