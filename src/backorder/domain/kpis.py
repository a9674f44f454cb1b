"""The key figures of backorders, each defined once, and whether it meets its target.

Over a period (from one day to another, both included):
- backorder rate: of the orders placed in the period, the share with any line that waited
  (and of their lines, the share that waited);
- conversion rate: of the backordered units whose wait ended in the period, the share that
  were allocated (and so ship) rather than cancelled while they waited;
- cancel rate: the other share: units cancelled while waiting, with the reasons;
- average backorder duration: for the lines whose wait was filled in the period (the last
  waiting unit allocated), the time from when the line first waited (mean, median, 90th
  percentile, in days; the percentiles to the hour);
- fill time: for the orders with a backordered line whose shipment in the period completed
  them (nothing left open), the time from the order to that shipment;
- fulfilment accuracy: of the shipment lines of the period, the share that shipped exactly
  the units allocated to the line when it shipped;
- promise accuracy: of the backordered lines whose promised date (the first date the
  customer was told) falls in the period and has passed, the share whose wait was filled by
  that date. A line whose wait was withdrawn (its last waiting units cancelled) by then is
  not counted.
As of now, whatever the period:
- money on backorder: the value of the units waiting, per currency;
- revenue at risk: the part of it whose promised date has passed (overdue);
- aging: the waiting lines by days since they first waited: 0-7, 8-14, 15-30, over 30.

Pure: the caller counts; this decides what the counts mean."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import accumulate
from typing import Any

from backorder.words import money


class Direction(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"


@dataclass(frozen=True)
class Target:
    value: float | None  # None: no target for this KPI
    direction: Direction

    def met_by(self, measured: float | None) -> bool | None:
        """True or False against the target; None when there is no target or no figure."""
        if self.value is None or measured is None:
            return None
        if self.direction is Direction.AT_LEAST:
            return measured >= self.value
        return measured <= self.value


@dataclass(frozen=True)
class Targets:
    """What the business aims for; each is a setting."""

    backorder_rate: float | None = None
    conversion_rate: float | None = 0.95
    backorder_days: float | None = 7
    fill_days: float | None = 14
    cancel_rate: float | None = 0.05
    fulfillment_accuracy: float | None = 1.0
    promise_accuracy: float | None = 0.9

    def of(self, kpi: str) -> Target:
        value = {
            "backorder_rate": self.backorder_rate,
            "conversion_rate": self.conversion_rate,
            "average_backorder_duration": self.backorder_days,
            "fill_time": self.fill_days,
            "cancel_rate": self.cancel_rate,
            "fulfillment_accuracy": self.fulfillment_accuracy,
            "promise_accuracy": self.promise_accuracy,
        }.get(kpi)
        return Target(value, DIRECTION.get(kpi, Direction.AT_LEAST))


# Which way each KPI with a target is good.
DIRECTION: dict[str, Direction] = {
    "backorder_rate": Direction.AT_MOST,
    "conversion_rate": Direction.AT_LEAST,
    "average_backorder_duration": Direction.AT_MOST,
    "fill_time": Direction.AT_MOST,
    "cancel_rate": Direction.AT_MOST,
    "fulfillment_accuracy": Direction.AT_LEAST,
    "promise_accuracy": Direction.AT_LEAST,
}


# Aging buckets: (label, first day, last day); None: no end.
AGING: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("over 30", 31, None),
)


def aging_bounds(now: datetime) -> list[tuple[str, datetime | None, datetime]]:
    """Per bucket, the moments a line must have first waited after (exclusive; None: any
    time) and by (inclusive), to be that many whole days old now."""
    bounds: list[tuple[str, datetime | None, datetime]] = []
    for label, first, last in AGING:
        latest = now - timedelta(days=first)
        earliest = None if last is None else now - timedelta(days=last + 1)
        bounds.append((label, earliest, latest))
    return bounds


def ratio(part: int, whole: int) -> float | None:
    """part / whole, to four places; None when there is nothing to divide by."""
    return None if whole == 0 else round(part / whole, 4)


@dataclass
class Spread:
    """Durations counted by whole hours: how many, their total (days), and the histogram."""

    count: int = 0
    total_days: float = 0.0
    hours: dict[int, int] = field(default_factory=dict)

    def add(self, days: float, count: int = 1) -> None:
        self.count += count
        self.total_days += days * count
        hour = math.floor(days * 24 + 1e-6)
        self.hours[hour] = self.hours.get(hour, 0) + count

    def merge(self, other: Spread) -> None:
        self.count += other.count
        self.total_days += other.total_days
        for hour, count in other.hours.items():
            self.hours[hour] = self.hours.get(hour, 0) + count

    def mean(self) -> float | None:
        return None if self.count == 0 else round(self.total_days / self.count, 2)

    def percentile(self, share: float) -> float | None:
        """The nearest-rank percentile, in days, to the hour."""
        return self.percentiles(share)[0]

    def percentiles(self, *shares: float) -> list[float | None]:
        """Nearest-rank percentiles, in days, to the hour: the first hour by which the
        durations counted so far reach each share's rank."""
        if self.count == 0:
            return [None for _ in shares]
        hours = sorted(self.hours)
        reached = list(accumulate(map(self.hours.__getitem__, hours)))
        if reached[-1] != self.count:
            raise AssertionError("the histogram holds another number of durations than its count")
        ranks = (max(1, math.ceil(share * self.count)) for share in shares)
        return [round(hours[bisect_left(reached, rank)] / 24, 2) for rank in ranks]


