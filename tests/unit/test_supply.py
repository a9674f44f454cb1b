"""The expected-date walk, available-to-promise and the acceptance policy, as pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.allocation import split_line
from backorder.domain.model import Refusal, StockLevel
from backorder.domain.supply import (
    Inbound,
    Outlook,
    Queued,
    acceptance_refusal,
    available_to_promise,
    expected_dates,
    on_time_percent,
    slipped,
)
from tests.factories import jan, product

TODAY = date(2026, 1, 10)


def outlook(*inbound: tuple[str, int, int], lead: int | None = None) -> Outlook:
    """Inbound supply as (po, day of January, units)."""
    return Outlook(
        TODAY, tuple(Inbound(po, date(2026, 1, day), units) for po, day, units in inbound), lead
    )


def test_a_line_gets_the_date_of_the_purchase_order_covering_its_last_unit() -> None:
    supply = outlook(("PO-1", 15, 10), ("PO-2", 20, 10), lead=30)
    queue = [Queued(1, 4), Queued(2, 6), Queued(3, 5), Queued(4, 5), Queued(5, 1)]
    assert dict(expected_dates(queue, supply)) == {
        1: date(2026, 1, 15),
        2: date(2026, 1, 15),  # units 5-10: the last of PO-1
        3: date(2026, 1, 20),  # units 11-15
        4: date(2026, 1, 20),  # units 16-20: the last of PO-2
        5: date(2026, 2, 9),  # beyond all supply: today + 30 days
    }


def test_a_line_split_across_two_purchase_orders_waits_for_the_second() -> None:
    supply = outlook(("PO-1", 15, 3), ("PO-2", 20, 3))
    assert dict(expected_dates([Queued(1, 2), Queued(2, 3)], supply)) == {
        1: date(2026, 1, 15),
        2: date(2026, 1, 20),
    }


def test_without_supply_or_lead_time_the_date_is_unknown() -> None:
    assert dict(expected_dates([Queued(1, 1)], outlook())) == {1: None}


def test_a_late_purchase_order_is_expected_today_at_the_earliest() -> None:
    assert dict(expected_dates([Queued(1, 1)], outlook(("PO-1", 2, 5)))) == {1: TODAY}


@given(
    st.lists(st.integers(1, 20), max_size=30),
    st.lists(st.tuples(st.integers(11, 31), st.integers(1, 30)), max_size=6),
)
def test_dates_never_go_back_along_the_queue(
    waiting: list[int], supply: list[tuple[int, int]]
) -> None:
    inbound = sorted((day, units) for day, units in supply)
    view = outlook(*((f"PO-{i}", d, u) for i, (d, u) in enumerate(inbound)), lead=60)
    dates = [d for _, d in expected_dates([Queued(i, w) for i, w in enumerate(waiting)], view)]
    assert all(d is not None for d in dates)
    assert dates == sorted(dates)  # type: ignore[type-var]
    # the walk agrees with the date of the n-th unit
    through = 0
    for units, day in zip(waiting, dates, strict=True):
        through += units
        assert view.date_for(through) == day


def test_available_to_promise_counts_what_the_queue_has_not_claimed() -> None:
    supply = outlook(("PO-1", 15, 10), ("PO-2", 20, 10), ("PO-3", 20, 5))
    points = available_to_promise(available=0, waiting=12, outlook=supply)
    assert [(p.on, p.units) for p in points] == [(date(2026, 1, 20), 13)]
    points = available_to_promise(available=3, waiting=0, outlook=supply)
    assert [(p.on, p.units) for p in points] == [
        (TODAY, 3),
        (date(2026, 1, 15), 13),
        (date(2026, 1, 20), 28),
    ]


def test_acceptance_policy() -> None:
    known = product(require_known_date=True)
    assert acceptance_refusal(known, None, outlook()) is Refusal.NO_KNOWN_DATE
    assert acceptance_refusal(known, date(2026, 3, 1), outlook()) is None
    capped = product(max_lead_days=14)
    assert acceptance_refusal(capped, date(2026, 1, 24), outlook()) is None
    assert acceptance_refusal(capped, date(2026, 1, 25), outlook()) is Refusal.LEAD_TIME_TOO_LONG
    assert acceptance_refusal(capped, None, outlook()) is Refusal.LEAD_TIME_TOO_LONG
    picky = product(min_on_time_percent=80)
    shaky = Outlook(TODAY, (), 10, Decimal("75.0"))
    assert acceptance_refusal(picky, date(2026, 1, 20), shaky) is Refusal.SUPPLIER_UNRELIABLE
    unknown_record = Outlook(TODAY, (), 10, None)
    assert acceptance_refusal(picky, date(2026, 1, 20), unknown_record) is None


def test_a_refused_backorder_is_cancelled_with_the_policy_reason() -> None:
    capped = product(max_lead_days=7)
    stock = StockLevel(on_hand=2, backordered=10)
    supply = outlook(("PO-1", 15, 10), ("PO-2", 25, 10))
    # behind nobody: units 11-13 fall on PO-2, 15 days out
    split = split_line(5, capped, stock, 0, jan(10), (supply, 0))
    assert (split.allocate, split.backorder, split.cancel) == (2, 0, 3)
    assert split.refusal is Refusal.LEAD_TIME_TOO_LONG
    # ranked ahead of the 10 waiting units: PO-1 covers it in 5 days
    split = split_line(5, capped, stock, 0, jan(10), (supply, 10))
    assert (split.allocate, split.backorder, split.eta) == (2, 3, date(2026, 1, 15))


def test_on_time_record_and_slips() -> None:
    assert on_time_percent(0, 0) is None
    assert on_time_percent(3, 2) == Decimal("66.7")
    assert not slipped(date(2026, 1, 15), date(2026, 1, 17), 2)
    assert slipped(date(2026, 1, 15), date(2026, 1, 18), 2)
    assert slipped(date(2026, 1, 15), date(2026, 1, 12), 2)
    assert slipped(None, date(2026, 1, 15), 2)
    assert slipped(date(2026, 1, 15), None, 2)
    assert not slipped(None, None, 2)
