"""Projected stock by week, and the projected stockout.

Week by week, from what is free now:

    available(w) = on hand - allocated - waiting backorders
                   + inbound supply expected up to the end of week w
                   - forecast demand of the weeks up to and including w

The first week it goes below zero is the projected stockout; the first week it goes below
the safety stock is told too. Supply that arrives at the latest in the stockout week (we
ask for its Monday) prevents it, so the last date to order is that Monday minus the lead
time. Supply expected before the first week (overdue) counts in the first week; supply
after the last week is not part of the projection.

Pure: the caller reads stock, supply and the forecast, and passes today."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WEEK = timedelta(days=7)
EPSILON = 1e-9


@dataclass(frozen=True)
class Week:
    start: date  # a Monday
    demand: float  # forecast units
    inbound: int  # units expected within the week
    available: float  # at the end of the week (below zero: short by that much)


@dataclass(frozen=True)
class Stockout:
    week: date  # the first week projected below zero
    units_short: int  # how far below zero it goes that week (whole units, at least 1)
    arrive_by: date  # supply must arrive by then (that week's Monday) to prevent it
    order_by: date  # arrive_by minus the lead time: the last day to order
    late: bool  # order_by is already past: no order placed now arrives in time


@dataclass(frozen=True)
class Projection:
    start_level: int  # on hand - allocated - waiting, now
    weeks: tuple[Week, ...]
    stockout: Stockout | None
    below_safety: date | None  # the first week below the safety stock


def monday(day: date) -> date:
    """The Monday of a day's week."""
    return day - timedelta(days=day.weekday())


def _check(demand: Sequence[float], inbound: Sequence[tuple[date, int]]) -> None:
    for units in demand:
        if not math.isfinite(units) or units < 0:
            raise ValueError(f"forecast demand must be finite and not below 0 (got {units!r})")
    for _, units in inbound:
        if units < 0:
            raise ValueError(f"inbound supply cannot be below 0 (got {units!r})")


def _bucket(first: date, count: int, inbound: Sequence[tuple[date, int]]) -> list[int]:
    """Inbound units per week: up to the end of the first week in the first, none beyond."""
    units = [0] * count
    for expected_on, amount in inbound:
        index = max(0, (expected_on - first).days // 7)
        if index < count:
            units[index] += amount
    return units


def project(
    start_level: int,
    first_week: date,
    demand: Sequence[float],
    inbound: Sequence[tuple[date, int]],
    plan: tuple[int, float, date],
) -> Projection:
    """The projection over `len(demand)` weeks from `first_week` (a Monday): `demand` per
    week, `inbound` as (expected date, units), `plan` as (safety stock, lead time in days,
    today). Of the week that holds `today`, only the days from today on are still to come:
    its demand counts in proportion (what was ordered on the days before is already waiting
    or allocated)."""
    safety, lead_days, today = plan
    if first_week.weekday() != 0:
        raise ValueError(f"weeks start on a Monday ({first_week} is not one)")
    if not math.isfinite(lead_days) or lead_days < 0:
        raise ValueError(f"the lead time must be finite and not below 0 (got {lead_days!r})")
    _check(demand, inbound)
    supply = _bucket(first_week, len(demand), inbound)
    level = float(start_level)
    weeks: list[Week] = []
    stockout: Stockout | None = None
    below_safety: date | None = None
    for index, (units, arriving) in enumerate(zip(demand, supply, strict=True)):
        start = first_week + index * WEEK
        if start <= today < start + WEEK:
            units = units * (start + WEEK - today).days / WEEK.days
        level += arriving - units
        weeks.append(Week(start, float(units), arriving, level))
        if below_safety is None and level < safety - EPSILON:
            below_safety = start
        if stockout is None and level < -EPSILON:
            order_by = start - timedelta(days=math.ceil(lead_days - EPSILON))
            stockout = Stockout(
                week=start,
                units_short=max(1, math.ceil(-level - EPSILON)),
                arrive_by=start,
                order_by=order_by,
                late=order_by < today,
            )
    return Projection(start_level, tuple(weeks), stockout, below_safety)
