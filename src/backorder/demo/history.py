"""The demo store's sales before it opened in Backorder: a year of weekly demand per SKU,
as a seller would export it from the system it used before and bring in with
`backorder history import`. Each SKU's rate follows its popularity in the catalogue; outdoor
gear sells more in summer, kitchen goods more before the holidays, and discontinued lines
fade out. Drawn from the demo's own random generator, so a seed gives the same history."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta

from backorder.demo.store import CATALOGUE

WEEKS = 52
# Units a week across the catalogue, about what the demo's five weeks of trading order.
UNITS_PER_WEEK = 210.0
OUTDOOR = (
    "TNT-",
    "BAG-",
    "PAD-",
    "STV-",
    "LMP-",
    "BTL-",
    "PCK-",
    "JKT-",
    "BOOT-",
    "SOCK-",
    "FLT-",
    "CHR-",
    "LAN-",
    "GPS-",
    "CLR-",
    "HMK-",
)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while k < 1000:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
    return k


def _season(sku: str, week: date) -> float:
    """How much busier than average a week is for this SKU (1.0: average)."""
    day = week.timetuple().tm_yday
    if sku.startswith(OUTDOOR):  # peaks in early July
        return 1.0 + 0.45 * math.cos(2 * math.pi * (day - 186) / 365.25)
    return 1.0 + 0.3 * math.cos(2 * math.pi * (day - 335) / 365.25)  # peaks in early December


def prior_demand(rng: random.Random, opening: date) -> Iterator[tuple[str, date, int]]:
    """(sku, Monday, units) for the `WEEKS` full weeks before the week of `opening`."""
    first = opening - timedelta(days=opening.weekday()) - timedelta(weeks=WEEKS)
    total = sum(item.demand for item in CATALOGUE)
    for item in CATALOGUE:
        rate = UNITS_PER_WEEK * item.demand / total
        # trade buyers order by the case: fewer, larger orders make demand lumpier
        clumps = 2.0 if item.product.unit_price < 100 else 1.0
        for n in range(WEEKS):
            week = first + timedelta(weeks=n)
            mean = rate * _season(item.product.sku, week)
            if item.product.discontinued:
                mean *= 1.6 - 1.2 * n / WEEKS
            yield item.product.sku, week, round(clumps * _poisson(rng, mean / clumps))


def history_file(rng: random.Random, opening: date) -> str:
    """The year before `opening` as the CSV `backorder history import` reads (ISO weeks)."""
    lines = ["sku,period,units"]
    for sku, week, units in prior_demand(rng, opening):
        year, number, _ = week.isocalendar()
        lines.append(f"{sku},{year}-W{number:02d},{units}")
    return "\n".join(lines) + "\n"
