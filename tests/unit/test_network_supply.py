"""Inbound supply across locations, as pure rules: a line is dated only by supply arriving
where it can be served, a transfer counts like a purchase order, and what each location
(and the network) can still promise once the queue has taken its share."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.network_supply import Waiter, expected_dates_across, promise
from backorder.domain.sourcing import Site
from backorder.domain.supply import Inbound, Outlook, Promisable, Queued, expected_dates

TODAY = date(2026, 1, 10)
LATER = TODAY + timedelta(days=30)  # beyond supply: today + the lead time
MAIN = Site(1, "main")
US = Site(2, "us", ships_to=("US",))
FBA = Site(3, "fba", accepts_backorders=False)
SHUT = Site(4, "shut", active=False)
SITES = {site.id: site for site in (MAIN, US, FBA, SHUT)}


def jan(day: int) -> date:
    return date(2026, 1, day)


def po(ref: str, day: int, units: int, at: Site) -> Inbound:
    return Inbound(ref, jan(day), units, at.id)


def moving(
    number: int, day: int, units: int, to: Site, planned_from: Site | None = None
) -> Inbound:
    """A transfer to `to`; not yet shipped when `planned_from` names where it still sits."""
    source = planned_from.id if planned_from else None
    return Inbound("", jan(day), units, to.id, transfer=number, source=source)


def supply(*inbound: Inbound, lead: int | None = 30) -> Outlook:
    return Outlook(TODAY, tuple(inbound), lead)


def test_supply_at_a_location_dates_only_the_lines_it_ships_to() -> None:
    outlook = supply(po("PO-US", 15, 5, US), po("PO-MAIN", 25, 5, MAIN))
    queue = [Waiter(1, 2, "DE"), Waiter(2, 3, "US"), Waiter(3, 3, "DE")]
    assert expected_dates_across(queue, outlook, SITES) == {
        1: jan(25),  # the US location does not ship to DE: main's later purchase order
        2: jan(15),
        3: jan(25),
    }


def test_a_transfer_dates_a_line_like_a_purchase_order() -> None:
    outlook = supply(moving(7, 12, 4, MAIN), po("PO-1", 20, 4, MAIN))
    assert expected_dates_across([Waiter(1, 4), Waiter(2, 4)], outlook, SITES) == {
        1: jan(12),
        2: jan(20),
    }


def test_a_planned_transfer_brings_nothing_to_a_line_its_source_could_serve() -> None:
    # units free at main would already be the line's; only a shipped transfer is new
    planned = supply(moving(7, 12, 4, US, planned_from=MAIN))
    shipped = supply(moving(7, 12, 4, US))
    assert expected_dates_across([Waiter(1, 2, "US")], planned, SITES) == {1: LATER}
    assert expected_dates_across([Waiter(1, 2, "US")], shipped, SITES) == {1: jan(12)}


def test_a_planned_transfer_out_of_a_location_that_takes_no_backorders_is_new_supply() -> None:
    outlook = supply(moving(7, 12, 4, MAIN, planned_from=FBA))
    assert expected_dates_across([Waiter(1, 4)], outlook, SITES) == {1: jan(12)}


def test_supply_at_an_inactive_location_or_one_without_backorders_dates_no_line() -> None:
    outlook = supply(po("PO-F", 12, 9, FBA), po("PO-S", 13, 9, SHUT), lead=None)
    assert expected_dates_across([Waiter(1, 1)], outlook, SITES) == {1: None}


def test_a_line_covered_in_part_takes_what_it_can_and_waits_for_the_lead_time() -> None:
    outlook = supply(po("PO-1", 15, 3, MAIN), po("PO-2", 16, 3, US))
    assert expected_dates_across([Waiter(1, 4, "DE"), Waiter(2, 3, "US")], outlook, SITES) == {
        1: LATER,  # 3 of 4 from PO-1; US supply cannot serve DE
        2: jan(16),
    }


@given(
    st.lists(st.integers(1, 20), max_size=30),
    st.lists(st.tuples(st.integers(1, 31), st.integers(1, 30), st.booleans()), max_size=6),
)
def test_where_every_location_serves_every_line_the_walk_is_the_network_walk(
    waiting: list[int], arrivals: list[tuple[int, int, bool]]
) -> None:
    inbound = sorted(
        (
            moving(i, day, units, MAIN) if is_transfer else po(f"PO-{i}", day, units, MAIN)
            for i, (day, units, is_transfer) in enumerate(arrivals)
        ),
        key=lambda i: i.expected_on,
    )
    outlook = supply(*inbound)
    across = expected_dates_across(
        [Waiter(i, units, "DE") for i, units in enumerate(waiting)], outlook, SITES
    )
    network = dict(expected_dates([Queued(i, units) for i, units in enumerate(waiting)], outlook))
    assert across == network


def test_a_location_promises_what_the_queue_leaves_of_its_stock_and_supply() -> None:
    outlook = supply(po("PO-1", 15, 10, MAIN), po("PO-2", 20, 4, US))
    queue = [Waiter(1, 6, "DE"), Waiter(2, 2, "US")]
    promised = promise(queue, {US.id: 3}, outlook, SITES)
    # US: 3 on the shelf (its lines took theirs already; 2 more units of US wait) ...
    assert promised.by_location[US.id] == [Promisable(TODAY, 1), Promisable(jan(20), 5)]
    # ... main: PO-1 less the DE line's 6
    assert promised.by_location[MAIN.id] == [Promisable(jan(15), 4)]
    assert promised.network == [
        Promisable(TODAY, 1),
        Promisable(jan(15), 5),
        Promisable(jan(20), 9),
    ]


def test_units_about_to_leave_are_not_promised_where_they_sit_but_where_they_go() -> None:
    outlook = supply(moving(7, 18, 5, MAIN, planned_from=FBA))
    # FBA holds 8, 5 of which are leaving: the caller passes what stays (3)
    promised = promise([], {FBA.id: 3}, outlook, SITES)
    assert promised.by_location[FBA.id] == [Promisable(TODAY, 3)]
    assert promised.by_location[MAIN.id] == [Promisable(jan(18), 5)]
    assert promised.network == [Promisable(TODAY, 3), Promisable(jan(18), 8)]


def test_nothing_to_promise_while_the_queue_takes_all() -> None:
    outlook = supply(po("PO-1", 15, 4, MAIN))
    promised = promise([Waiter(1, 9)], {}, outlook, SITES)
    assert promised.network == []
    assert promised.by_location[MAIN.id] == []


def test_an_outlook_keeps_only_the_supply_new_to_some_locations() -> None:
    outlook = supply(
        po("PO-1", 15, 4, MAIN),
        po("PO-2", 16, 4, US),
        Inbound("OLD", jan(17), 1),  # from before locations: anywhere
        moving(7, 18, 2, US, planned_from=MAIN),  # still at main
        moving(8, 19, 2, US, planned_from=FBA),
    )
    kept = outlook.new_to({US.id, MAIN.id}).inbound
    assert [(i.po, i.transfer) for i in kept] == [
        ("PO-1", None),
        ("PO-2", None),
        ("OLD", None),
        ("", 8),
    ]
