"""Demand in SQL: the units ordered per SKU (and location) and period, grouped in the
database, and the imported history beside them. Periods are UTC days, ISO weeks (from their
Monday) and calendar months, bucketed the same way on SQLite and PostgreSQL.

Demand is what was ordered: a line's whole quantity (what shipped, is allocated, waits or
was cancelled, the intake's refusals too), on the UTC day its order was placed. At a
location, demand is the units of those lines held there now or shipped from there; units
that wait or were cancelled belong to no location yet, and count for the network only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Date, func, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from backorder.domain.periods import PeriodKind
from backorder.store.tables import (
    demand_history,
    line_holdings,
    order_lines,
    orders,
    shipment_lines,
    shipments,
)

OL, ORD, H = order_lines.c, orders.c, demand_history.c


class _utc_period(FunctionElement[Any]):
    """The first day of the UTC period (of the subclass's kind) holding a moment. One class
    per kind: the kind is part of the statement, so it must be part of its cache key."""

    type = Date()
    inherit_cache = True
    kind: PeriodKind = "day"


class utc_day_start(_utc_period):
    inherit_cache = True
    name = "utc_day_start"
    kind = "day"


class utc_week_start(_utc_period):
    inherit_cache = True
    name = "utc_week_start"
    kind = "week"


class utc_month_start(_utc_period):
    inherit_cache = True
    name = "utc_month_start"
    kind = "month"


PERIOD_START: dict[PeriodKind, type[_utc_period]] = {
    "day": utc_day_start,
    "week": utc_week_start,
    "month": utc_month_start,
}


def utc_period(kind: PeriodKind, moment: ColumnElement[Any]) -> _utc_period:
    """The first day of the UTC day, ISO week or month holding a moment."""
    return PERIOD_START[kind](moment)


_SQLITE = {
    "day": "date({})",
    "week": "date({}, 'weekday 0', '-6 days')",  # the Sunday ending the ISO week, less 6 days
    "month": "date({}, 'start of month')",
}


@compiles(_utc_period, "sqlite")
def _period_sqlite(element: _utc_period, compiler: SQLCompiler, **kw: Any) -> str:
    return _SQLITE[element.kind].format(compiler.process(element.clauses, **kw))


@compiles(_utc_period, "postgresql")
def _period_postgresql(element: _utc_period, compiler: SQLCompiler, **kw: Any) -> str:
    moment = f"timezone('UTC', {compiler.process(element.clauses, **kw)})"
    if element.kind == "day":
        return f"CAST({moment} AS DATE)"
    return f"CAST(date_trunc('{element.kind}', {moment}) AS DATE)"


def _since(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def ordered(
    conn: Connection, product_ids: Sequence[int], kind: PeriodKind, since: date, before: date
) -> list[tuple[int, date, int]]:
    """(product id, period start, units ordered) of the periods with orders placed from
    `since` up to the day before `before`, one grouped query."""
    bucket = utc_period(kind, ORD.placed_at).label("period")
    query = (
        select(OL.product_id, bucket, func.sum(OL.quantity))
        .select_from(order_lines.join(orders, orders.c.id == OL.order_id))
        .where(
            OL.product_id.in_(product_ids),
            ORD.placed_at >= _since(since),
            ORD.placed_at < _since(before),
        )
        .group_by(OL.product_id, bucket)
        .order_by(OL.product_id, bucket)
    )
    return [(int(pid), day, int(units)) for pid, day, units in conn.execute(query)]


def ordered_at_locations(
    conn: Connection, product_ids: Sequence[int], kind: PeriodKind, since: date, before: date
) -> list[tuple[int, int, date, int]]:
    """(product id, location id, period start, units) of the demand each location served:
    the units of lines ordered in the period held there now or shipped from there."""
    placed = (
        OL.product_id.in_(product_ids),
        ORD.placed_at >= _since(since),
        ORD.placed_at < _since(before),
    )
    lines = order_lines.join(orders, orders.c.id == OL.order_id)
    held = (
        select(
            OL.product_id.label("product_id"),
            line_holdings.c.location_id.label("location_id"),
            utc_period(kind, ORD.placed_at).label("period"),
            line_holdings.c.allocated.label("units"),
        )
        .select_from(lines.join(line_holdings, line_holdings.c.line_id == OL.id))
        .where(*placed, line_holdings.c.allocated > 0)
    )
    shipped = (
        select(
            OL.product_id,
            shipments.c.location_id,
            utc_period(kind, ORD.placed_at),
            shipment_lines.c.units,
        )
        .select_from(
            lines.join(shipment_lines, shipment_lines.c.line_id == OL.id).join(
                shipments, shipments.c.id == shipment_lines.c.shipment_id
            )
        )
        .where(*placed, shipments.c.location_id.is_not(None))
    )
    both = union_all(held, shipped).subquery()
    query = (
        select(both.c.product_id, both.c.location_id, both.c.period, func.sum(both.c.units))
        .group_by(both.c.product_id, both.c.location_id, both.c.period)
        .order_by(both.c.product_id, both.c.location_id, both.c.period)
    )
    return [(int(p), int(loc), day, int(units)) for p, loc, day, units in conn.execute(query)]


def first_orders(conn: Connection, product_ids: Sequence[int]) -> dict[int, date]:
    """The UTC day of each product's first order (products without orders are left out)."""
    query = (
        select(OL.product_id, func.min(ORD.placed_at))
        .select_from(order_lines.join(orders, orders.c.id == OL.order_id))
        .where(OL.product_id.in_(product_ids))
        .group_by(OL.product_id)
    )
    return {pid: first.astimezone(UTC).date() for pid, first in conn.execute(query)}


def imported(
    conn: Connection, product_ids: Sequence[int]
) -> list[tuple[int, int | None, PeriodKind, date, int]]:
    """(product id, location id or None, period kind, period start, units) of the imported
    history of these products, oldest first."""
    query = (
        select(H.product_id, H.location_id, H.period_kind, H.period_start, H.units)
        .where(H.product_id.in_(product_ids))
        .order_by(H.product_id, H.location_id, H.period_start)
    )
    return [
        (int(p), loc, kind, start, int(units)) for p, loc, kind, start, units in conn.execute(query)
    ]
