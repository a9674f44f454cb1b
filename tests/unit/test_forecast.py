"""The forecaster on series whose answer is known by hand, and on any history at all: a
forecast is never negative or NaN, its bands hold the expected demand, and a new SKU with
little or no history gets a forecast rather than an error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backorder.foresight.forecast import Forecast, forecast, forecast_many

BANDS = ("lo95", "lo80", "median", "hi80", "hi95")


def series(*units: float) -> np.ndarray:
    return np.array(units, dtype=np.float64)


def test_a_constant_series_forecasts_that_constant_with_no_spread() -> None:
    result = forecast(series(*[5] * 20), 6)
    assert result.demand_class == "smooth"
    assert result.point == pytest.approx([5.0] * 6)
    assert result.median == pytest.approx([5.0] * 6)
    assert (result.lo95, result.hi95) == (pytest.approx([5.0] * 6), pytest.approx([5.0] * 6))
    assert result.backtest_mae == pytest.approx(0.0, abs=1e-9)
    assert result.error_sd == pytest.approx(0.0, abs=1e-9)
    assert result.mean_demand == 5.0


def test_a_pure_intermittent_series_expects_its_rate_and_mostly_nothing() -> None:
    # 2 units every fourth period: half a unit per period on average, but any one period
    # most likely sees none, so the median is 0 and only the upper bands reach a demand
    result = forecast(series(*[0, 0, 0, 2] * 6), 4)
    assert result.demand_class == "intermittent"
    assert result.method in ("adida", "imapa", "croston_sba", "tsb")
    assert result.point == pytest.approx([0.5] * 4, abs=0.1)
    assert list(result.median) == [0.0] * 4
    assert list(result.lo80) == [0.0] * 4
    assert all(result.hi95 >= 2)


def test_a_trend_is_carried_forward() -> None:
    # 10, 12, …, 56: the back-test prefers ETS with a trend to a flat SES
    result = forecast(series(*range(10, 58, 2)), 3)
    assert result.method == "ets"
    assert result.point == pytest.approx([58.0, 60.0, 62.0], abs=0.5)
    assert result.backtest_mae == pytest.approx(0.0, abs=0.5)


def test_the_back_test_looks_only_at_the_history() -> None:
    history = series(*[0, 0, 0, 2] * 6)
    result = forecast(history, 12)
    assert result.backtest_periods == len(history) // 4  # at most a quarter held out
    assert result.history_periods == 24


@pytest.mark.parametrize(
    ("units", "method"),
    [((), "zero"), ((0, 0), "zero"), ((3,), "new"), ((1, 0, 2), "new"), ((0,) * 30, "zero")],
)
def test_a_new_or_silent_sku_gets_a_forecast_not_an_error(
    units: tuple[float, ...], method: str
) -> None:
    result = forecast(series(*units), 5)
    assert result.method == method
    assert len(result.point) == 5
    assert result.point == pytest.approx([np.mean(units) if units else 0.0] * 5)
    assert result.backtest_mae is None


def test_a_season_of_52_is_tried_only_with_two_years_of_weeks() -> None:
    year = [20.0 + 10.0 * math.sin(2 * math.pi * week / 52) for week in range(52)]
    result = forecast(series(*(year * 2 + year[:8])), 4)
    assert result.demand_class == "smooth"
    assert result.point == pytest.approx(year[8:12], abs=3.0)  # the season, not a flat mean


def test_many_forecasts_by_key() -> None:
    results = forecast_many({"A": series(*[5] * 10), "B": series()}, 2)
    assert sorted(results) == ["A", "B"]
    assert results["B"].method == "zero"


def check(result: Forecast, horizon: int) -> None:
    arrays = [result.point, *(getattr(result, band) for band in BANDS)]
    for values in arrays:
        assert values.shape == (horizon,)
        assert np.isfinite(values).all()
        assert (values >= 0).all()
    assert (result.lo95 <= result.lo80).all() and (result.lo80 <= result.point).all()
    assert (result.point <= result.hi80).all() and (result.hi80 <= result.hi95).all()
    assert (result.lo80 <= result.median).all() and (result.median <= result.hi80).all()
    for figure in (result.backtest_mae, result.backtest_mase, result.error_sd):
        assert figure is None or (math.isfinite(figure) and figure >= 0)
    assert math.isfinite(result.mean_demand) and result.mean_demand >= 0


histories = st.one_of(
    st.lists(st.integers(0, 3), max_size=4),  # new SKUs
    st.lists(st.sampled_from([0, 0, 0, 0, 1, 2, 7]), max_size=80),  # intermittent
    st.lists(st.integers(0, 500), max_size=120),  # anything
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60),
)


@settings(max_examples=60, deadline=None)
@given(history=histories, horizon=st.integers(0, 26))
def test_forecasts_and_bands_are_never_negative_or_nan(history: list[float], horizon: int) -> None:
    check(forecast(series(*history), horizon), horizon)
