"""Cross-series experiment on carparts: can one model learnt across all 2,674 series pick
each series' flat forecast better than forecasting zero? (It cannot, clearly: this script
shows how close it comes, honestly chosen.)

    python benchmarks/bench_forecast_global.py

The global model: for every series and every origin t inside the history (so that the 12
months after t are known too), features of the months up to t (means of the last 1, 2, 3,
6, 12 and 24 months, the share of months with demand over 6, 12, 24 and all of them, the
median, upper quartile and largest value of the last 12, months since the last demand,
ADI, CV² and the mean size of a demand, last year's mean, this year's over last year's, the
MASE scale, the length) and targets: the share of the next 12 months with at least k units,
k = 1, 2, 3. Three gradient-boosted regressors (scikit-learn, fixed seed) learn the
expected shares; a series is forecast the largest k whose share is above one half (a flat
forecast of k lowers the absolute error of every month with k units or more and raises it
for every other month, so that is the least expected error), the last 12 months' median
where that is 3 or more.

Two origins, same protocol (12 months forecast, rounded, MASE with lag-12 scaling):
- validation: history = months 1..27, forecasting months 28..39, all inside the published
  training part; the model learns from origins 12..15 only;
- test: history = the 39 training months, forecasting the 12 held out (the published
  figure); the model learns from origins 12..27.
Every row is scored at both. The one to trust is the row that wins at the validation
origin; its test figure is the honest result. The oracle (best flat forecast per series,
knowing the months it forecasts) is the floor for any flat forecast. Times are for fitting
and forecasting all series, on this machine, in this run; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from backorder.foresight.evaluate import Scores, mase, read_wide
from backorder.foresight.forecast import Array, forecast

DATA = Path("/work/shared/data/carparts/carparts_wide.csv")
HORIZON = 12
SEASON = 12
FIRST_ORIGIN = 12  # a year of history before the first origin the model learns from
LEVELS = 3  # shares of months with >= 1, 2, 3 units
ORIGINS = {"validation": 27, "test": 39}  # months of history at each scored origin
PUBLISHED_BEST = 0.746  # Transformer (FFNN and DeepAR 0.747), Godahewa et al. 2021
Rule = Callable[[Array], Array]


def scale(past: Array) -> Array:
    """The MASE scale per series: mean absolute lag-12 change, lag 1 where that is zero."""
    seasonal = np.zeros(len(past))
    if past.shape[1] > SEASON:  # a year of history or less: the change from month to month
        seasonal = np.abs(past[:, SEASON:] - past[:, :-SEASON]).mean(axis=1)
    lag1 = np.abs(np.diff(past, axis=1)).mean(axis=1)
    return np.where(seasonal > 0, seasonal, lag1)


def features(past: Array) -> Array:
    """One row of features per series from its months so far (missing ones are -1)."""
    rows, months = past.shape
    demand = past > 0
    columns = [
        past[:, -w:].mean(axis=1) if months >= w else np.full(rows, -1.0)
        for w in (1, 2, 3, 6, 12, 24)
    ]
    columns += [demand[:, -w:].mean(axis=1) for w in (6, 12, 24, months)]
    year = past[:, -SEASON:]
    columns += [np.median(year, axis=1), np.quantile(year, 0.75, axis=1), year.max(axis=1)]
    last = months - 1 - np.argmax(demand[:, ::-1], axis=1)
    columns.append(np.where(demand.any(axis=1), months - 1 - last, months))
    count = demand.sum(axis=1)
    sizes = np.where(demand, past, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # series without demand: NaN, then -1
        size = np.nanmean(sizes, axis=1)
        columns += [months / count, (np.nanstd(sizes, axis=1) / size) ** 2, size]
    previous = past[:, -2 * SEASON : -SEASON].sum(axis=1) if months >= 2 * SEASON else None
    columns.append(previous / SEASON if previous is not None else np.full(rows, -1.0))
    columns.append(
        (year.sum(axis=1) + 1) / (previous + 1) if previous is not None else np.full(rows, -1.0)
    )
    columns += [scale(past), np.full(rows, float(months))]
    return np.nan_to_num(np.column_stack(columns), nan=-1.0, posinf=-1.0)


def global_flat(history: Array) -> Array:
    """The global model's flat forecast per series, learnt from this history alone."""
    inputs, targets = [], []
    for origin in range(FIRST_ORIGIN, history.shape[1] - HORIZON + 1):  # bounded by the history
        past, future = history[:, :origin], history[:, origin : origin + HORIZON]
        scored = scale(past) > 0  # the series MASE scores
        inputs.append(features(past)[scored])
        targets.append(
            np.column_stack([(future >= k).mean(axis=1) for k in range(1, LEVELS + 1)])[scored]
        )
    x, y = np.vstack(inputs), np.vstack(targets)
    now = features(history)
    shares = np.column_stack(
        [
            HistGradientBoostingRegressor(random_state=0).fit(x, y[:, k]).predict(now)
            for k in range(LEVELS)
        ]
    )
    level = (shares > 0.5).sum(axis=1).astype(np.float64)
    recent = np.floor(np.median(history[:, -SEASON:], axis=1))
    return np.where(level >= LEVELS, np.maximum(level, recent), level)


