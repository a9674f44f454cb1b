"""The restock decision on hand-computed fixtures: MOQ and pack rounding, the supplier by
expected cost (a cheaper but late supplier loses to a dearer punctual one when backorders
cost more, and wins when they do not), a transfer preferred to a purchase when cheaper, a
transfer too small not offered, reasons that carry the numbers; and the need read off a
projection (when, how many). Today: Monday 5 January 2026."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backorder.domain.projection import project
from backorder.domain.replenishment import (
    Lateness,
    Need,
    Option,
    choose,
    expected_short,
    order_units,
    units_needed,
)
from backorder.domain.replenishment_need import Curve, Figures, Rules, find_need
from backorder.words import money

TODAY = date(2026, 1, 5)
NEED = Need(
    sku="FILTER-10",
    today=TODAY,
    need_by=date(2026, 1, 15),  # 10 days from today
    units=100,
    daily_demand=6.0,
    unit_price=Decimal("30.00"),
)
FILTERCO = Option("purchase", "FILTERCO", "FilterCo", Decimal("10.00"), 7, preferred=True)
CLEARFLOW = Option("purchase", "CLEARFLOW", "ClearFlow", Decimal("10.40"), 5)


def usd(amount: Decimal) -> str:
    return money(amount, "USD")


@pytest.mark.parametrize(
    ("units", "moq", "pack", "ordered"),
    [
        (1, 1, 1, 1),
        (7, 10, 1, 10),  # up to the minimum order
        (7, 1, 6, 12),  # up to whole packs
        (23, 10, 6, 24),  # the minimum first, then packs
        (7, 10, 6, 12),  # the minimum 10 in packs of 6: 12
        (60, 50, 25, 75),
    ],
)
def test_order_units_round_up_to_the_minimum_then_to_packs(
    units: int, moq: int, pack: int, ordered: int
) -> None:
    assert order_units(units, moq, pack) == ordered


def test_units_needed_cover_the_review_and_the_safety_stock_less_what_is_there() -> None:
    assert units_needed(24.0, 4, 8.0) == 20
    assert units_needed(24.0, 4, -9.5) == 38  # the backorders piled up by then are covered
    assert units_needed(10.0, 2, 30.0) == 0
    with pytest.raises(ValueError):
        units_needed(float("nan"), 0, 0)


def test_expected_short_counts_a_days_demand_for_every_day_late_over_the_distribution() -> None:
    # FilterCo: 7 days' lead + 0, 3 or 9 days late -> 12 Jan, 15 Jan, 21 Jan against the 15th:
    # 0, 0 and 6 days short: 2 days on average x 6 a day = 12 units
    late = Option("purchase", "F", "F", Decimal(1), 7, Lateness((0, 3, 9)))
    assert expected_short(late, NEED, 100) == pytest.approx(12.0)
    # a fill rate of 0.9 leaves a tenth undelivered as well
    partial = Option("purchase", "F", "F", Decimal(1), 7, Lateness((0,), 0.9))
    assert expected_short(partial, NEED, 100) == pytest.approx(10.0)


def test_a_cheaper_late_supplier_loses_when_backorders_cost_more_and_wins_when_they_do_not() -> (
    None
):
    late = Option(
        "purchase", "FILTERCO", "FilterCo", Decimal("10.00"), 7, Lateness((2, 9, 9)), preferred=True
    )
    # FilterCo arrives 14, 21, 21 Jan: 0, 6, 6 days short, mean 4 x 6 = 24 units expected to
    # wait = 720.00 of sales; ClearFlow (5 days, on time): 10 Jan, nothing waits.
    # share 0.25: FilterCo 1,000 + 180 = 1,180.00 > ClearFlow 1,040.00
    dear = choose(NEED, [late, CLEARFLOW], Decimal("0.25"), usd)
    assert dear is not None and dear.chosen.option.source == "CLEARFLOW"
    assert [w.expected_cost for w in dear.weighed] == [Decimal("1040.00"), Decimal("1180.00")]
    # share 0: only the price counts: FilterCo 1,000.00 < 1,040.00
    free = choose(NEED, [late, CLEARFLOW], Decimal("0"), usd)
    assert free is not None and free.chosen.option.source == "FILTERCO"
    assert dear.reasons[2] == (
        "FilterCo cannot deliver before 21 Jan (p90 lateness 9 days); ClearFlow can by 10 Jan "
        "at +4 % cost, which avoids 24 units ($720.00) of backorders."
    )


def test_ties_go_to_the_preferred_supplier() -> None:
    twin = Option("purchase", "TWIN", "Twin", Decimal("10.00"), 7)
    chosen = choose(NEED, [twin, FILTERCO], Decimal("0.25"))
    assert chosen is not None and chosen.chosen.option.source == "FILTERCO"


def test_a_transfer_is_preferred_to_a_purchase_when_cheaper_and_a_small_one_is_not_offered() -> (
    None
):
    east = Option("transfer", "east", "East 3PL", Decimal("0.50"), 3, max_units=150)
    found = choose(NEED, [FILTERCO, east], Decimal("0.25"), usd)
    assert found is not None and found.chosen.option.kind == "transfer"
    assert found.chosen.units == 100 and found.chosen.purchase == Decimal("50.00")
    assert found.reasons[1] == (
        "Transfer 100 from East 3PL: it can spare 150 and they arrive by 8 Jan, for $50.00."
    )
    small = Option("transfer", "west", "West", Decimal("0.10"), 1, max_units=99)
    only = choose(NEED, [FILTERCO, small], Decimal("0.25"))
    assert only is not None and [w.option.source for w in only.weighed] == ["FILTERCO"]
    assert choose(NEED, [small], Decimal("0.25")) is None


def test_the_reasons_carry_the_numbers() -> None:
    packed = Option(
        "purchase", "FILTERCO", "FilterCo", Decimal("10.00"), 12, moq=120, pack=25, preferred=True
    )
    found = choose(NEED, [packed], Decimal("0.25"), usd)
    assert found is not None
    # 12 days: the 17th, 2 days after the need: 12 units wait ($360.00)
    assert found.reasons == (
        "FILTER-10 is projected to run out in the week of 15 Jan.",
        "Order 125 from FilterCo at $10.00 each ($1,250.00), 100 needed, rounded up to minimum "
        "order 120 and packs of 25: expected by 17 Jan (no delivery record yet, taken as on "
        "time).",
        "Even so, 12 units ($360.00) are expected to wait.",
    )


def _curve(start: int, weekly: float, inbound: list[tuple[date, int]]) -> Curve:
    points = [weekly] * 8
    return Curve(project(start, TODAY, points, inbound, (4, 7.0, TODAY)), points, weekly)


FIGURES = Figures(
    safety_stock=4,
    reorder_point=18,
    lead_days=7.0,
    inbound=0,
    unit_price=Decimal("20"),
    mean_weekly=14.0,
)


def test_a_stockout_due_within_the_slack_is_a_need_read_off_the_projection() -> None:
    # 30 free, 14 a week (2 a day): 16, 2, -12 in the week of 19 Jan; order by the 12th,
    # within 7 days of today. Arrival 12 Jan: level 16; demand 12-25 Jan: 28; 28 + 4 - 16 = 16
    found = find_need("S", TODAY, _curve(30, 14.0, []), FIGURES, Rules(review_days=14))
    assert found is not None
    need = found.need
    assert (need.cause, need.need_by, need.units, need.daily_demand) == (
        "stockout",
        date(2026, 1, 19),
        16,
        2.0,
    )
    assert (found.arrival, found.level_at_arrival, found.cover_demand) == (
        date(2026, 1, 12),
        16.0,
        28.0,
    )


def test_no_need_while_the_stockout_is_beyond_the_slack_and_stock_is_above_the_reorder_point() -> (
    None
):
    # 60 free: runs out in the week of 2 Feb, order by 26 Jan: not yet; position 60 > 18
    assert find_need("S", TODAY, _curve(60, 14.0, []), FIGURES, Rules(14)) is None
    # safety stock 40, reorder point 60: due, and needed this week (46 by its end);
    # arrival 12 Jan at 46: 28 + 40 - 46 = 22
    high = Figures(40, 60, 7.0, 0, Decimal("20"), 14.0)
    found = find_need("S", TODAY, _curve(60, 14.0, []), high, Rules(14))
    assert found is not None
    assert (found.need.cause, found.need.need_by, found.need.units) == ("reorder_point", TODAY, 22)
    # but no order when the stock at arrival already covers it (safety stock 4: 28 + 4 < 46)
    low = Figures(4, 60, 7.0, 0, Decimal("20"), 14.0)
    assert find_need("S", TODAY, _curve(60, 14.0, []), low, Rules(14)) is None


def test_supply_on_order_counts_in_the_position_and_at_arrival() -> None:
    # 30 free and 40 arriving on the 7th: no stockout; position 70 > 18: no need
    inbound = [(date(2026, 1, 7), 40)]
    figures = Figures(4, 18, 7.0, 40, Decimal("20"), 14.0)
    assert find_need("S", TODAY, _curve(30, 14.0, inbound), figures, Rules(14)) is None


def test_less_than_a_unit_expected_to_wait_is_said_so_not_as_zero_units() -> None:
    # 15 days' lead + 0 or 1 day late: the 20th or 21st against the 20th, 0 or 1 day short, half a
    # day on average x 0.8 a day = 0.4 units ($12.00)
    slow = Option("purchase", "S", "Slow", Decimal("1.00"), 15, Lateness((0, 1)))
    need = Need("S-1", TODAY, date(2026, 1, 20), 10, 0.8, Decimal("30.00"))
    found = choose(need, [slow], Decimal("0.25"), usd)
    assert found is not None and found.chosen.expected_short == pytest.approx(0.4)
    assert found.reasons[-1] == "Even so, less than a unit ($12.00) is expected to wait."
