"""The KPI queries by location: what each location did in a period, one statement per figure
(the KPIs of services/kpis.py read their rows as they read any grouping's).

A location is where units were taken from or shipped from, so a group counts:
- `placed`: the lines placed in the period that took units from the location at intake,
  their orders, and of those how many also waited (the backorder rate of what it sourced);
- `waits`: the lines whose wait was filled in the period, in the group of the location of
  the allocation that filled it (the line's last);
- `fills`: the orders that waited and were completed in the period, in the group of each
  location that shipped some of them;
- `accuracy`: the shipments of the period, by the location they left from.
Nothing else has a location: units cancelled while waiting, promised dates and what waits
now belong to no location (those KPIs are for everything only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal_column, select

from backorder.store.tables import (
    allocations,
    locations,
    order_lines,
    orders,
    shipments,
)
from backorder.store.timefuncs import days_between

A, L, ORDER, S = allocations.c, order_lines.c, orders.c, shipments.c
AT_INTAKE = A.source == literal_column("'intake'")
WAITED = ORDER.waited_lines > literal_column("0")


def _code(location_id: Any) -> Any:
    """A location's code, by its id (a row from before locations has none: '')."""
    code = select(locations.c.code).where(locations.c.id == location_id).scalar_subquery()
    return func.coalesce(code, literal_column("''")).label("key")


def _within(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def placed(start: datetime, end: datetime) -> Any:
    """(key, orders, orders that waited, lines, lines that waited) per location, of the
    lines placed in the period that took units there at intake."""
    waited = L.backordered_at.is_not(None)
    per_location = (
        select(
            A.location_id,
            ORDER.id.label("order_id"),
            L.id.label("line_id"),
            waited.label("waited"),
        )
        .select_from(
            allocations.join(order_lines, L.id == A.line_id).join(orders, ORDER.id == L.order_id)
        )
        .where(AT_INTAKE, _within(ORDER.placed_at, start, end))
        .distinct()
        .subquery()
    )
    p = per_location.c
    return select(
        _code(p.location_id),
        func.count(distinct(p.order_id)),
        func.count(distinct(case((p.waited, p.order_id)))),
        func.count(distinct(p.line_id)),
        func.count(distinct(case((p.waited, p.line_id)))),
    ).group_by(p.location_id)


def waits(start: datetime, end: datetime) -> Any:
    """(key, days) of each line whose wait was filled in the period, at the location of its
    last allocation."""
    last = (
        select(locations.c.code)
        .select_from(allocations.join(locations, locations.c.id == A.location_id))
        .where(A.line_id == L.id)
        .order_by(A.id.desc())
        .limit(1)
        .correlate(order_lines)
        .scalar_subquery()
    )
    return (
        select(
            func.coalesce(last, literal_column("''")).label("key"),
            days_between(L.filled_at, L.backordered_at).label("days"),
        )
        .where(_within(L.filled_at, start, end), L.filled_at.is_not(None))
        .subquery()
    )


def fills(start: datetime, end: datetime) -> Any:
    """(order id, key, days) of the orders that waited and were completed in the period,
    once per location that shipped some of them."""
    completed = and_(
        _within(ORDER.completed_at, start, end), ORDER.completed_at.is_not(None), WAITED
    )
    return (
        select(
            ORDER.id,
            _code(S.location_id),
            days_between(ORDER.completed_at, ORDER.placed_at).label("days"),
        )
        .select_from(orders.join(shipments, S.order_id == ORDER.id))
        .where(completed)
        .distinct()
        .subquery()
    )


def accuracy(start: datetime, end: datetime) -> Any:
    """(key, shipped lines, lines shipped exactly as allocated) per location shipped from."""
    return (
        select(_code(S.location_id), func.sum(S.line_count), func.sum(S.exact_lines))
        .where(_within(S.shipped_at, start, end))
        .group_by(S.location_id)
    )
