"""Forecasts of demand per period with prediction intervals, by a method chosen for the
SKU's demand class, each with its back-tested error.

Input: a history of units per period, oldest first (numpy array). Output: `Forecast`, the
point forecast and the 80 % and 95 % intervals per future period, never below zero."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from statsforecast.models import (
    TSB,
    AutoETS,
    CrostonSBA,
    SimpleExponentialSmoothingOptimized,
)

from backorder.domain.demand import DemandClass, classify

LEVELS = (80, 95)

Array = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Forecast:
    """What a method expects of the next periods, and how well it did on held-out history."""

    method: str
    demand_class: DemandClass
    adi: float | None
    cv2: float | None
    point: Array
    lo80: Array
    hi80: Array
    lo95: Array
    hi95: Array
    history_periods: int
    backtest_mae: float | None  # mean absolute error over the held-out periods
    backtest_mase: float | None  # that error over the in-sample one-step naive error
    mean_demand: float  # d-bar per period over the history
    error_sd: float  # sigma_d: the spread of one-period forecast errors


def _model(demand_class: DemandClass) -> Any:
    if demand_class == "smooth":
        return AutoETS(season_length=1)
    if demand_class == "erratic":
        return SimpleExponentialSmoothingOptimized()
    if demand_class == "intermittent":
        return CrostonSBA()
    return TSB(alpha_d=0.1, alpha_p=0.1)


def _method_name(demand_class: DemandClass) -> str:
    return {
        "smooth": "ets",
        "erratic": "ses",
        "intermittent": "croston_sba",
        "lumpy": "tsb",
        "none": "zero",
    }[demand_class]


def _point(history: Array, horizon: int, demand_class: DemandClass) -> Array:
    if demand_class == "none" or len(history) < 2:
        return np.zeros(horizon)
    mean = _model(demand_class).forecast(y=history, h=horizon)["mean"]
    return np.clip(np.nan_to_num(np.asarray(mean, dtype=np.float64)), 0.0, None)


def forecast(history: Array, horizon: int) -> Forecast:
    """The forecast of the next `horizon` periods from a history of units per period."""
    history = np.asarray(history, dtype=np.float64)
    pattern = classify(history.tolist())
    point = _point(history, horizon, pattern.demand_class)
    # back-test: hold out up to a quarter of the history (at most `horizon` periods)
    held = min(horizon, len(history) // 4)
    mae = mase = None
    errors: Array = np.zeros(0)
    if held >= 1:
        fit, test = history[:-held], history[-held:]
        past = _point(fit, held, classify(fit.tolist()).demand_class)
        errors = test - past
        mae = float(np.mean(np.abs(errors)))
        scale = float(np.mean(np.abs(np.diff(fit)))) if len(fit) > 1 else 0.0
        mase = mae / scale if scale > 0 else None
    mean_demand = float(history.mean()) if len(history) else 0.0
    error_sd = float(np.std(errors)) if len(errors) > 1 else float(np.std(history))
    # intervals: the normal approximation around the point, widening with the square root
    # of the step, cut at zero
    steps = np.sqrt(np.arange(1, horizon + 1))
    bands = {level: z * error_sd * steps for level, z in ((80, 1.2816), (95, 1.9600))}
    return Forecast(
        method=_method_name(pattern.demand_class),
        demand_class=pattern.demand_class,
        adi=pattern.adi,
        cv2=pattern.cv2,
        point=point,
        lo80=np.clip(point - bands[80], 0.0, None),
        hi80=point + bands[80],
        lo95=np.clip(point - bands[95], 0.0, None),
        hi95=point + bands[95],
        history_periods=len(history),
        backtest_mae=mae,
        backtest_mase=mase,
        mean_demand=mean_demand,
        error_sd=error_sd,
    )


def forecast_many(histories: Mapping[str, Array], horizon: int) -> dict[str, Forecast]:
    """Forecasts for many series at once, by key."""
    return {key: forecast(history, horizon) for key, history in histories.items()}