@dataclass
class Bucket:
    lines: int = 0
    units: int = 0
    value: dict[str, Decimal] = field(default_factory=dict)

    def add(self, other: Bucket) -> None:
        self.lines += other.lines
        self.units += other.units
        for currency, amount in other.value.items():
            self.value[currency] = self.value.get(currency, Decimal(0)) + amount


@dataclass
class Facts:
    """What the store counted for one group (or for everything) and one period."""

    orders: int = 0
    backordered_orders: int = 0
    lines: int = 0
    backordered_lines: int = 0
    converted_units: int = 0
    cancelled_units: int = 0
    cancel_reasons: dict[str, int] = field(default_factory=dict)
    waits: Spread = field(default_factory=Spread)
    fills: Spread = field(default_factory=Spread)
    shipped_lines: int = 0
    accurate_lines: int = 0
    promised_lines: int = 0
    kept_promises: int = 0
    aging: dict[str, Bucket] = field(default_factory=lambda: {a[0]: Bucket() for a in AGING})
    at_risk: Bucket = field(default_factory=Bucket)

    def merge(self, other: Facts) -> None:
        """Add another group's counts to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, units in other.cancel_reasons.items():
            self.cancel_reasons[reason] = self.cancel_reasons.get(reason, 0) + units
        self.waits.merge(other.waits)
        self.fills.merge(other.fills)
        for label, bucket in other.aging.items():
            self.aging[label].add(bucket)
        self.at_risk.add(other.at_risk)

    def waiting(self) -> Bucket:
        total = Bucket()
        for bucket in self.aging.values():
            total.add(bucket)
        return total


_COUNTS = tuple(counter.name for counter in fields(Facts) if counter.type == "int")


def money_strings(value: dict[str, Decimal]) -> dict[str, str]:
    """Amounts per currency as JSON carries them, currencies in order."""
    return {currency: str(amount) for currency, amount in sorted(value.items())}


def _kpi(targets: Targets, name: str, value: float | None, **details: Any) -> dict[str, Any]:
    target = targets.of(name)
    return {"value": value, "target": target.value, "meets": target.met_by(value), **details}


def _durations(targets: Targets, name: str, spread: Spread, counted: str) -> dict[str, Any]:
    """A KPI of durations: the mean against the target, with the median, the 90th
    percentile, and how many were counted."""
    median, p90 = spread.percentiles(0.5, 0.9)
    return _kpi(
        targets, name, spread.mean(), unit="days", median=median, p90=p90, **{counted: spread.count}
    )


def _figure(value: Any, **details: Any) -> dict[str, Any]:
    """A KPI without a target: money per currency, the aging buckets."""
    return {"value": value, "target": None, "meets": None, **details}


def measure(facts: Facts, targets: Targets) -> dict[str, dict[str, Any]]:
    """The KPIs of one group: each with its value, target, whether it meets it, and the
    counts it was worked out from."""
    ended = facts.converted_units + facts.cancelled_units
    waiting = facts.waiting()
    return {
        "backorder_rate": _kpi(
            targets,
            "backorder_rate",
            ratio(facts.backordered_orders, facts.orders),
            lines=ratio(facts.backordered_lines, facts.lines),
            orders_placed=facts.orders,
            backordered_orders=facts.backordered_orders,
            lines_placed=facts.lines,
            backordered_lines=facts.backordered_lines,
        ),
        "conversion_rate": _kpi(
            targets,
            "conversion_rate",
            ratio(facts.converted_units, ended),
            converted_units=facts.converted_units,
            ended_units=ended,
        ),
        "average_backorder_duration": _durations(
            targets, "average_backorder_duration", facts.waits, "lines"
        ),
        "fill_time": _durations(targets, "fill_time", facts.fills, "orders"),
        "cancel_rate": _kpi(
            targets,
            "cancel_rate",
            ratio(facts.cancelled_units, ended),
            cancelled_units=facts.cancelled_units,
            ended_units=ended,
            reasons=dict(sorted(facts.cancel_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        ),
        "fulfillment_accuracy": _kpi(
            targets,
            "fulfillment_accuracy",
            ratio(facts.accurate_lines, facts.shipped_lines),
            shipped_lines=facts.shipped_lines,
            matching_lines=facts.accurate_lines,
        ),
        "money_on_backorder": _figure(
            money_strings(waiting.value), lines=waiting.lines, units=waiting.units
        ),
        "revenue_at_risk": _figure(
            money_strings(facts.at_risk.value), lines=facts.at_risk.lines, units=facts.at_risk.units
        ),
        "aging": _figure(
            [
                {
                    "days": label,
                    "lines": facts.aging[label].lines,
                    "units": facts.aging[label].units,
                    "by_currency": money_strings(facts.aging[label].value),
                }
                for label, _, _ in AGING
            ]
        ),
        "promise_accuracy": _kpi(
            targets,
            "promise_accuracy",
            ratio(facts.kept_promises, facts.promised_lines),
            kept=facts.kept_promises,
            lines=facts.promised_lines,
        ),
    }


# The KPIs in the order people read them, with their names for people.
LABELS: dict[str, str] = {
    "backorder_rate": "Backorder rate (orders)",
    "conversion_rate": "Backorder conversion",
    "average_backorder_duration": "Average backorder duration",
    "fill_time": "Fill time",
    "cancel_rate": "Backorder cancel rate",
    "fulfillment_accuracy": "Fulfilment accuracy",
    "promise_accuracy": "Promise accuracy",
    "money_on_backorder": "Money on backorder",
    "revenue_at_risk": "Revenue at risk (overdue)",
    "aging": "Aging (lines)",
}
RATES = (
    "backorder_rate",
    "conversion_rate",
    "cancel_rate",
    "fulfillment_accuracy",
    "promise_accuracy",
)
DURATIONS = ("average_backorder_duration", "fill_time")


def amount_text(amount: str | Decimal) -> str:
    """An amount as people read it: 30,910.70."""
    return f"{Decimal(amount):,.2f}"


def money_text(value: dict[str, str], currencies: Iterable[str] = ()) -> str:
    """Amounts per currency with their symbols, as everything else shows money: $1,234.50,
    €99.00. No amount is a zero in `currencies` (those of the money waiting), else 0."""
    amounts = value or dict.fromkeys(currencies, "0")
    return ", ".join(money(amount, currency) for currency, amount in amounts.items()) or "0"


def reason_text(reason: str) -> str:
    """A cancellation reason as staff read it: "customer request", not `customer_request`
    (reasons people typed stay as they were written)."""
    return reason.replace("_", " ")


def currencies_of(kpis: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """The currencies money waits in: what an empty amount beside it is a zero of."""
    return tuple(kpis["money_on_backorder"]["value"])


def shown(name: str, kpi: dict[str, Any], currencies: Iterable[str] = ()) -> str:
    """A KPI's value as people read it: 96.1%, 3.8 days, $1,234.50, 4 / 0 / 1 / 2."""
    value = kpi["value"]
    if name == "aging":
        return " / ".join(str(bucket["lines"]) for bucket in value)
    if name in ("money_on_backorder", "revenue_at_risk"):
        return money_text(value, currencies)
    if value is None:
        return "-"
    if name in RATES:
        return f"{value * 100:.1f}%"
    return f"{value:.1f} days"


def target_text(name: str, kpi: dict[str, Any]) -> str:
    target = kpi["target"]
    if target is None:
        return ""
    sign = ">=" if DIRECTION.get(name) is Direction.AT_LEAST else "<="
    return f"{sign} {target * 100:.0f}%" if name in RATES else f"{sign} {target:g} days"


def verdict(kpi: dict[str, Any]) -> str:
    return {True: "meets", False: "misses", None: ""}[kpi["meets"]]
