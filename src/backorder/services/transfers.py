"""Transfers: units of a SKU moving from one location to another. From creation until it
is received a transfer is inbound supply for the receiving location (it dates waiting
lines like a purchase order); shipping takes the units off the source's shelves (only
units nothing is allocated to), receiving puts them on the destination's, where they
serve the network queue like any receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select, update

from backorder.domain.errors import InvalidRequest, TransferConflict, UnknownTransfer
from backorder.domain.events import TransferChanged
from backorder.domain.sourcing import Site
from backorder.services.context import Backorder
from backorder.services.schedule import reschedule
from backorder.services.stock import MAX_ON_HAND, StockBatch, arrive
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, site_named
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.tables import TRANSFER_STATES, locations, products, transfers

STATES = TRANSFER_STATES
MAX_LISTED = 500


def transfer_ref(transfer_id: int) -> str:
    """How a transfer is named on its receipts and movements."""
    return f"transfer {transfer_id}"


@dataclass(frozen=True)
class TransferIn:
    sku: str
    quantity: int
    source: str  # location code the units leave
    destination: str  # location code they arrive at
    expected_on: date


_FROM = locations.alias("source")
_TO = locations.alias("destination")
_SELECT = (
    select(
        transfers,
        products.c.sku,
        _FROM.c.code.label("source"),
        _TO.c.code.label("destination"),
    )
    .join(products, products.c.id == transfers.c.product_id)
    .join(_FROM, _FROM.c.id == transfers.c.from_location_id)
    .join(_TO, _TO.c.id == transfers.c.to_location_id)
)


def view(row: RowMapping) -> dict[str, Any]:
    shipped = row["state"] in ("shipped", "received")
    return {
        "id": row["id"],
        "sku": row["sku"],
        "from_location": row["source"],
        "to_location": row["destination"],
        "quantity": row["quantity"],
        "received": row["received"],
        "in_transit": row["quantity"] - row["received"] if row["state"] == "shipped" else 0,
        "state": row["state"],
        "expected_on": row["expected_on"].isoformat(),
        "created_at": row["created_at"].isoformat(),
        "shipped_at": row["shipped_at"].isoformat() if shipped and row["shipped_at"] else None,
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
    }


def _row(uow: UnitOfWork, transfer_id: int) -> RowMapping:
    row = uow.connection.execute(_SELECT.where(transfers.c.id == transfer_id)).mappings().first()
    if row is None:
        raise UnknownTransfer(transfer_id)
    return row


def _lock(uow: UnitOfWork, transfer_id: int) -> tuple[RowMapping, ProductRow]:
    """The transfer and its SKU, locked (the SKU first, as every use case locks it, then
    the transfer row)."""
    row = _row(uow, transfer_id)
    product = Products(uow.connection).lock([row["sku"]])[row["sku"]]
    locked = uow.connection.execute(
        select(transfers.c.id).where(transfers.c.id == transfer_id).with_for_update()
    ).first()
    assert locked is not None
    return _row(uow, transfer_id), product


def _event(row: RowMapping, action: str, units: int) -> TransferChanged:
    return TransferChanged(
        transfer=row["id"],
        sku=row["sku"],
        source=row["source"],
        destination=row["destination"],
        action=action,
        state=row["state"],
        quantity=row["quantity"],
        units=units,
        received=row["received"],
        expected_on=row["expected_on"],
    )


def _finish(
    app: Backorder, uow: UnitOfWork, done: tuple[int, str, int], product: ProductRow
) -> dict[str, Any]:
    """Say what the step did, re-date the SKU's queue (its inbound supply changed), write
    the events and commit; the transfer as it now stands."""
    transfer_id, action, units = done
    now = app.now()
    row = _row(uow, transfer_id)
    facts = [
        _event(row, action, units),
        *reschedule(uow, [product], now, app.settings.eta_change_days),
    ]
    Outbox(uow.connection).append(facts, now)
    uow.commit()
    return view(row)


def _active(sites: list[Site], code: str) -> Site:
    site = site_named(sites, code)
    if not site.active:
        raise InvalidRequest(f"location {site.code} is not active")
    return site


def create(app: Backorder, wanted: TransferIn) -> dict[str, Any]:
    """Plan to move units of a SKU between two active locations, expected at the
    destination on a date. Nothing moves yet: the destination counts them as inbound."""
    with app.db.write() as uow:
        transfer_id, product = plan(uow, wanted, app.now())
        return _finish(app, uow, (transfer_id, "created", 0), product)


def plan(uow: UnitOfWork, wanted: TransferIn, now: datetime) -> tuple[int, ProductRow]:
    """The planned transfer's row, inside the caller's transaction (its SKU locked); the
    caller writes its event (`created_event`) and re-dates the SKU's queue."""
    if not 0 < wanted.quantity <= MAX_ON_HAND:
        raise InvalidRequest(f"quantity must be between 1 and {MAX_ON_HAND}, got {wanted.quantity}")
    if wanted.source == wanted.destination:
        raise InvalidRequest("a transfer moves units between two different locations")
    conn = uow.connection
    rows = Products(conn).lock([wanted.sku])
    if wanted.sku not in rows:
        raise InvalidRequest(f"unknown SKU {wanted.sku!r}")
    sites = all_sites(conn)
    source, destination = _active(sites, wanted.source), _active(sites, wanted.destination)
    transfer_id = conn.execute(
        insert(transfers)
        .values(
            product_id=rows[wanted.sku].id,
            from_location_id=source.id,
            to_location_id=destination.id,
            quantity=wanted.quantity,
            received=0,
            state="planned",
            expected_on=wanted.expected_on,
            created_at=now,
        )
        .returning(transfers.c.id)
    ).scalar_one()
    return int(transfer_id), rows[wanted.sku]


