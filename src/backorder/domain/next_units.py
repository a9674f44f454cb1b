"""Where a SKU's queue gets its next units: from each location that can serve some of its
waiting lines, what it has free now and what is on its way there, soonest first.

A location can serve a waiting line when it is active, takes backorders, ships to the
order's country, and (a ship-complete order the shop does not consolidate) it is the
order's home or the order has none yet."""

from __future__ import annotations

from dataclasses import dataclass

from backorder.domain.sourcing import ShipComplete, Site
from backorder.domain.supply import Inbound


@dataclass(frozen=True)
class Waiters:
    """Waiting lines of a SKU alike for sourcing: orders to one country (None: not named),
    with one home (the location a ship-complete order holds units at; None: any)."""

    country: str | None
    home: int | None
    lines: int
    units: int


@dataclass(frozen=True)
class Source:
    """A location that can serve some of a SKU's waiting lines."""

    site: Site
    lines: int  # waiting lines it can serve
    units: int  # units those lines wait for
    available: int  # units free there now
    inbound: tuple[Inbound, ...]  # on the way there, soonest first


def can_serve(site: Site, waiters: Waiters, rule: ShipComplete) -> bool:
    if not site.serves_queue(waiters.country):
        return False
    if rule is ShipComplete.CONSOLIDATE or waiters.home is None:
        return True
    return waiters.home == site.id


def sources(
    sites: list[Site],
    waiting: list[Waiters],
    stock: tuple[dict[int, int], dict[int, list[Inbound]]],
    rule: ShipComplete,
) -> list[Source]:
    """The locations (in the order of `sites`) that can serve any of `waiting`. `stock`:
    units free per location id, and the inbound supply per location id."""
    available, inbound = stock
    found = []
    for site in sites:
        served = [w for w in waiting if can_serve(site, w, rule)]
        if not served:
            continue
        arriving = sorted(inbound.get(site.id, ()), key=lambda i: (i.expected_on, i.po))
        found.append(
            Source(
                site,
                sum(w.lines for w in served),
                sum(w.units for w in served),
                available.get(site.id, 0),
                tuple(arriving),
            )
        )
    return found


def next_from(found: list[Source]) -> tuple[Source, Inbound | None] | None:
    """Where the next units come from: a location with units free for the queue now (the
    first of them), else the one whose next supply arrives soonest (on the same day, the
    first in `found`'s order); None when nothing is free or on its way to any of them."""
    for source in found:
        if source.available > 0:
            return source, None
    arriving = [(s.inbound[0].expected_on, i, s) for i, s in enumerate(found) if s.inbound]
    if not arriving:
        return None
    _, _, source = min(arriving, key=lambda a: (a[0], a[1]))
    return source, source.inbound[0]
