"""Stock: receipts (increments) and counts (absolute levels, as an ERP or WMS syncs them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.domain.events import Event, SkuOutOfStock, StockAdjusted, StockReceived
from backorder.services.context import Backorder
from backorder.services.queueing import serve, take_back_excess
from backorder.store.db import UnitOfWork
from backorder.store.repos import Outbox, ProductRow, Products
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


def _movement(
    uow: UnitOfWork, row: ProductRow, change: tuple[str, int, str | None], now: datetime
) -> None:
    kind, units, ref = change
    uow.connection.execute(
        insert(stock_movements).values(
            product_id=row.id,
            kind=kind,
            units=units,
            on_hand_after=row.stock.on_hand,
            ref=ref,
            moved_at=now,
        )
    )


def receive_stock(app: Backorder, sku: str, units: int, ref: str | None = None) -> StockChange:
    """Stock arrives: on hand goes up and the queue is served in rank order."""
    if units <= 0:
        raise InvalidRequest(f"received quantity must be positive, got {units}")
    now = app.now()
    with app.db.write() as uow:
        row = _lock_one(uow, sku)
        _within_bounds(row.stock.on_hand + units)
        row.stock.on_hand += units
        moved = serve(uow, row, app.ranking(row.product.queue), ("receipt", ref), now)
        _movement(uow, row, ("receipt", units, ref), now)
        Products(uow.connection).save_stocks([row], now)
        received = StockReceived(
            sku=sku,
            units=units,
            ref=ref,
            on_hand=row.stock.on_hand,
            allocated=row.stock.allocated,
            available=row.stock.available,
            lines_served=moved.lines,
            units_allocated=moved.units,
            still_backordered=row.stock.backordered,
        )
        Outbox(uow.connection).append([received, *moved.events], now)
        uow.commit()
    return _change(row, moved.lines, moved.units, 0)


def set_stock(app: Backorder, sku: str, on_hand: int, ref: str | None = None) -> StockChange:
    """Set on hand to a counted level. Below what is allocated, the lowest-ranked
    allocations go back to waiting; above, the queue is served."""
    if on_hand < 0:
        raise InvalidRequest(f"on hand cannot be negative, got {on_hand}")
    _within_bounds(on_hand)
    now = app.now()
    with app.db.write() as uow:
        row = _lock_one(uow, sku)
        previous, was_available = row.stock.on_hand, row.stock.available
        row.stock.on_hand = on_hand
        facts: list[Event] = []
        taken = take_back_excess(uow, row, "stock counted below allocated", now)
        served = serve(uow, row, app.ranking(row.product.queue), ("stock_set", ref), now)
        _movement(uow, row, ("count", on_hand - previous, ref), now)
        Products(uow.connection).save_stocks([row], now)
        facts.append(
            StockAdjusted(
                sku=sku,
                previous_on_hand=previous,
                on_hand=on_hand,
                allocated=row.stock.allocated,
                available=row.stock.available,
                units_taken_back=taken.units,
                lines_served=served.lines,
            )
        )
        facts.extend(taken.events)
        facts.extend(served.events)
        if was_available > 0 and row.stock.available == 0:
            facts.append(
                SkuOutOfStock(
                    sku=sku,
                    on_hand=row.stock.on_hand,
                    allocated=row.stock.allocated,
                    backordered=row.stock.backordered,
                )
            )
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return _change(row, served.lines, served.units, taken.units)


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
