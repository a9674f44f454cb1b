"""Expected dates of waiting lines, kept current inside the transaction that changed the
queue, the supply or the rules. Called by use cases, never on its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, bindparam, case, func, literal, or_, select, tuple_, update

from backorder.domain.events import EtaChanged, Event
from backorder.domain.supply import Outlook, slipped
from backorder.store.db import UnitOfWork, batches
from backorder.store.repos import QUEUE_ORDER, ProductRow, line_from_row, line_select
from backorder.store.supply import outlooks
from backorder.store.tables import order_lines

_SAVE_DATES = (
    update(order_lines)
    .where(order_lines.c.id == bindparam("lid"))
    .values(eta=bindparam("eta"), promised=bindparam("promised"), eta_told=bindparam("told"))
)


def _day(value: date | None) -> Any:
    return literal(value, Date)


def _walk(product_id: int, outlook: Outlook) -> Any:
    """The queue's lines whose date differs from the walk's, with both: the walk is done by
    the database (a running total of waiting units against the supply's running total), so
    only lines that move come back."""
    through = func.sum(order_lines.c.backordered).over(order_by=QUEUE_ORDER).label("through")
    queue = (
        select(
            order_lines.c.id,
            order_lines.c.eta,
            order_lines.c.promised,
            order_lines.c.eta_told,
            through,
        )
        .where(order_lines.c.product_id == product_id, order_lines.c.backordered > 0)
        .subquery("queue")
    )
    steps, covered = [], 0
    for inbound in outlook.inbound:
        covered += inbound.units
        steps.append((queue.c.through <= covered, _day(outlook.arrival(inbound))))
    beyond = _day(outlook.beyond_supply)
    new = (case(*steps, else_=beyond) if steps else beyond).label("new")
    return select(queue.c.id, queue.c.eta, queue.c.promised, queue.c.eta_told, new).where(
        or_(
            new.is_distinct_from(queue.c.eta),
            and_(queue.c.promised.is_(None), new.is_not(None)),
        )
    )


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
    for row in rows:
        moved = conn.execute(_walk(row.id, supply[row.id])).mappings().all()
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


def units_behind(uow: UnitOfWork, product_id: int, rank_class: int, placed_at: datetime) -> int:
    """Waiting units of the SKU that rank after a new line of this class and order time (an
    index range scan; none at all while orders join the queue at its tail)."""
    query = select(func.coalesce(func.sum(order_lines.c.backordered), 0)).where(
        order_lines.c.product_id == product_id,
        order_lines.c.backordered > 0,
        tuple_(order_lines.c.rank_class, order_lines.c.placed_at) > tuple_(rank_class, placed_at),
    )
    return int(uow.connection.execute(query).scalar_one())
