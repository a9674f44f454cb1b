"""Sourcing: from which locations an order's allocated units come, and why."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.sourcing import (
    FEWEST,
    FIRST,
    MOST,
    NEAREST,
    ON_ITS_WAY,
    ONLY,
    SPLIT,
    Pick,
    Site,
    eligible,
    from_home,
    home,
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


# A ship-complete order that may not be split: sourced whole from one location, its home.


def test_a_ship_complete_order_goes_to_the_first_location_holding_all_of_it() -> None:
    # west (first by priority, nearest) lacks a B; east holds both: one shipment
    free = {(A, 3): 5, (B, 3): 1, (A, 2): 5, (B, 2): 5, (A, 1): 9, (B, 1): 9}
    assert home([(A, 2), (B, 2)], free, SITES) == (EAST, FEWEST)


def test_a_ship_complete_order_no_one_holds_goes_to_the_location_holding_most_of_it() -> None:
    # east holds 3 of the 4 units, main 2, west 1: east is home, and the rest waits for it
    free = {(A, 2): 2, (B, 2): 1, (A, 1): 2, (B, 3): 1}
    found = home([(A, 2), (B, 2)], free, SITES)
    assert found == (EAST, MOST)
    assert from_home(*found, [2, 1]) == [Pick(0, EAST.id, 2, MOST), Pick(1, EAST.id, 1, MOST)]


def test_a_tie_in_units_held_goes_to_the_first_location_in_sourcing_order() -> None:
    free = {(A, 1): 1, (B, 3): 1}
    assert home([(A, 2), (B, 2)], free, SITES) == (WEST, MOST)


def test_a_location_taking_no_backorders_is_home_only_when_it_holds_the_whole_order() -> None:
    fba = Site(4, "fba", priority=1, accepts_backorders=False)
    sites = eligible([MAIN, fba], None)
    assert home([(A, 3)], {(A, 4): 2, (A, 1): 1}, sites) == (MAIN, MOST)
    assert home([(A, 2)], {(A, 4): 2, (A, 1): 1}, sites) == (fba, FIRST)
    assert home([(A, 3)], {(A, 4): 2}, sites) is None  # it all waits, nobody's home yet


def test_an_order_nobody_holds_any_of_has_no_home_yet() -> None:
    assert home([(A, 2)], {(B, 1): 5}, SITES) is None
    assert home([(A, 0)], {(A, 1): 5}, SITES) is None


units = st.integers(min_value=0, max_value=4)


@given(
    wanted=st.lists(st.tuples(st.sampled_from([A, B]), st.integers(1, 4)), min_size=1, max_size=4),
    free=st.dictionaries(
        st.tuples(st.sampled_from([A, B]), st.sampled_from([1, 2, 3])), units, max_size=6
    ),
)
def test_a_home_holds_the_whole_order_when_any_location_does_and_else_the_most(
    wanted: list[tuple[int, int]], free: dict[tuple[int, int], int]
) -> None:
    needed: dict[int, int] = {}
    for product_id, n in wanted:
        needed[product_id] = needed.get(product_id, 0) + n

    def held(site: Site) -> int:
        return sum(min(n, free.get((p, site.id), 0)) for p, n in needed.items())

    found = home(wanted, free, SITES)
    best = max(held(site) for site in SITES)
    if best == 0:
        assert found is None
        return
    assert found is not None
    site, why = found
    assert held(site) == best  # nobody holds more of the order
    assert (why == MOST) == (best < sum(needed.values()))
    first = next(s for s in SITES if held(s) == best)
    assert site == first  # ties: sourcing order


def test_a_home_that_will_hold_more_once_its_supply_arrives_beats_one_that_holds_more_now() -> None:
    # east holds 2 A now; main 1 A, and 5 B are on their way to main
    free = {(A, 2): 2, (A, 1): 1}
    assert home([(A, 2), (B, 2)], free, SITES) == (EAST, MOST)
    assert home([(A, 2), (B, 2)], free, SITES, {(B, 1): 5}) == (MAIN, ON_ITS_WAY)
    # supply on its way to a location holding none of the order makes it no home
    assert home([(A, 2), (B, 2)], {(A, 2): 2}, SITES, {(B, 1): 5}) == (EAST, MOST)
