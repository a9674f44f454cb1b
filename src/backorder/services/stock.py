"""Stock: receipts (increments) and counts (absolute levels, as an ERP or WMS syncs them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.domain.events import Event, SkuOutOfStock, StockAdjusted, StockReceived
from backorder.domain.model import AllocationSource
from backorder.domain.sourcing import Site
from backorder.services.context import Backorder
from backorder.services.queueing import serve, serve_network, take_back_excess
from backorder.services.schedule import reschedule
from backorder.services.supply import count_against_po
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, site_named
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.supply import po_row
from backorder.store.tables import stock_movements

# Counts are 32-bit integers in the database on both backends.
MAX_ON_HAND = 2**31 - 1


def _within_bounds(on_hand: int) -> None:
    if on_hand > MAX_ON_HAND:
        raise InvalidRequest(f"on hand would be {on_hand}, more than {MAX_ON_HAND} units")


@dataclass(frozen=True)
class StockChange:
    sku: str
    on_hand: int
    allocated: int
    available: int
    backordered: int
    lines_served: int
    units_allocated: int
    units_taken_back: int


def _lock_one(uow: UnitOfWork, sku: str) -> ProductRow:
    rows = Products(uow.connection).lock([sku])
    if sku not in rows:
        raise UnknownSku(sku)
    return rows[sku]


def _lock_all(uow: UnitOfWork, skus: list[str]) -> dict[str, ProductRow]:
    if len(set(skus)) != len(skus):
        raise InvalidRequest("a SKU appears twice in one call")
    rows = Products(uow.connection).lock(skus)
    unknown = sorted(set(skus) - set(rows))
    if unknown:
        raise UnknownSku(unknown[0])
    return rows


@dataclass
class StockBatch:
    """What one transaction writes besides the lines: movements and events."""

    movements: list[dict[str, Any]] = field(default_factory=list)
    facts: list[Event] = field(default_factory=list)

    sites: list[Site] = field(default_factory=list)
    site: Site | None = None  # where the stock is counted or received
    named: str | None = None  # the location the caller named (None: the default one)

    def movement(self, row: ProductRow, change: tuple[str, int, str | None], now: datetime) -> None:
        """On hand of the SKU changed at the batch's location (`on_hand_after`: the
        network's)."""
        kind, units, ref = change
        self.movements.append(
            {
                "product_id": row.id,
                "kind": kind,
                "units": units,
                "on_hand_after": row.stock.on_hand,
                "ref": ref,
                "moved_at": now,
                "location_id": self.site.id if self.site is not None else None,
            }
        )

    def save(self, uow: UnitOfWork, rows: list[ProductRow], now: datetime) -> None:
        Products(uow.connection).save_stocks(rows, now)
        if self.movements:
            uow.connection.execute(insert(stock_movements), self.movements)
        Outbox(uow.connection).append(self.facts, now)


def _receive(
    app: Backorder,
    uow: UnitOfWork,
    row: ProductRow,
    receipt: tuple[int, str | None],
    batch: StockBatch,
) -> StockChange:
    """A receipt: it counts against the open purchase order its reference names, if any,
    and arrives where that purchase order arrives (naming another location is refused)."""
    units, ref = receipt
    here = batch
    po = po_row(uow.connection, ref, lock=True) if ref is not None else None
    if po is not None and po["state"] == "open" and po["location_id"] is not None:
        site = next(s for s in batch.sites if s.id == po["location_id"])
        assert batch.site is not None
        if batch.named is not None and site.id != batch.site.id:
            raise InvalidRequest(
                f"purchase order {ref} arrives at {site.code}, not {batch.site.code}: "
                f"receive it at {site.code}"
            )
        if not site.active:
            raise InvalidRequest(f"location {site.code} is not active")
        here = replace(batch, site=site)  # same movements and events, another place
    change = arrive(app, uow, row, (units, ref, "receipt"), here)
    batch.facts.extend(count_against_po(uow, po, row, units, app.now()))
    return change


