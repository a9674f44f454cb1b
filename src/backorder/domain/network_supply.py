"""Inbound supply across locations: which waiting lines each arrival can serve, the dates
that follow for the queue, and what each location (and the network) can still promise.

A receipt at a location serves the one network queue in rank order among the lines that
location can serve. Walking the queue in rank order, each line taking the soonest units
that arrive where it can be served, gives the same answer as handing each arrival in turn
to the highest-ranked line its location can serve (the highest-ranked line takes the
soonest units it can use either way; the rest of the queue then faces what is left)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from backorder.domain.sourcing import Site
from backorder.domain.supply import Inbound, Outlook, Promisable


@dataclass(frozen=True)
class Waiter:
    """A waiting line as the walk sees it: in rank order, its units, where it ships."""

    line_id: int
    backordered: int
    country: str | None = None


def _picky(site: Site | None) -> bool:
    return site is not None and site.active and site.accepts_backorders and bool(site.ships_to)


def restricts(inbound: Inbound, sites: Mapping[int, Site]) -> bool:
    """Whether the lines this supply can serve depend on where they ship: it arrives at
    (or, not yet shipped, leaves) an active location that takes backorders and ships only
    to some countries."""
    return any(
        _picky(sites.get(place))
        for place in (inbound.location, inbound.source)
        if place is not None
    )


class SupplyWalk:
    """The queue, line by line in rank order, against inbound supply soonest first."""

    def __init__(self, outlook: Outlook, sites: Mapping[int, Site]) -> None:
        self.outlook = outlook
        self.sites = sites
        self.supply = sorted(outlook.inbound, key=outlook.arrival)
        self.left = [max(0, inbound.units) for inbound in self.supply]
        self.total = sum(self.left)

    @property
    def exhausted(self) -> bool:
        """Nothing is left for any line further down the queue."""
        return self.total <= 0

    def serves(self, inbound: Inbound, country: str | None) -> bool:
        """Supply at a location serves a line the location can serve (active, takes
        backorders, ships there); supply at no location serves any line. A transfer not
        yet shipped brings nothing new to a line its source can serve: units free there
        would already be that line's, so only units that line could not have move."""
        if inbound.source is not None:
            source = self.sites.get(inbound.source)
            if source is not None and source.serves_queue(country):
                return False
        if inbound.location is None:
            return True
        site = self.sites.get(inbound.location)
        return site is not None and site.serves_queue(country)

    def take(self, line: Waiter) -> date | None:
        """The line takes the soonest units that can serve it; its date is the arrival of
        the one covering its last unit, else the date beyond supply (None: unknown). A line
        not fully covered still takes what it can, as a receipt would part-fill it."""
        need = line.backordered
        last: date | None = None
        for index, inbound in enumerate(self.supply):
            if need <= 0:
                break
            if not self.left[index] or not self.serves(inbound, line.country):
                continue
            give = min(need, self.left[index])
            self.left[index] -= give
            self.total -= give
            need -= give
            last = self.outlook.arrival(inbound)
        if need > 0 or last is None:
            return self.outlook.beyond_supply
        return last


def expected_dates_across(
    queue: Iterable[Waiter], outlook: Outlook, sites: Mapping[int, Site]
) -> dict[int, date | None]:
    """Each waiting line's expected date, the queue walked in rank order against the supply
    arriving at the locations that can serve it."""
    walk = SupplyWalk(outlook, sites)
    return {line.line_id: walk.take(line) for line in queue}


@dataclass(frozen=True)
class Promise:
    """What a SKU can still promise: per location (id; None: supply at no location) and
    for the network, cumulative units by date."""

    by_location: dict[int | None, list[Promisable]]
    network: list[Promisable]


def _cumulative(added: Iterable[tuple[date, int]]) -> list[Promisable]:
    """Units added on dates -> the running total on each date it grows."""
    points: list[Promisable] = []
    total = 0
    for on, units in sorted(added):
        if units <= 0:
            continue
        total += units
        if points and points[-1].on == on:
            points[-1] = Promisable(on, total)
        else:
            points.append(Promisable(on, total))
    return points


def promise(
    queue: Iterable[Waiter],
    available: Mapping[int, int],
    outlook: Outlook,
    sites: Mapping[int, Site],
) -> Promise:
    """What a new order could be promised by each date, per location and for the network:
    the units available now at each location (`available`, location id -> units, net of
    transfers about to leave) and the inbound supply arriving there, less what the waiting
    queue takes of them when it is served in rank order."""
    now = [
        Inbound("", outlook.today, units, location)
        for location, units in sorted(available.items())
        if units > 0
    ]
    walk = SupplyWalk(Outlook(outlook.today, (*now, *outlook.inbound)), sites)
    for line in queue:
        if walk.exhausted:
            break
        walk.take(line)
    added: dict[int | None, list[tuple[date, int]]] = {}
    for inbound, left in zip(walk.supply, walk.left, strict=True):
        added.setdefault(inbound.location, []).append((outlook.arrival(inbound), left))
    by_location = {location: _cumulative(entries) for location, entries in added.items()}
    network = _cumulative(entry for entries in added.values() for entry in entries)
    return Promise(by_location, network)
