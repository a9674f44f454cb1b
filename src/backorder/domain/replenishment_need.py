"""What a SKU (at a location, or the network) needs, read off its projection.

A need arises (domain.replenishment.needs_order) when the projected stockout's last day to
order has come, give or take `slack_days` (the plan is weekly: an order due within the
week is due now), or when stock on hand and on order is down to the reorder point. The
date it is needed by is the stockout week's Monday, or the week projected stock reaches the
reorder point; never before today.

How much: an order placed today arrives after the lead time; it has to cover the demand
from then until the next review (`review_days` later) plus the safety stock, less the
projected level on the day it arrives (below zero when backorders will have piled up by
then: those are covered too). The projected level on a day inside a week is read on the
straight line between the levels at the ends of the weeks around it; past the projection's
last week it falls by the mean demand. Demand per day is the forecast week's over 7.

Pure: the caller passes the projection, the forecast points and today."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from backorder.domain.projection import Projection
from backorder.domain.replenishment import Need, needs_order, units_needed

WEEK_DAYS = 7


@dataclass(frozen=True)
class Figures:
    """What the plan knows of a SKU besides its projection."""

    safety_stock: int
    reorder_point: int
    lead_days: float  # the lead time the projection used (measured, else stated)
    inbound: int  # open supply counted in the position (on hand and on order)
    unit_price: Decimal
    mean_weekly: float  # the forecast's mean demand a week: beyond its last week


@dataclass(frozen=True)
class Rules:
    review_days: int  # an order covers demand up to the next review this long after arrival
    slack_days: int = WEEK_DAYS  # an order due within this many days is due now


@dataclass(frozen=True)
class Found:
    """A need and the numbers it was worked out from (kept with the recommendation)."""

    need: Need
    position: float
    arrival: date
    level_at_arrival: float
    cover_demand: float
    order_by: date | None


class Curve:
    """The projected level and forecast demand by day, from a weekly projection."""

    def __init__(self, projection: Projection, points: Sequence[float], mean_weekly: float):
        self.projection = projection
        self.points = list(points)
        self.mean_daily = max(0.0, mean_weekly) / WEEK_DAYS

    def daily(self, day: date) -> float:
        """Forecast demand on a day: its week's forecast over 7 (the mean past the last)."""
        weeks = self.projection.weeks
        if not weeks:
            return self.mean_daily
        index = (day - weeks[0].start).days // WEEK_DAYS
        if 0 <= index < len(self.points):
            return max(0.0, self.points[index]) / WEEK_DAYS
        return self.mean_daily

    def demand(self, first: date, days: int) -> float:
        """Forecast demand over `days` days from `first`."""
        return sum(self.daily(first + timedelta(days=d)) for d in range(days))

    def level(self, day: date, today: date) -> float:
        """The projected level on a day (after the days before it)."""
        weeks = self.projection.weeks
        before = float(self.projection.start_level)
        if not weeks or day <= today:
            return before
        for week in weeks:
            end = week.start + timedelta(days=WEEK_DAYS)
            begin = max(week.start, today)
            if day < end:
                share = (day - begin).days / max(1, (end - begin).days)
                return before + (week.available - before) * share
            before = week.available
        last_end = weeks[-1].start + timedelta(days=WEEK_DAYS)
        return before - self.mean_daily * (day - last_end).days


def _need_by(cause: str, projection: Projection, figures: Figures, today: date) -> date:
    if cause == "stockout" and projection.stockout is not None:
        return max(today, projection.stockout.week)
    for week in projection.weeks:
        if week.available <= figures.reorder_point:
            return max(today, week.start)
    return today


def find_need(sku: str, today: date, curve: Curve, figures: Figures, rules: Rules) -> Found | None:
    """The need of a SKU today, if it has one (None: no order needed, or the stock at
    arrival already covers the demand to the next review plus the safety stock)."""
    projection = curve.projection
    stockout = projection.stockout
    position = float(projection.start_level + figures.inbound)
    due = (
        stockout.order_by
        if stockout is not None and stockout.order_by <= today + timedelta(days=rules.slack_days)
        else None
    )
    cause = needs_order(
        position, figures.reorder_point, stockout.week if due and stockout else None, due
    )
    if cause is None:
        return None
    arrival = today + timedelta(days=math.ceil(max(0.0, figures.lead_days) - 1e-9))
    level = curve.level(arrival, today)
    cover = curve.demand(arrival, rules.review_days)
    units = units_needed(cover, figures.safety_stock, level)
    if units < 1:
        return None
    need_by = _need_by(cause, projection, figures, today)
    need = Need(
        sku=sku,
        today=today,
        need_by=need_by,
        units=units,
        daily_demand=curve.daily(need_by),
        unit_price=figures.unit_price,
        cause=cause,
    )
    return Found(need, position, arrival, level, cover, stockout.order_by if stockout else None)