def arrive(
    app: Backorder,
    uow: UnitOfWork,
    row: ProductRow,
    arrival: tuple[int, str | None, str],
    batch: StockBatch,
) -> StockChange:
    """Units arrive at the batch's location (`arrival`: units, ref, movement kind): on hand
    goes up there and the network queue is served from it in rank order, among the lines
    that location can serve; the movement and the events go into the batch."""
    units, ref, kind = arrival
    now = app.now()
    _within_bounds(row.stock.on_hand + units)
    assert batch.site is not None
    row.put(batch.site.id, units)
    moved = serve(
        uow,
        row,
        app.ranking(row.product.queue),
        (AllocationSource.RECEIPT, ref),
        now,
        batch.site,
        ship_complete=app.settings.ship_complete,
    )
    batch.movement(row, (kind, units, ref), now)
    batch.facts.append(
        StockReceived(
            sku=row.product.sku,
            units=units,
            ref=ref,
            on_hand=row.stock.on_hand,
            allocated=row.stock.allocated,
            available=row.stock.available,
            lines_served=moved.lines,
            units_allocated=moved.units,
            still_backordered=row.stock.backordered,
        )
    )
    batch.facts.extend(moved.events)
    return _change(row, moved.lines, moved.units, 0)


def _count(
    app: Backorder,
    uow: UnitOfWork,
    row: ProductRow,
    level: tuple[int, str | None],
    batch: StockBatch,
) -> StockChange:
    on_hand, ref = level
    now = app.now()
    assert batch.site is not None
    here = batch.site
    previous, was_available = row.stock.on_hand, row.stock.available
    row.put(here.id, on_hand - row.level(here.id).on_hand)
    taken = take_back_excess(
        uow, row, f"stock counted below allocated at {here.code}", now, here.id
    )
    served = serve_network(
        uow,
        row,
        app.ranking(row.product.queue),
        (AllocationSource.STOCK_SET, ref),
        now,
        [here, *(s for s in batch.sites if s.id != here.id)],
        ship_complete=app.settings.ship_complete,
    )
    batch.movement(row, ("count", row.stock.on_hand - previous, ref), now)
    batch.facts.append(
        StockAdjusted(
            sku=row.product.sku,
            previous_on_hand=previous,
            on_hand=row.stock.on_hand,
            allocated=row.stock.allocated,
            available=row.stock.available,
            units_taken_back=taken.units,
            lines_served=served.lines,
        )
    )
    batch.facts.extend(taken.events)
    batch.facts.extend(served.events)
    if was_available > 0 and row.stock.available == 0:
        batch.facts.append(
            SkuOutOfStock(
                sku=row.product.sku,
                on_hand=row.stock.on_hand,
                allocated=row.stock.allocated,
                backordered=row.stock.backordered,
            )
        )
    return _change(row, served.lines, served.units, taken.units)


def _check_receipt(units: int) -> None:
    if units <= 0:
        raise InvalidRequest(f"received quantity must be positive, got {units}")


def _check_level(on_hand: int) -> None:
    if on_hand < 0:
        raise InvalidRequest(f"on hand cannot be negative, got {on_hand}")
    _within_bounds(on_hand)


def receive_stock(
    app: Backorder, sku: str, units: int, ref: str | None = None, location: str | None = None
) -> StockChange:
    """Stock arrives at a location (None: the default one): on hand goes up there and the
    network queue is served in rank order from it."""
    return receive_stock_many(app, [(sku, units, ref)], location)[0]


def set_stock(
    app: Backorder, sku: str, on_hand: int, ref: str | None = None, location: str | None = None
) -> StockChange:
    """Set on hand at a location (None: the default one) to a counted level. Below what is
    allocated there, the lowest-ranked allocations there go back to waiting; above, the
    queue is served."""
    return set_stock_many(app, [(sku, on_hand, ref)], location)[0]


Item = tuple[str, int, str | None]  # (sku, units or level, ref)
MAX_BULK = 10_000


def receive_stock_many(
    app: Backorder, receipts: Sequence[Item], location: str | None = None
) -> list[StockChange]:
    """Receipts for many SKUs at one location in one transaction (an ERP's batch); all or
    nothing."""
    return _bulk(app, receipts, (_check_receipt, _receive), location)


