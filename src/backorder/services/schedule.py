"""Expected dates of waiting lines, kept current inside the transaction that changed the
queue, the supply or the rules. Called by use cases, never on its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, tuple_, union_all, update

from backorder.domain.events import EtaChanged, Event
from backorder.domain.network_supply import SupplyWalk, Waiter, restricts
from backorder.domain.sourcing import Site
from backorder.domain.supply import Outlook, slipped
from backorder.store.db import UnitOfWork, batches
from backorder.store.network import all_sites
from backorder.store.repos import QUEUE_ORDER, ProductRow, line_from_row, line_select
from backorder.store.supply import outlooks
from backorder.store.tables import order_lines, orders

_SAVE_DATES = (
    update(order_lines)
    .where(order_lines.c.id == bindparam("lid"))
    .values(eta=bindparam("eta"), promised=bindparam("promised"), eta_told=bindparam("told"))
)


PAGE = 500  # queue lines read per round trip while walking the covered part


def _covered(conn: Connection, product_id: int, walk: SupplyWalk) -> tuple[list[Any], Any]:
    """The head of the queue that inbound supply reaches, in rank order, each line with its
    date from the walk (the arrival covering its last unit, at a location that can serve
    it); and where the head ends (the rank of its last line), for the tail's query. Reads
    only as far as the supply reaches; the country of each line only when some supply
    arrives at a location that ships to some countries only."""
    countries = any(restricts(inbound, walk.sites) for inbound in walk.supply)
    head: list[Any] = []
    after = None
    while not walk.exhausted:
        query = (
            select(
                order_lines.c.id,
                order_lines.c.eta,
                order_lines.c.promised,
                order_lines.c.eta_told,
                order_lines.c.backordered,
                *QUEUE_ORDER[:2],
            )
            .where(order_lines.c.product_id == product_id, order_lines.c.backordered > 0)
            .order_by(*QUEUE_ORDER)
            .limit(PAGE)
        )
        if countries:
            query = query.add_columns(orders.c.ship_country).join(
                orders, orders.c.id == order_lines.c.order_id
            )
        if after is not None:
            query = query.where(tuple_(*QUEUE_ORDER) > tuple_(*after))
        page = conn.execute(query).mappings().all()
        for line in page:
            if walk.exhausted:
                return head, after
            country = line["ship_country"] if countries else None
            new = walk.take(Waiter(line["id"], line["backordered"], country))
            head.append(dict(line) | {"new": new})
            after = (line["rank_class"], line["placed_at"], line["id"])
        if len(page) < PAGE:
            break
    return head, after


def _beyond(conn: Connection, product_id: int, beyond: date | None, after: Any) -> list[Any]:
    """Lines past the covered head whose date is not the date beyond supply: found through
    the index of waiting lines by date, so a queue whose dates hold costs no scan."""
    eta = order_lines.c.eta
    off = eta.is_not(None) if beyond is None else or_(eta.is_(None), eta < beyond, eta > beyond)
    query = select(order_lines.c.id, eta, order_lines.c.promised, order_lines.c.eta_told).where(
        order_lines.c.product_id == product_id, order_lines.c.backordered > 0, off
    )
    if after is not None:
        query = query.where(tuple_(*QUEUE_ORDER) > tuple_(*after))
    return [dict(line) | {"new": beyond} for line in conn.execute(query).mappings()]


def _walk(conn: Connection, product_id: int, outlook: Outlook, sites: dict[int, Site]) -> list[Any]:
    """The queue's lines whose date differs from the walk's, with both. A line's date is that
    of the purchase order or transfer covering its last unit (supply soonest first, at the
    locations that can serve it), else today plus the lead time; only the head the supply
    reaches and the lines whose date is off are read."""
    walk = SupplyWalk(outlook, sites)
    head, after = _covered(conn, product_id, walk) if outlook.inbound else ([], None)
    moved = [
        line
        for line in head
        if line["new"] != line["eta"] or (line["promised"] is None and line["new"] is not None)
    ]
    return moved + _beyond(conn, product_id, outlook.beyond_supply, after)


def reschedule(
    uow: UnitOfWork, rows: Iterable[ProductRow], now: datetime, threshold_days: int
) -> list[Event]:
    """Walk each SKU's queue against its inbound supply, save the dates that moved, and say
    so (`eta_changed`) where a customer was told a date that is now off by more than the
    threshold. The first date a line gets is its promised date."""
    rows = [row for row in rows if row.stock.backordered > 0]  # no queue, nothing to date
    facts: list[Event] = []
    conn = uow.connection
    supply = outlooks(conn, rows, now.date())
    # where the supply arrives matters only where there is some
    needed = any(supply[row.id].inbound for row in rows)
    sites = {site.id: site for site in all_sites(conn)} if needed else {}
    for row in rows:
        moved = _walk(conn, row.id, supply[row.id], sites)
        if not moved:
            continue
        saves, told = [], {}
        for line in moved:
            eta, previous = line["new"], line["eta_told"]
            tell = slipped(previous, eta, threshold_days)
            if tell:
                told[line["id"]] = (previous, eta)
            saves.append(
                {
                    "lid": line["id"],
                    "eta": eta,
                    "promised": line["promised"] or eta,
                    "told": eta if tell else previous,
                }
            )
        conn.execute(_SAVE_DATES, saves)
        facts.extend(_changes(uow, told, {s["lid"]: s["promised"] for s in saves}))
    return facts


def _changes(
    uow: UnitOfWork,
    told: dict[int, tuple[date | None, date | None]],
    promised: dict[int, date | None],
) -> list[Event]:
    if not told:
        return []
    facts: list[Event] = []
    rows = (
        row
        for chunk in batches(sorted(told))
        for row in uow.connection.execute(
            line_select().where(order_lines.c.id.in_(chunk)).order_by(order_lines.c.id)
        ).mappings()
    )
    for line in map(line_from_row, rows):
        previous, eta = told[line.id]
        days = (eta - previous).days if eta and previous else None
        facts.append(
            EtaChanged(
                order=line.order,
                sku=line.sku,
                line=line.line_no,
                backordered=line.qty.backordered,
                previous=previous,
                eta=eta,
                promised=promised[line.id],
                days=days,
                unit_price=line.unit_price,
                value=line.unit_price * line.qty.backordered,
            )
        )
    return facts


def units_behind(uow: UnitOfWork, lines: dict[int, tuple[int, datetime]]) -> dict[int, int]:
    """Waiting units of each SKU that rank after a new line of that class and order time,
    {product id: (rank class, placed at)}, in one statement (an index range scan a SKU; none
    at all while orders join the queue at its tail)."""
    if not lines:
        return {}
    values: dict[str, Any] = {}
    for n, (product_id, (rank_class, placed_at)) in enumerate(lines.items()):
        values |= {f"product_id_{n}": product_id, f"rank_{n}": rank_class, f"at_{n}": placed_at}
    found = uow.connection.execute(_behind(len(lines)), values).all()
    return {int(product_id): int(units) for product_id, units in found}


@cache
def _behind(count: int) -> Any:
    """The statement for `count` SKUs, built once per count: one part a SKU."""
    parts = [
        select(
            bindparam(f"product_id_{n}", type_=order_lines.c.product_id.type),
            func.coalesce(func.sum(order_lines.c.backordered), 0),
        ).where(
            order_lines.c.product_id == bindparam(f"product_id_{n}"),
            order_lines.c.backordered > 0,
            tuple_(order_lines.c.rank_class, order_lines.c.placed_at)
            > tuple_(
                bindparam(f"rank_{n}", type_=order_lines.c.rank_class.type),
                bindparam(f"at_{n}", type_=order_lines.c.placed_at.type),
            ),
        )
        for n in range(count)
    ]
    return parts[0] if count == 1 else union_all(*parts)
