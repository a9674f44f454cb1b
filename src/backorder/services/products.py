"""The catalogue: add, change and import products with their backorder policy."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from backorder.canonical import exact_money
from backorder.domain.errors import DuplicateSku, InvalidRequest, UnknownSku
from backorder.domain.events import Event, ProductAdded, ProductChanged, product_changes
from backorder.domain.model import Policy, Product, QueueStrategy
from backorder.services.context import Backorder
from backorder.services.packs import PackChange, parse_cell
from backorder.services.packs import parse_packs as parse_packs  # where callers found it
from backorder.services.queueing import rerank
from backorder.services.schedule import reschedule
from backorder.services.supply import MAX_LEAD_DAYS, check_supplier_known
from backorder.store.db import UnitOfWork
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.supply import record_supplier

MAX_PRICE = Decimal("10000000000")  # fits the money column (ten-thousandths in 64 bits)
MAX_COUNT = 2**31 - 1


def check_product(product: Product) -> None:
    if not product.sku or len(product.sku) > 64 or any(c.isspace() for c in product.sku):
        raise InvalidRequest(f"SKU {product.sku!r} must be 1-64 characters without spaces")
    if not product.name:
        raise InvalidRequest(f"product {product.sku} needs a name")
    if not product.unit_price.is_finite() or product.unit_price < 0:
        raise InvalidRequest(f"price of {product.sku} must be a non-negative amount")
    if product.unit_price >= MAX_PRICE:
        raise InvalidRequest(f"price of {product.sku} must be below {MAX_PRICE}")
    if len(product.name) > 200:
        raise InvalidRequest(f"name of {product.sku} is longer than 200 characters")
    if product.unit_price != product.unit_price.quantize(Decimal("0.0001")):
        raise InvalidRequest(f"price of {product.sku} has more than 4 decimal places")
    # A lead time is added to today's date: past ten years it is no date at all.
    if product.lead_time_days is not None and not 0 <= product.lead_time_days <= MAX_LEAD_DAYS:
        raise InvalidRequest(
            f"lead_time_days of {product.sku} must be between 0 and {MAX_LEAD_DAYS}"
        )
    for field in ("max_per_customer", "backorder_cap", "max_lead_days"):
        value = getattr(product, field)
        if value is not None and not 0 <= value <= MAX_COUNT:
            raise InvalidRequest(f"{field} of {product.sku} must be between 0 and {MAX_COUNT}")
    if product.min_on_time_percent is not None and not 0 <= product.min_on_time_percent <= 100:
        raise InvalidRequest(f"min_on_time_percent of {product.sku} must be between 0 and 100")


def add_product(
    app: Backorder, product: Product, packs: Mapping[str, int | None] | None = None
) -> Product:
    """Add a product and its pack sizes (unit -> single units in one: {"CA": 12}), in one
    transaction: a bad pack adds nothing."""
    check_product(product)
    given = PackChange.of(product.sku, {}, packs or {})
    now = app.now()
    with app.db.write() as uow:
        repo = Products(uow.connection)
        if repo.get(product.sku) is not None:
            raise DuplicateSku(product.sku)
        check_supplier_known(uow.connection, product.supplier)
        product_id = repo.add(product, now)
        record_supplier(uow.connection, product_id, product.supplier, now)
        repo.set_packs(product_id, given.writes())
        added = ProductAdded(sku=product.sku, product=product, packs=given.after)
        Outbox(uow.connection).append([added], now)
        uow.commit()
    return product


def update_product(app: Backorder, sku: str, changes: dict[str, Any]) -> Product:
    """Change catalogue fields; a new queue strategy re-ranks the SKU's queue. `packs` in
    `changes` sets pack sizes by unit ({"CA": 12}; None clears one), others kept."""
    changes = dict(changes)
    packs: Mapping[str, int | None] = changes.pop("packs", None) or {}
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
        repacked = PackChange.of(sku, repo.packs([sku])[sku], packs) if packs else None
        facts = save_change(uow, row, (updated, repacked), (app, now))
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return updated


def save_change(
    uow: UnitOfWork,
    row: ProductRow,
    wanted: tuple[Product, PackChange | None],
    context: tuple[Backorder, datetime],
) -> list[Event]:
    """Write a changed product and its packs (re-ranking its queue under a new strategy,
    re-dating it under a new supplier or lead time) and say what changed; nothing when
    nothing did."""
    app, now = context
    updated, repacked = wanted
    changes = product_changes(row.product, updated)
    if repacked is not None and repacked.changed:
        Products(uow.connection).set_packs(row.id, repacked.writes())
        changes["packs"] = repacked.change()
    if not changes:
        return []
    if "supplier" in changes:
        check_supplier_known(uow.connection, updated.supplier)
        record_supplier(uow.connection, row.id, updated.supplier, now)
    Products(uow.connection).replace(row.id, updated, now)
    previous, row.product = row.product, updated
    reranked = 0
    if updated.queue is not previous.queue:
        reranked = rerank(uow, row, app.ranking(updated.queue), now)
    facts: list[Event] = [ProductChanged(sku=updated.sku, changes=changes, lines_reranked=reranked)]
    if reranked or {"supplier", "lead_time_days"} & set(changes):
        facts.extend(reschedule(uow, [row], now, app.settings.eta_change_days))
    return facts


def set_packs(app: Backorder, sku: str, packs: Mapping[str, int | None]) -> dict[str, int]:
    """Set a product's pack sizes (None clears one), as `update_product` does; its packs
    afterwards, smallest first."""
    update_product(app, sku, {"packs": packs})
    with app.db.read() as uow:
        return Products(uow.connection).packs([sku])[sku]


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


# CSV column -> (Product field, parser). An empty cell clears an optional field.
def _optional_int(value: str) -> int | None:
    return int(value) if value else None


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "0", "false", "no"):
        return False
    if lowered in ("1", "true", "yes"):
        return True
    raise ValueError(f"{value!r} is not true/false")


def _price(value: str) -> Decimal:
    return exact_money(value)  # what the API takes, refused in its words


COLUMNS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "name": ("name", str),
    "price": ("unit_price", _price),
    "policy": ("policy", lambda v: Policy(v or "allow")),
    "queue": ("queue", QueueStrategy),
    "max_per_customer": ("max_per_customer", _optional_int),
    "lead_time_days": ("lead_time_days", _optional_int),
    "discontinued": ("discontinued", _flag),
    "backorder_cap": ("backorder_cap", _optional_int),
    "backorder_until": ("backorder_until", lambda v: date.fromisoformat(v) if v else None),
    "supplier": ("supplier", lambda v: v or None),
    "require_known_date": ("require_known_date", _flag),
    "max_lead_days": ("max_lead_days", _optional_int),
    "min_on_time_percent": ("min_on_time_percent", _optional_int),
}
IMPORT_COLUMNS = ("sku", *COLUMNS, "packs")


@dataclass(frozen=True)
class ProductRecord:
    """One CSV row: the SKU and the fields its columns give (absent columns are kept)."""

    sku: str
    fields: dict[str, Any]
    # the `packs` column: the product's complete list of packs ({} for none); None when
    # the file has no such column, and the product's packs are kept
    packs: dict[str, int] | None = None

    @classmethod
    def of(cls, product: Product) -> ProductRecord:
        fields = {f.name: getattr(product, f.name) for f in dataclasses.fields(product)}
        del fields["sku"]
        return cls(product.sku, fields)


def read_product_csv(path: Path) -> list[ProductRecord]:
    """Rows of a product CSV (header: sku,name,price[,policy,...]); every bad cell is
    reported with its row number and nothing is imported."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or ()]
        missing = {"sku", "name", "price"} - set(header)
        if missing:
            raise InvalidRequest(f"{path}: missing column(s) {sorted(missing)}")
        extra = set(header) - set(IMPORT_COLUMNS)
        if extra:
            raise InvalidRequest(f"{path}: unknown column(s) {sorted(extra)}")
        records, errors = [], []
        for number, row in enumerate(reader, start=2):
            cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                fields = {}
                for column, (field, parse) in COLUMNS.items():
                    if column in cells:
                        fields[field] = parse(cells[column])
                packs = parse_cell(cells["packs"]) if "packs" in cells else None
                records.append(ProductRecord(cells["sku"], fields, packs))
            except (ValueError, InvalidRequest) as error:
                errors.append(f"row {number}: {error}")
    if errors:
        raise InvalidRequest(f"{path}: " + "; ".join(errors[:10]))
    return records


