"""A supplier's measured performance from its closed purchase-order lines: how often a line
came in full by the date first expected, how late lines came (early counts as 0 days: an
early delivery does not make up for a late one), and what share of the units ordered came
at all. Pure: the lines are read by the service."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

WINDOWS_MONTHS = (6, 12)
DAYS_PER_MONTH = 30.4375  # a mean Gregorian month


@dataclass(frozen=True)
class ClosedLine:
    """A purchase-order line nothing more will come on: received + cancelled = ordered."""

    first_expected_on: date
    ordered: int
    received: int
    received_on: date | None  # the day of the last receipt; None when nothing came


@dataclass(frozen=True)
class Performance:
    months: int
    lines: int  # closed lines first expected inside the window
    on_time_lines: int
    on_time_rate: float | None  # None without lines
    late_days_mean: float | None  # over the lines that received anything
    late_days_sd: float | None  # sample sd; None below two such lines
    ordered: int
    received: int
    fill_rate: float | None  # received / ordered


def window_start(today: date, months: int) -> date:
    return today - timedelta(days=round(months * DAYS_PER_MONTH))


def lateness_days(line: ClosedLine) -> int | None:
    if line.received_on is None:
        return None
    return max(0, (line.received_on - line.first_expected_on).days)


def on_time(line: ClosedLine) -> bool:
    """In full (every unit ordered) by the date first expected, however often re-dated."""
    late = lateness_days(line)
    return line.received >= line.ordered and late == 0


def measure(lines: Iterable[ClosedLine], today: date, months: int) -> Performance:
    since = window_start(today, months)
    inside = [line for line in lines if line.first_expected_on >= since]
    late = [d for d in (lateness_days(line) for line in inside) if d is not None]
    ordered = sum(line.ordered for line in inside)
    received = sum(line.received for line in inside)
    punctual = sum(1 for line in inside if on_time(line))
    return Performance(
        months=months,
        lines=len(inside),
        on_time_lines=punctual,
        on_time_rate=punctual / len(inside) if inside else None,
        late_days_mean=statistics.fmean(late) if late else None,
        late_days_sd=statistics.stdev(late) if len(late) >= 2 else None,
        ordered=ordered,
        received=received,
        fill_rate=received / ordered if ordered else None,
    )


def measure_windows(lines: Iterable[ClosedLine], today: date) -> list[Performance]:
    kept = list(lines)
    return [measure(kept, today, months) for months in WINDOWS_MONTHS]
