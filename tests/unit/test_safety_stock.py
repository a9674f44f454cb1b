"""Safety stock, reorder point and the projection on hand-computed fixtures, and their
properties on random histories: never negative, never NaN."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backorder.domain.demand import classify
from backorder.domain.projection import monday, project
from backorder.domain.safety_stock import (
    ASSUMED_LEAD_DAYS,
    LeadTime,
    lead_time_of,
    lead_time_quantile,
    safety_stock,
)

MONDAY = date(2026, 1, 5)


def test_smooth_demand_takes_the_normal_approximation_with_lead_time_spread() -> None:
    # d-bar 10/week, sigma_d 4, L 2 weeks, sigma_L half a week, 95 %: z = 1.6449
    # v = 2 * 16 + 100 * 0.25 = 57; z * sqrt(57) = 12.42 -> 13; lead-time demand 20
    found = safety_stock(10, 4, LeadTime(14, 3.5, "history", 5), 0.95, "smooth")
    assert found.method == "normal"
    assert found.z == pytest.approx(1.6449, abs=1e-4)
    assert found.lead_time_sd == pytest.approx(math.sqrt(57))
    assert (found.safety_stock, found.reorder_point) == (13, 33)


def test_a_fixed_lead_time_leaves_only_the_demand_term() -> None:
    # z(0.9) = 1.2816; sqrt(3 * 2^2) = 3.464 -> 4.44 -> 5; lead-time demand 15
    found = safety_stock(5, 2, LeadTime(21, 0, "supplier"), 0.9, "erratic")
    assert (found.safety_stock, found.reorder_point) == (5, 20)


def test_intermittent_demand_takes_the_negative_binomial_quantile() -> None:
    # mu = 4 * 0.5 = 2, v = 4 * 1 = 4: negative binomial r = 2, p = 0.5,
    # P(X <= k) = .25 .5 .6875 .8125 .890625 .9375 .96484: the 95 % quantile is 6
    found = safety_stock(0.5, 1, LeadTime(28, 0, "supplier"), 0.95, "intermittent")
    assert found.method == "quantile"
    assert (found.safety_stock, found.reorder_point) == (4, 6)
    assert lead_time_quantile(2, 4, 0.9) == 5  # .890625 < .9 <= .9375


def test_under_dispersed_intermittent_demand_takes_the_poisson_quantile() -> None:
    # mu = 2, v = 2 * 0.25 = 0.5 <= mu: Poisson(2), P(X <= 4) = .947, P(X <= 5) = .983
    found = safety_stock(1, 0.5, LeadTime(14, 0, "product"), 0.95, "lumpy")
    assert (found.method, found.safety_stock, found.reorder_point) == ("quantile", 3, 5)


def test_a_very_large_lead_time_demand_falls_back_to_the_gamma_quantile() -> None:
    found = lead_time_quantile(5_000_000, 6_000_000, 0.95)
    normal = 5_000_000 + 1.6449 * math.sqrt(6_000_000)
    assert found == pytest.approx(normal, rel=1e-3)


def test_no_demand_needs_no_safety_stock() -> None:
    found = safety_stock(0, 0, LeadTime(14, 2, "history", 3), 0.98, "none")
    assert (found.method, found.safety_stock, found.reorder_point) == ("none", 0, 0)


@pytest.mark.parametrize(
    ("mean", "sd", "level", "problem"),
    [
        (float("nan"), 1, 0.95, "mean demand"),
        (-1, 1, 0.95, "mean demand"),
        (1, float("inf"), 0.95, "demand spread"),
        (1, 1, 1.0, "service level"),
        (1, 1, 0.3, "service level"),
    ],
)
def test_bad_inputs_are_refused_in_words(
    mean: float, sd: float, level: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        safety_stock(mean, sd, LeadTime(7, 0, "supplier"), level, "smooth")


def test_the_lead_time_is_measured_once_there_are_enough_lines() -> None:
    assert lead_time_of((3, 12.0, 2.0), 20, "supplier", 3) == LeadTime(12, 2, "history", 3)
    assert lead_time_of((2, 12.0, 2.0), 20, "supplier", 3) == LeadTime(20, 0, "supplier", 2)
    assert lead_time_of(None, None, "supplier", 3) == LeadTime(ASSUMED_LEAD_DAYS, 0, "assumed")


def test_the_projection_finds_the_stockout_the_week_below_safety_and_the_order_date() -> None:
    # free now: 30 on hand - 5 allocated - 5 waiting = 20; 8 a week; 10 arrive on the
    # Wednesday of the third week: 12, 4, 6, -2
    found = project(20, MONDAY, [8, 8, 8, 8], [(date(2026, 1, 21), 10)], (5, 10, MONDAY))
    assert [w.available for w in found.weeks] == [12, 4, 6, -2]
    assert [w.inbound for w in found.weeks] == [0, 0, 10, 0]
    assert found.below_safety == date(2026, 1, 12)
    stockout = found.stockout
    assert stockout is not None
    assert (stockout.week, stockout.units_short) == (date(2026, 1, 26), 2)
    assert stockout.arrive_by == date(2026, 1, 26)
    assert stockout.order_by == date(2026, 1, 16)  # ten days before
    assert not stockout.late


def test_overdue_supply_counts_in_the_first_week_and_supply_beyond_is_left_out() -> None:
    found = project(
        0, MONDAY, [1, 1], [(date(2025, 12, 1), 3), (date(2026, 3, 2), 50)], (0, 7, MONDAY)
    )
    assert [w.available for w in found.weeks] == [2, 1]
    assert found.stockout is None and found.below_safety is None


def test_waiting_beyond_the_free_stock_is_a_stockout_now_and_ordering_is_late() -> None:
    found = project(-3, MONDAY, [0.5], [], (0, 14, MONDAY + timedelta(days=2)))
    assert found.stockout is not None
    assert (found.stockout.units_short, found.stockout.late) == (4, True)


def test_fractional_demand_short_by_a_fraction_is_one_unit_short() -> None:
    found = project(2, MONDAY, [1.2, 1.2], [], (0, 0, MONDAY))
    assert found.stockout is not None and found.stockout.units_short == 1


def test_the_weeks_start_on_a_monday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        project(1, MONDAY + timedelta(days=1), [1], [], (0, 0, MONDAY))
    assert monday(date(2026, 1, 11)) == MONDAY


histories = st.lists(
    st.one_of(st.just(0), st.integers(0, 40), st.integers(0, 5000)), min_size=0, max_size=60
)


def _forecast_of(history: list[int]) -> tuple[float, float, list[float]]:
    """A plain stand-in for a forecast: the mean per week, the spread of one-week naive
    errors, and the mean carried forward (the forecaster has its own tests)."""
    mean = statistics.fmean(history) if history else 0.0
    errors = [b - a for a, b in pairwise(history)]
    spread = statistics.pstdev(errors) if errors else 0.0
    return mean, spread, [mean] * 12


@settings(max_examples=200, deadline=None)
@given(
    history=histories,
    lead_days=st.floats(0, 200),
    lead_sd=st.floats(0, 60),
    level=st.floats(0.5, 0.999),
    start=st.integers(-500, 5000),
    arrivals=st.lists(st.tuples(st.integers(-20, 120), st.integers(0, 500)), max_size=5),
)
def test_safety_stock_and_projection_are_never_negative_nor_nan_on_random_histories(
    history: list[int],
    lead_days: float,
    lead_sd: float,
    level: float,
    start: int,
    arrivals: list[tuple[int, int]],
) -> None:
    mean, spread, points = _forecast_of(history)
    demand_class = classify(history).demand_class
    lead = LeadTime(lead_days, lead_sd, "history", 3)
    found = safety_stock(mean, spread, lead, level, demand_class)
    assert found.safety_stock >= 0 and found.reorder_point >= found.safety_stock
    assert not math.isnan(found.lead_time_sd) and not math.isnan(found.z)
    inbound = [(MONDAY + timedelta(days=d), u) for d, u in arrivals]
    projection = project(start, MONDAY, points, inbound, (found.safety_stock, lead_days, MONDAY))
    assert all(not math.isnan(w.available) and w.demand >= 0 for w in projection.weeks)
    cumulative = start + sum(w.inbound for w in projection.weeks) - sum(points)
    assert projection.weeks[-1].available == pytest.approx(cumulative, abs=1e-6)
    if projection.stockout is not None:
        assert projection.stockout.units_short >= 1
        assert projection.stockout.order_by <= projection.stockout.arrive_by
        assert projection.stockout.week >= MONDAY


def test_only_the_rest_of_the_current_week_is_still_to_come() -> None:
    """On a Friday, three days of the week's 7 units remain (Friday to Sunday): 10 - 3 = 7,
    then a whole week of 7 more; a week not yet begun counts whole."""
    week = date(2026, 1, 5)
    friday = week + timedelta(days=4)
    found = project(10, week, [7.0, 7.0], [], (0, 7.0, friday))
    assert [(w.demand, w.available) for w in found.weeks] == [(3.0, 7.0), (7.0, 0.0)]
    assert found.stockout is None
    ahead = project(10, week, [7.0, 7.0], [], (0, 7.0, week - timedelta(days=1)))
    assert [w.available for w in ahead.weeks] == [3.0, -4.0]
