"""Where a queue's next units come from: the locations that can serve its waiting lines."""

from __future__ import annotations

from datetime import date

from backorder.domain.next_units import Waiters, can_serve, next_from, sources
from backorder.domain.sourcing import ShipComplete, Site, eligible
from backorder.domain.supply import Inbound

MAIN = Site(1, "main", priority=100)
EAST = Site(2, "east", priority=10, ships_to=("US", "CA"))
FBA = Site(3, "fba", priority=5, accepts_backorders=False)
SITES = eligible([MAIN, EAST, FBA], None)
ONE, CONSOLIDATE = ShipComplete.ONE_LOCATION, ShipComplete.CONSOLIDATE


def test_a_location_serves_lines_to_countries_it_ships_to_and_only_if_it_takes_backorders() -> None:
    german = Waiters("DE", None, 1, 2)
    assert not can_serve(EAST, german, ONE)
    assert can_serve(MAIN, german, ONE)
    assert not can_serve(FBA, Waiters(None, None, 1, 1), ONE)


def test_a_ship_complete_order_with_a_home_is_served_only_there_unless_consolidated() -> None:
    homed = Waiters("US", MAIN.id, 1, 1)
    assert not can_serve(EAST, homed, ONE)
    assert can_serve(MAIN, homed, ONE)
    assert can_serve(EAST, homed, CONSOLIDATE)


def test_each_location_that_can_serve_shows_its_lines_and_its_next_deliveries() -> None:
    waiting = [Waiters("US", None, 2, 5), Waiters("DE", None, 1, 3)]
    inbound = {
        MAIN.id: [Inbound("PO-9", date(2026, 3, 1), 10), Inbound("PO-2", date(2026, 2, 1), 4)],
        EAST.id: [Inbound("PO-5", date(2026, 2, 10), 6)],
    }
    found = sources(SITES, waiting, ({}, inbound), ONE)
    assert [(s.site.code, s.lines, s.units) for s in found] == [("east", 2, 5), ("main", 3, 8)]
    assert [i.po for i in found[1].inbound] == ["PO-2", "PO-9"]  # soonest first
    source, item = next_from(found) or (None, None)
    assert source is not None and item is not None
    assert (source.site.code, item.po) == ("main", "PO-2")  # 1 Feb comes before 10 Feb


def test_units_free_now_come_before_anything_on_its_way() -> None:
    found = sources(SITES, [Waiters(None, None, 1, 1)], ({MAIN.id: 2}, {}), ONE)
    picked = next_from(found)
    assert picked is not None and (picked[0].site.code, picked[1]) == ("main", None)


def test_nothing_free_and_nothing_on_its_way_is_no_next_source() -> None:
    assert next_from(sources(SITES, [Waiters(None, None, 1, 1)], ({}, {}), ONE)) is None
    assert sources(SITES, [], ({}, {}), ONE) == []
