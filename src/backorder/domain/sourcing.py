"""Sourcing: from which locations an order's allocated units come.

The rule, `single_location_first`: fill the whole order from one location when one can
(fewest shipments); else each line from one location when one can; else walk the
locations in their order. Locations are ordered by priority (lower first), then transit
days (fewer first), then code. Every pick says why that location, in words.

A `ship_complete` order is never split across locations unless the shop consolidates
(`ShipComplete`): it is sourced whole from one location, its home (`home`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ONLY = "only location with stock"
FEWEST = "fewest shipments"
FIRST = "first by priority"
NEAREST = "nearest"
SPLIT = "split across locations: not one holds it all"
MOST = "ship complete: holds the most of the order; the rest waits for this location"
ON_ITS_WAY = "ship complete: holds part of the order, and more of it is on its way here"


class ShipComplete(StrEnum):
    """Where a `ship_complete` order's units may come from."""

    ONE_LOCATION = "one_location"  # one location only: what it lacks waits for that location
    CONSOLIDATE = "consolidate"  # several, brought together before it ships


@dataclass(frozen=True)
class Site:
    """A location as sourcing sees it."""

    id: int
    code: str
    priority: int = 100
    transit_days: int = 0
    ships_to: tuple[str, ...] | None = None  # None: anywhere
    accepts_backorders: bool = True
    active: bool = True

    def serves(self, country: str | None) -> bool:
        """Active, and ships to the country (an order without a country: anywhere)."""
        if not self.active:
            return False
        return country is None or self.ships_to is None or country in self.ships_to

    def serves_queue(self, country: str | None) -> bool:
        return self.accepts_backorders and self.serves(country)


def site_order(site: Site) -> tuple[int, int, str]:
    return (site.priority, site.transit_days, site.code)


def eligible(sites: list[Site], country: str | None) -> list[Site]:
    """The locations that can serve an order to `country`, in sourcing order."""
    return sorted((s for s in sites if s.serves(country)), key=site_order)


@dataclass(frozen=True)
class Pick:
    line: int  # index of the line in the order
    location: int  # location id
    units: int
    why: str


def _reason(chosen: Site, holders: list[Site]) -> str:
    """Why `chosen` among the locations `holders` that had any of what was wanted."""
    if len(holders) == 1:
        return ONLY
    first = holders[0]
    if chosen.id != first.id:
        return FEWEST
    rivals = [s for s in holders[1:] if s.priority == chosen.priority]
    if rivals and all(s.transit_days > chosen.transit_days for s in rivals):
        return NEAREST  # the priority tied; fewer transit days chose it
    return FIRST  # by priority, or (every tie broken by name) first in the location list


def source(
    wanted: list[tuple[int, int]],
    available: dict[tuple[int, int], int],
    sites: list[Site],
) -> list[Pick]:
    """`wanted`: per order line, (product id, units to allocate); `available`: units free
    per (product id, location id); `sites`: the eligible locations in sourcing order.
    The units wanted never exceed what the sites hold together (intake's split saw to it)."""
    left = dict(available)

    def free(site: Site, product: int) -> int:
        return left.get((product, site.id), 0)

    needed: dict[int, int] = {}
    for product, units in wanted:
        if units:
            needed[product] = needed.get(product, 0) + units
    if not needed:
        return []
    holders = [s for s in sites if any(free(s, p) > 0 for p in needed)]
    whole = [s for s in holders if all(free(s, p) >= n for p, n in needed.items())]
    picks: list[Pick] = []
    if whole:
        site = whole[0]
        why = _reason(site, holders)
        return [
            Pick(index, site.id, units, why) for index, (_, units) in enumerate(wanted) if units
        ]
    for index, (product, units) in enumerate(wanted):
        if not units:
            continue
        line_holders = [s for s in sites if free(s, product) > 0]
        single = [s for s in line_holders if free(s, product) >= units]
        if single:
            site = single[0]
            picks.append(Pick(index, site.id, units, _reason(site, line_holders)))
            left[(product, site.id)] = free(site, product) - units
            continue
        for site in line_holders:
            if units <= 0:
                break
            take = min(units, free(site, product))
            why = ONLY if len(line_holders) == 1 else SPLIT
            picks.append(Pick(index, site.id, take, why))
            left[(product, site.id)] = free(site, product) - take
            units -= take
        if units:
            raise ValueError("more units wanted than the locations hold")
    return picks


def _units_held(site: Site, needed: dict[int, int], available: dict[tuple[int, int], int]) -> int:
    return sum(min(n, available.get((product, site.id), 0)) for product, n in needed.items())


def home(
    wanted: list[tuple[int, int]],
    available: dict[tuple[int, int], int],
    sites: list[Site],
    arriving: dict[tuple[int, int], int] | None = None,
) -> tuple[Site, str] | None:
    """The one location a ship-complete order that may not be split is sourced from, and why.

    `wanted`: per order line, (product id, units ordered); `available` and `sites` as for
    `source`; `arriving`: units on their way, per (product id, location id). The first
    location (in sourcing order) that holds the whole order; else, among the locations that
    take backorders and hold some of it, the one that will hold the most of it once what is
    on its way there has come (`arriving`; then the most held now, then the first in
    sourcing order): the rest waits in the queue for that location. None when no such
    location holds any of it: it all waits, and the first location to serve one of its
    lines becomes its home."""
    needed: dict[int, int] = {}
    for product, units in wanted:
        if units > 0:
            needed[product] = needed.get(product, 0) + units
    if not needed:
        return None
    holders = [s for s in sites if any(available.get((p, s.id), 0) > 0 for p in needed)]
    total = sum(needed.values())
    for site in holders:
        if _units_held(site, needed, available) == total:
            return site, _reason(site, holders)
    coming = arriving or {}
    best: tuple[int, int, Site] | None = None
    for site in holders:
        if not site.accepts_backorders:
            continue
        held = _units_held(site, needed, available)
        then = sum(
            min(n, available.get((p, site.id), 0) + coming.get((p, site.id), 0))
            for p, n in needed.items()
        )
        if best is None or (then, held) > best[:2]:
            best = (then, held, site)
    if best is None:
        return None
    then, held, site = best
    most_now = max(
        (_units_held(s, needed, available) for s in holders if s.accepts_backorders),
        default=0,
    )
    return site, MOST if held == most_now else ON_ITS_WAY


def from_home(site: Site, why: str, allocate: list[int]) -> list[Pick]:
    """The picks of an order sourced whole from `site`: `allocate` is the units each line
    takes (its home holds them)."""
    return [Pick(index, site.id, units, why) for index, units in enumerate(allocate) if units]