def per_series_median(history: Array) -> Array:
    """Our per-series forecaster's median, first month (it is flat for these methods)."""
    rows = [forecast(series, HORIZON, season_length=SEASON).median for series in history]
    return np.array(rows).reshape(len(history), HORIZON)


RULES: dict[str, Rule] = {
    "zero every month": lambda past: np.zeros(len(past)),
    "median of the last 12 months": lambda past: np.floor(np.median(past[:, -SEASON:], axis=1)),
    "ours, per-series median": per_series_median,
    "global model (cross-series)": global_flat,
}


def cells(scores: Scores) -> str:
    return f"{scores.mean:>7.4f} ({scores.median:.3f})"


def row(name: str, by_origin: dict[str, Scores], note: str) -> str:
    return (
        f"  {name:<32} {cells(by_origin['validation']):>17} {cells(by_origin['test']):>16}  {note}"
    )


def run(path: Path) -> None:
    units = read_wide(path).units
    scores: dict[str, dict[str, Scores]] = {}
    seconds: dict[str, float] = {}
    for name, rule in RULES.items():
        for origin_name, months in ORIGINS.items():
            past, future = units[:, :months], units[:, months : months + HORIZON]
            started = time.perf_counter()
            predicted = rule(past)
            seconds[name] = time.perf_counter() - started  # the test origin's, run last
            if predicted.ndim == 1:  # one flat forecast per series
                predicted = np.repeat(predicted[:, None], HORIZON, axis=1)
            scores.setdefault(name, {})[origin_name] = Scores(mase(past, future, predicted, SEASON))
    oracle = {}
    for origin_name, months in ORIGINS.items():
        past, future = units[:, :months], units[:, months : months + HORIZON]
        best = np.repeat(np.floor(np.median(future, axis=1))[:, None], HORIZON, axis=1)
        oracle[origin_name] = Scores(mase(past, future, best, SEASON))
    print(f"carparts: {len(units)} series; MASE mean (median), 12 months forecast, rounded")
    print(f"  {'forecast':<32} {'validation 28-39':>17} {'test 40-51':>16}  time (test)")
    for name, by_origin in scores.items():
        print(row(name, by_origin, f"{seconds[name]:.1f} s"))
    print(row("oracle: best flat, months known", oracle, "not a forecast"))
    print(f"  {'best published model':<32} {'':>17} {PUBLISHED_BEST:>7.4f}")
    chosen = min(scores, key=lambda name: scores[name]["validation"].mean)
    print(f"chosen at the validation origin: {chosen}; test {scores[chosen]['test'].mean:.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="carparts_wide.csv")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: {args.data} is missing (the carparts benchmark data)")
        return 0
    run(args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