def import_products(app: Backorder, records: Iterable[ProductRecord]) -> Imported:
    """Add new SKUs and update known ones (columns the file leaves out keep their values;
    a `packs` cell is the product's whole list of packs), all in one transaction."""
    records = list(records)
    skus = [r.sku for r in records]
    if len(set(skus)) != len(skus):
        raise InvalidRequest("the import names a SKU twice")
    now = app.now()
    added = updated = 0
    facts: list[Event] = []
    with app.db.write() as uow:
        repo = Products(uow.connection)
        rows = repo.lock(skus)
        packed = [r.sku for r in records if r.packs is not None and r.sku in rows]
        packs = repo.packs(packed) if packed else {}
        for record in records:
            row = rows.get(record.sku)
            if row is None:
                fields = {"queue": app.settings.default_queue} | record.fields
                product = Product(sku=record.sku, **fields)
                check_product(product)
                given = PackChange.of(product.sku, {}, record.packs or {})
                check_supplier_known(uow.connection, product.supplier)
                product_id = repo.add(product, now)
                record_supplier(uow.connection, product_id, product.supplier, now)
                repo.set_packs(product_id, given.writes())
                facts.append(ProductAdded(sku=product.sku, product=product, packs=given.after))
                added += 1
                continue
            product = dataclasses.replace(row.product, **record.fields)
            check_product(product)
            repacked = None
            if record.packs is not None:
                repacked = PackChange.complete(record.sku, packs[record.sku], record.packs)
            facts.extend(save_change(uow, row, (product, repacked), (app, now)))
            updated += 1
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return Imported(added, updated)


def rerank_queues(app: Backorder, skus: Iterable[str] | None = None) -> dict[str, int]:
    """Rank open lines afresh under today's settings (after BACKORDER_PRIORITY_RULES or
    the aging period changed): the given SKUs, or all. Returns lines re-ranked per SKU."""
    now = app.now()
    with app.db.write() as uow:
        repo = Products(uow.connection)
        wanted = list(skus) if skus is not None else repo.all_skus()
        rows = repo.lock(wanted)
        unknown = sorted(set(wanted) - set(rows))
        if unknown:
            raise UnknownSku(unknown[0])
        counts = {
            sku: rerank(uow, row, app.ranking(row.product.queue), now)
            for sku, row in sorted(rows.items())
        }
        facts = reschedule(uow, rows.values(), now, app.settings.eta_change_days)
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return counts
