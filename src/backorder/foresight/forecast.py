"""Forecasts of demand per period with prediction intervals, by a method chosen for the
SKU's demand class and its back-tested error.

Input: a history of units per period, oldest first (numpy array). Output: `Forecast`: per
future period the expected demand (`point`, the mean: what stock planning and safety stock
add up), the `median` (what minimises the expected absolute error, so what an MAE- or
MASE-scored evaluation should be given: for most intermittent series it is 0) and the 80 %
and 95 % intervals, never below zero.

How:
1. The demand class (Syntetos-Boylan, `domain.demand`) names a few candidate methods from
   statsforecast (ETS and SES for smooth demand, ADIDA, IMAPA, SBA and TSB for intermittent).
2. Back-test: each candidate forecasts the last periods of the history (up to `horizon`,
   at most a quarter of it) from the rest; the one with the least mean absolute error wins
   and is refitted on the whole history. Its errors there are `backtest_mae`, `_mase` and
   `error_sd`: nothing after the history is looked at.
3. Predictive distribution around the point: demand is a count, so a negative binomial
   whose variance is the back-test's mean squared error (Poisson if that is no wider than
   the mean); demand steadier than Poisson (a constant series) gets a normal band of that
   error instead. The median and interval bounds are its quantiles.

Short histories never fail: no history, or fewer than `MIN_HISTORY` periods, give the
method `new` (the mean of what there is, Poisson around it); no demand at all gives `zero`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from scipy import stats
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonSBA,
    SeasonalNaive,
    SimpleExponentialSmoothingOptimized,
    WindowAverage,
)

from backorder.domain.demand import DemandClass, classify

LEVELS = (80, 95)
# quantiles of the predictive distribution: median, then each level's lower and upper bound
QUANTILES = (0.5, 0.10, 0.90, 0.025, 0.975)
MIN_HISTORY = 4  # fewer periods than this: a new SKU, no method is fitted
MIN_BACKTEST = 8  # fewer periods than this: no back-test, the class's first method
WEEKS_PER_YEAR = 52
MAX_ETS_SEASON = 24
RECENT = 26  # periods of history whose variance the bands are never narrower than

Array = np.ndarray[Any, np.dtype[np.float64]]
Model = Callable[[], Any]
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Forecast:
    """What a method expects of the next periods, and how well it did on held-out history."""

    method: str
    demand_class: DemandClass
    adi: float | None
    cv2: float | None
    point: Array  # expected demand per period (the mean)
    lo80: Array
    hi80: Array
    lo95: Array
    hi95: Array
    history_periods: int
    backtest_mae: float | None  # mean absolute error over the held-out periods
    backtest_mase: float | None  # that error over the in-sample one-step naive error
    mean_demand: float  # d-bar per period over the history
    error_sd: float  # sigma_d: root mean square of the back-test's forecast errors
    median: Array  # the median per period: the forecast to give an absolute-error score
    backtest_periods: int = 0  # how many periods the back-test held out


def _candidates(demand_class: DemandClass, season_length: int) -> dict[str, Model]:
    """The methods worth trying for a demand class, the class's usual choice first."""
    # ETS fits one seasonal state per period of the season: fine for months, far too slow
    # (and too many states) for 52 weeks, where the seasonal naive forecast stands in
    ets_season = season_length if season_length <= MAX_ETS_SEASON else 1
    smooth: dict[str, Model] = {
        # additive errors only: a third of the time of also trying multiplicative ones
        "ets": lambda: AutoETS(model="AZZ" if ets_season > 1 else "AZN", season_length=ets_season),
        "ses": SimpleExponentialSmoothingOptimized,
    }
    if season_length > 1:
        smooth["seasonal_naive"] = lambda: SeasonalNaive(season_length=season_length)
    by_class: dict[DemandClass, dict[str, Model]] = {
        "smooth": smooth,
        "erratic": {
            "ses": SimpleExponentialSmoothingOptimized,
            "adida": ADIDA,
            "window_average": lambda: WindowAverage(
                window_size=max(MIN_BACKTEST // 2, season_length)
            ),
        },
        "intermittent": {
            "adida": ADIDA,
            "imapa": IMAPA,
            "croston_sba": CrostonSBA,
            "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
        },
        "lumpy": {
            "adida": ADIDA,
            "imapa": IMAPA,
            "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
        },
        "none": {},
    }
    return by_class[demand_class]


def _mean(model: Model, history: Array, horizon: int) -> Array:
    """A statsforecast model's mean forecast, cleaned: finite and never below zero."""
    if not history.any():
        return np.zeros(horizon)
    try:
        with warnings.catch_warnings():  # a degenerate fit warns, then is cleaned below
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = model().forecast(y=history, h=horizon)["mean"]
    except (
        ValueError,
        ZeroDivisionError,
        FloatingPointError,
        NotImplementedError,  # statsforecast's ETS on "tiny datasets"
        np.linalg.LinAlgError,
    ):
        # a model that cannot fit this history (too short for its seasons, degenerate)
        # falls back to the history's average rather than failing the SKU
        return np.full(horizon, float(history.mean()))
    mean = np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(mean, 0.0, None)


def _season(history: Array, season_length: int | None) -> int:
    """The season to try: as asked, else a year of weeks once there are two years of them."""
    if season_length is not None:
        return max(1, season_length)
    return WEEKS_PER_YEAR if len(history) >= 2 * WEEKS_PER_YEAR else 1


def _quantiles(point: Array, variance: float) -> list[Array]:
    """The `QUANTILES` of the predictive distribution per period around `point`, with
    `variance` at the mean level: a count (negative binomial, or Poisson), whose variance
    grows with each period's mean; steadier than Poisson, whole units of a normal."""
    level = float(point.mean()) if len(point) else 0.0
    if level <= 0.0:
        return [np.zeros_like(point) for _ in QUANTILES]
    if variance < level:  # steadier than a Poisson count: whole units of a normal band
        sd = np.sqrt(variance)
        return [np.clip(np.round(point + stats.norm.ppf(q) * sd), 0.0, None) for q in QUANTILES]
    dispersion = variance / level  # variance per unit of mean, as a count's variance grows
    mean = np.maximum(point, 1e-12)
    if dispersion <= 1.0 + 1e-9:
        return [np.asarray(stats.poisson.ppf(q, mean), dtype=np.float64) for q in QUANTILES]
    size = mean / (dispersion - 1.0)  # variance = mean + mean² / size = dispersion * mean
    chance = size / (size + mean)
    return [np.asarray(stats.nbinom.ppf(q, size, chance), dtype=np.float64) for q in QUANTILES]


def _spread(history: Array, demand_class: DemandClass, mse: float, point: Array) -> float:
    """The variance of one period's demand around the point: the back-test's mean squared
    error, but no less than the recent history's spread about its level (a short back-test can
    miss the spikes) and, for intermittent and lumpy demand, no less than a Poisson count's (a
    back-test that saw no demand says nothing about when the next one comes)."""
    variance = mse
    if len(history) >= 3:  # half the variance of the changes: a level's, without its trend
        variance = max(variance, float(np.diff(history[-RECENT:]).var()) / 2)
    if demand_class in ("intermittent", "lumpy") and len(point):
        variance = max(variance, float(point.mean()) * (1.0 + 1e-6))
    return variance


def _backtest(history: Array, horizon: int, methods: Mapping[str, Model]) -> tuple[str, Array, int]:
    """The method whose forecast of the held-out end of the history erred least, its errors
    there, and how many periods were held out."""
    held = max(1, min(horizon, len(history) // 4))  # one period even for a horizon of 0
    fit, test = history[:-held], history[-held:]
    best, errors = "", np.zeros(0)
    for name, model in methods.items():
        trial = test - _mean(model, fit, held)
        if not best or np.abs(trial).mean() < np.abs(errors).mean():
            best, errors = name, trial
    return best, errors, held


def forecast(history: Array, horizon: int, *, season_length: int | None = None) -> Forecast:
    """The forecast of the next `horizon` periods from a history of units per period.

    `season_length`: periods per season to try (for weekly history by default 52 once there
    are two years of it, else none)."""
    history = np.clip(np.nan_to_num(np.asarray(history, dtype=np.float64).ravel()), 0.0, None)
    horizon = max(0, int(horizon))
    pattern = classify(history.tolist())
    periods = len(history)
    mean_demand = float(history.mean()) if periods else 0.0
    methods = _candidates(pattern.demand_class, _season(history, season_length))
    errors: Array = np.zeros(0)
    held = 0
    if not methods:
        method, point = "zero", np.zeros(horizon)
    elif periods < MIN_HISTORY:
        method, point = "new", np.full(horizon, mean_demand)
    else:
        method = next(iter(methods))
        if periods >= MIN_BACKTEST:
            method, errors, held = _backtest(history, horizon, methods)
        point = _mean(methods[method], history, horizon)
    mae = float(np.abs(errors).mean()) if held else None
    scale = float(np.abs(np.diff(history[:-held])).mean()) if held else 0.0
    if held:
        error_sd = float(np.sqrt(np.mean(errors**2)))
    elif periods >= 2:
        error_sd = float(history.std(ddof=1))
    else:
        error_sd = float(np.sqrt(mean_demand))  # one period or none: a Poisson guess
    variance = _spread(history, pattern.demand_class, error_sd**2, point)
    median, lo80, hi80, lo95, hi95 = _quantiles(point, variance)
    return Forecast(
        method=method,
        demand_class=pattern.demand_class,
        adi=pattern.adi,
        cv2=pattern.cv2,
        point=point,
        # a count's quantile can fall on the other side of a small mean; a band that holds
        # the expected demand reads right (lo ≤ point ≤ hi)
        lo80=np.minimum(lo80, point),
        hi80=np.maximum(hi80, point),
        lo95=np.minimum(lo95, point),
        hi95=np.maximum(hi95, point),
        history_periods=periods,
        backtest_mae=mae,
        backtest_mase=mae / scale if mae is not None and scale > 0 else None,
        mean_demand=mean_demand,
        error_sd=error_sd,
        median=median,
        backtest_periods=held,
    )


def forecast_many(
    histories: Mapping[Key, Array], horizon: int, *, season_length: int | None = None
) -> dict[Key, Forecast]:
    """Forecasts for many series at once, by key (a SKU, or a SKU and a location)."""
    return {
        key: forecast(history, horizon, season_length=season_length)
        for key, history in histories.items()
    }
