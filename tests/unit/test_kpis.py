"""The KPI rules that need no database: targets, percentiles to the hour, aging buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.kpis import (
    AGING,
    Direction,
    Facts,
    Spread,
    Target,
    Targets,
    aging_bounds,
    measure,
    ratio,
    shown,
    target_text,
)


def test_a_target_is_met_from_the_right_side() -> None:
    assert Target(0.95, Direction.AT_LEAST).met_by(0.95) is True
    assert Target(0.95, Direction.AT_LEAST).met_by(0.9499) is False
    assert Target(7, Direction.AT_MOST).met_by(7.0) is True
    assert Target(7, Direction.AT_MOST).met_by(7.01) is False


def test_no_target_or_no_figure_is_neither_met_nor_missed() -> None:
    assert Target(None, Direction.AT_LEAST).met_by(0.5) is None
    assert Target(0.95, Direction.AT_LEAST).met_by(None) is None


def test_a_ratio_of_nothing_is_no_figure() -> None:
    assert ratio(0, 0) is None
    assert ratio(2, 3) == 0.6667


def test_percentiles_are_nearest_rank_to_the_hour() -> None:
    spread = Spread()
    for days in (1.0, 2.0, 2.5, 10.0):
        spread.add(days)
    assert spread.mean() == 3.88
    assert spread.percentile(0.5) == 2.0  # rank 2 of 4
    assert spread.percentile(0.9) == 10.0  # rank 4 of 4
    assert Spread().percentile(0.5) is None


@given(st.lists(st.integers(min_value=0, max_value=24 * 400), min_size=1, max_size=50))
def test_whole_hour_percentiles_match_sorting(hours: list[int]) -> None:
    spread = Spread()
    for hour in hours:
        spread.add(hour / 24)
    ordered = sorted(hours)
    for share in (0.5, 0.9):
        rank = max(1, -(-len(hours) * share // 1))
        assert spread.percentile(share) == round(ordered[int(rank) - 1] / 24, 2)


def test_aging_buckets_cover_every_age_once() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    bounds = aging_bounds(now)
    assert [label for label, _, _ in bounds] == [label for label, _, _ in AGING]
    for days in (0, 7, 8, 14, 15, 30, 31, 400):
        waited_since = now - timedelta(days=days, minutes=1)
        hits = [
            label
            for label, earliest, latest in bounds
            if waited_since <= latest and (earliest is None or waited_since > earliest)
        ]
        assert len(hits) == 1, (days, hits)
    assert [b[0] for b in bounds if b[1] is None] == ["over 30"]


def test_every_kpi_says_its_value_target_and_verdict() -> None:
    figures = measure(Facts(orders=4, backordered_orders=1), Targets(backorder_rate=0.2))
    assert figures["backorder_rate"]["value"] == 0.25
    assert figures["backorder_rate"]["meets"] is False
    assert all({"value", "target", "meets"} <= kpi.keys() for kpi in figures.values())
    assert shown("backorder_rate", figures["backorder_rate"]) == "25.0%"
    assert target_text("backorder_rate", figures["backorder_rate"]) == "<= 20%"
    assert shown("money_on_backorder", figures["money_on_backorder"]) == "0"