def set_stock_many(
    app: Backorder, levels: Sequence[Item], location: str | None = None
) -> list[StockChange]:
    """Counted levels for many SKUs at one location in one transaction (an ERP/WMS sync);
    all or nothing."""
    return _bulk(app, levels, (_check_level, _count), location)


def _bulk(
    app: Backorder,
    items: Sequence[Item],
    steps: tuple[Callable[[int], None], Callable[..., StockChange]],
    location: str | None = None,
) -> list[StockChange]:
    check, apply = steps
    _check_items(items, check)
    with app.db.write() as uow:
        rows = _lock_all(uow, [sku for sku, _, _ in items])
        site = site_named(all_sites(uow.connection), location or app.settings.default_location)
        changes = _apply_locked(app, uow, (rows, site.id, location is not None), items, apply)
        uow.commit()
    return changes


def _check_items(items: Sequence[Item], check: Callable[[int], None]) -> None:
    if not items:
        raise InvalidRequest("no stock given")
    if len(items) > MAX_BULK:
        raise InvalidRequest(f"at most {MAX_BULK} SKUs per call, got {len(items)}")
    for _, quantity, _ in items:
        check(quantity)


def _apply_locked(
    app: Backorder,
    uow: UnitOfWork,
    where: tuple[dict[str, ProductRow], int, bool],
    items: Sequence[Item],
    apply: Callable[..., StockChange],
) -> list[StockChange]:
    """Apply receipts or counts at one location (by id) to SKUs the caller has locked
    (`lock_skus`), within the caller's transaction: the queue served or taken back from,
    movements, events and dates saved. `where`: the rows, the location's id, and whether
    the sender named it (if not, it is the default location, and a purchase order's
    receipt goes where the order arrives)."""
    rows, location_id, named = where
    sites = all_sites(uow.connection)
    site = next((s for s in sites if s.id == location_id), None)
    if site is None:
        raise InvalidRequest(f"no location with id {location_id}")
    if not site.active:
        raise InvalidRequest(f"location {site.code} is not active")
    batch = StockBatch(sites=sites, site=site, named=site.code if named else None)
    changes = [apply(app, uow, rows[sku], (quantity, ref), batch) for sku, quantity, ref in items]
    now = app.now()
    touched = [rows[sku] for sku in dict.fromkeys(sku for sku, _, _ in items)]
    batch.facts.extend(reschedule(uow, touched, now, app.settings.eta_change_days))
    batch.save(uow, touched, now)
    return changes


def lock_skus(uow: UnitOfWork, skus: list[str]) -> dict[str, ProductRow]:
    """Lock these SKUs' rows (in SKU order) with their stock per location; UnknownSku for
    the first that is not ours, InvalidRequest when one is named twice."""
    return _lock_all(uow, skus)


def count_locked(
    app: Backorder,
    uow: UnitOfWork,
    where: tuple[dict[str, ProductRow], int],
    levels: Sequence[Item],
) -> list[StockChange]:
    """`set_stock_many` within the caller's transaction, for SKUs it has locked
    (`lock_skus`), at a location given by id (a feed's snapshot)."""
    _check_items(levels, _check_level)
    return _apply_locked(app, uow, (*where, True), levels, _count)


def receive_locked(
    app: Backorder,
    uow: UnitOfWork,
    where: tuple[dict[str, ProductRow], int],
    receipts: Sequence[Item],
) -> list[StockChange]:
    """`receive_stock_many` within the caller's transaction, for SKUs it has locked
    (`lock_skus`), at a location given by id (a feed's receipt)."""
    _check_items(receipts, _check_receipt)
    return _apply_locked(app, uow, (*where, True), receipts, _receive)


def _change(row: ProductRow, lines: int, allocated: int, taken_back: int) -> StockChange:
    return StockChange(
        sku=row.product.sku,
        on_hand=row.stock.on_hand,
        allocated=row.stock.allocated,
        available=row.stock.available,
        backordered=row.stock.backordered,
        lines_served=lines,
        units_allocated=allocated,
        units_taken_back=taken_back,
    )
