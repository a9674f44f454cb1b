"""Sourcing: from which locations an order's allocated units come, and why."""

from __future__ import annotations

from backorder.domain.sourcing import (
    FEWEST,
    FIRST,
    NEAREST,
    ONLY,
    SPLIT,
    Pick,
    Site,
    eligible,
    source,
)

MAIN = Site(1, "main", priority=100, transit_days=3)
EAST = Site(2, "east", priority=10, transit_days=2, ships_to=("US", "CA"))
WEST = Site(3, "west", priority=10, transit_days=1)
SITES = eligible([MAIN, EAST, WEST], None)
A, B = 100, 200  # product ids


def test_locations_are_ordered_by_priority_then_transit_days() -> None:
    assert [s.code for s in SITES] == ["west", "east", "main"]


def test_a_location_serves_only_the_countries_it_ships_to() -> None:
    assert [s.code for s in eligible([MAIN, EAST, WEST], "DE")] == ["west", "main"]
    assert [s.code for s in eligible([MAIN, EAST, WEST], "US")] == ["west", "east", "main"]


def test_an_inactive_location_serves_nobody() -> None:
    closed = Site(4, "closed", priority=0, active=False)
    assert "closed" not in [s.code for s in eligible([closed, MAIN], None)]


def test_the_only_location_with_stock_fills_the_line() -> None:
    picks = source([(A, 3)], {(A, MAIN.id): 5}, SITES)
    assert picks == [Pick(0, MAIN.id, 3, ONLY)]


def test_the_first_location_by_priority_fills_the_whole_order() -> None:
    available = {(A, WEST.id): 5, (A, MAIN.id): 5}
    assert source([(A, 3)], available, SITES) == [Pick(0, WEST.id, 3, FIRST)]


def test_between_equal_priorities_the_nearest_wins() -> None:
    available = {(A, WEST.id): 5, (A, EAST.id): 5}
    assert source([(A, 3)], available, SITES) == [Pick(0, WEST.id, 3, NEAREST)]


def test_one_location_holding_the_whole_order_beats_the_first_by_priority() -> None:
    """Fewest shipments first: west has A but not B, main has both."""
    available = {(A, WEST.id): 5, (A, MAIN.id): 2, (B, MAIN.id): 1}
    picks = source([(A, 2), (B, 1)], available, SITES)
    assert picks == [Pick(0, MAIN.id, 2, FEWEST), Pick(1, MAIN.id, 1, FEWEST)]


def test_a_line_no_location_holds_whole_is_split_in_location_order() -> None:
    available = {(A, WEST.id): 2, (A, MAIN.id): 4}
    picks = source([(A, 5)], available, SITES)
    assert picks == [Pick(0, WEST.id, 2, SPLIT), Pick(0, MAIN.id, 3, SPLIT)]


def test_each_line_from_one_location_when_no_location_holds_the_order() -> None:
    available = {(A, WEST.id): 3, (B, MAIN.id): 2}
    picks = source([(A, 3), (B, 2)], available, SITES)
    assert picks == [Pick(0, WEST.id, 3, ONLY), Pick(1, MAIN.id, 2, ONLY)]


def test_two_lines_of_one_sku_count_together() -> None:
    available = {(A, WEST.id): 3, (A, MAIN.id): 5}
    picks = source([(A, 2), (A, 2)], available, SITES)
    assert {p.location for p in picks} == {MAIN.id}
    assert sum(p.units for p in picks) == 4


def test_lines_allocating_nothing_get_no_pick() -> None:
    assert source([(A, 0)], {(A, MAIN.id): 5}, SITES) == []


def test_a_tie_in_priority_and_transit_days_is_not_called_nearest() -> None:
    first, second = (
        Site(5, "a", priority=10, transit_days=1),
        Site(6, "b", priority=10, transit_days=1),
    )
    available = {(A, first.id): 3, (A, second.id): 3}
    sites = eligible([second, first], None)
    assert source([(A, 3)], available, sites) == [Pick(0, first.id, 3, FIRST)]
