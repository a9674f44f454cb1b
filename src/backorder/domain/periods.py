"""Periods of demand: a day, an ISO week (from its Monday) or a calendar month, as people
write them (`2026-11-03`, `2026-W45`, `2026-11`), and imported history spread over the
periods a series is counted in.

Imported history is spread evenly over the days of its period (a month's units over its
28-31 days, a week's over 7), and counts only on days before the first order the engine
holds for the SKU: from that day on, the orders are the demand, so history that overlaps
them is not counted twice."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date

    @property
    def end(self) -> date:
        """The first day after the period."""
        return next_start(self.kind, self.start)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def parse_period(text: str) -> Period:
    """`2026-11-03` (a day), `2026-W45` (an ISO week) or `2026-11` (a month); ValueError in
    words for anything else."""
    text = text.strip()
    if week := _WEEK.match(text):
        year, number = int(week[1]), int(week[2])
        try:
            return Period("week", date.fromisocalendar(year, number, 1))
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no ISO week {number}") from None
    if month := _MONTH.match(text):
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12:
            raise ValueError(f"{text!r}: there is no month {number}")
        return Period("month", date(year, number, 1))
    if _DAY.match(text):
        try:
            return Period("day", date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"{text!r} is not a date") from None
    raise ValueError(
        f"{text!r} is not a period: a day (2026-11-03), an ISO week (2026-W45) or a month (2026-11)"
    )


def period_name(kind: PeriodKind, start: date) -> str:
    """A period as people write it, the inverse of parse_period."""
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    return start.isoformat()


def start_of(kind: PeriodKind, day: date) -> date:
    """The first day of the period of that kind holding `day`."""
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "month":
        return day.replace(day=1)
    return day


def next_start(kind: PeriodKind, start: date) -> date:
    """The first day of the period after the one starting on `start`."""
    if kind == "week":
        return start + timedelta(days=7)
    if kind == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def starts(kind: PeriodKind, first: date, last: date) -> list[date]:
    """The starts of the periods from the one holding `first` to the one holding `last`."""
    found: list[date] = []
    current, end = start_of(kind, first), start_of(kind, last)
    while current <= end:
        found.append(current)
        current = next_start(kind, current)
    return found


def spread(
    history: Iterable[tuple[Period, float]], into: PeriodKind, before: date | None = None
) -> dict[date, float]:
    """Imported units per period, spread evenly over the days of each period and summed
    into periods of kind `into` (by their first day); only the days before `before` count
    (the first day with orders; None: every day)."""
    sums: dict[date, float] = {}
    for period, units in history:
        first, end = period.start, period.end
        if before is not None:
            end = min(end, before)
        if end <= first or not units:
            continue
        per_day = units / period.days
        bucket = start_of(into, first)
        while bucket < end:  # at most 31 days, so at most 31 buckets
            following = next_start(into, bucket)
            overlap = (min(end, following) - max(first, bucket)).days
            sums[bucket] = sums.get(bucket, 0.0) + per_day * overlap
            bucket = following
    return sums