def created_event(uow: UnitOfWork, transfer_id: int) -> TransferChanged:
    return _event(_row(uow, transfer_id), "created", 0)


def ship(app: Backorder, transfer_id: int) -> dict[str, Any]:
    """The units leave the source: on hand there goes down by the transfer's quantity.
    Only units nothing is allocated to may leave; otherwise nothing changes."""
    now = app.now()
    with app.db.write() as uow:
        row, product = _lock(uow, transfer_id)
        if row["state"] != "planned":
            raise TransferConflict(
                f"transfer {transfer_id} is {row['state']}; only a planned one ships"
            )
        sites = all_sites(uow.connection)
        source = next(s for s in sites if s.id == row["from_location_id"])
        free = product.available_at(source.id)
        if free < row["quantity"]:
            level = product.level(source.id)
            raise TransferConflict(
                f"transfer {transfer_id}: {source.code} has {free} unit(s) of {row['sku']} free "
                f"({level.on_hand} on hand, {level.allocated} allocated), it needs "
                f"{row['quantity']}; only units not allocated may move"
            )
        product.put(source.id, -row["quantity"])
        batch = StockBatch(sites=sites, site=source)
        batch.movement(product, ("transfer_out", -row["quantity"], transfer_ref(transfer_id)), now)
        batch.save(uow, [product], now)  # the stock and the movement
        uow.connection.execute(
            update(transfers)
            .where(transfers.c.id == transfer_id)
            .values(state="shipped", shipped_at=now)
        )
        return _finish(app, uow, (transfer_id, "shipped", row["quantity"]), product)


def receive(app: Backorder, transfer_id: int, units: int | None = None) -> dict[str, Any]:
    """Units of a shipped transfer arrive at the destination (all still in transit unless
    `units` says fewer): on hand goes up there and they serve the network queue in rank
    order, among the lines that location can serve. Received in full, it is closed."""
    now = app.now()
    with app.db.write() as uow:
        row, product = _lock(uow, transfer_id)
        if row["state"] != "shipped":
            raise TransferConflict(
                f"transfer {transfer_id} is {row['state']}; only a shipped one is received"
            )
        in_transit = row["quantity"] - row["received"]
        units = in_transit if units is None else units
        if not 0 < units <= in_transit:
            raise InvalidRequest(
                f"transfer {transfer_id} has {in_transit} unit(s) in transit; receive 1 to "
                f"{in_transit}, got {units}"
            )
        sites = all_sites(uow.connection)
        destination = next(s for s in sites if s.id == row["to_location_id"])
        batch = StockBatch(sites=sites, site=destination)
        arrive(app, uow, product, (units, transfer_ref(transfer_id), "transfer_in"), batch)
        batch.save(uow, [product], now)  # the stock, the movement, the receipt's events
        done = row["received"] + units == row["quantity"]
        uow.connection.execute(
            update(transfers)
            .where(transfers.c.id == transfer_id)
            .values(
                received=transfers.c.received + units,
                state="received" if done else "shipped",
                closed_at=now if done else None,
            )
        )
        return _finish(app, uow, (transfer_id, "received", units), product)


def cancel(app: Backorder, transfer_id: int) -> dict[str, Any]:
    """A planned transfer will not happen: the destination no longer counts on it."""
    now = app.now()
    with app.db.write() as uow:
        row, product = _lock(uow, transfer_id)
        if row["state"] != "planned":
            raise TransferConflict(
                f"transfer {transfer_id} is {row['state']}; only a planned one can be cancelled"
            )
        uow.connection.execute(
            update(transfers)
            .where(transfers.c.id == transfer_id)
            .values(state="cancelled", closed_at=now)
        )
        return _finish(app, uow, (transfer_id, "cancelled", 0), product)


def get(app: Backorder, transfer_id: int) -> dict[str, Any]:
    with app.db.read() as uow:
        return view(_row(uow, transfer_id))


def listing(
    app: Backorder, state: str | None = None, sku: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Transfers, newest first; of one state or SKU if asked."""
    if state is not None and state not in STATES:
        raise InvalidRequest(f"state is one of {', '.join(STATES)}, got {state!r}")
    if not 0 < limit <= MAX_LISTED:
        raise InvalidRequest(f"limit is between 1 and {MAX_LISTED}")
    query = _SELECT.order_by(transfers.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(transfers.c.state == state)
    if sku is not None:
        query = query.where(products.c.sku == sku)
    with app.db.read() as uow:
        return [view(row) for row in uow.connection.execute(query).mappings()]
