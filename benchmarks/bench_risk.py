"""Backorder-risk model on the public product-backorders sample: stratified 5-fold
cross-validation, ROC-AUC and PR-AUC (average precision) mean ± sd over folds, beside the
published figures (trained on 17 times more data) and two floors measured in the same run
(chance, and ranking by one ratio: on hand + in transit against the 3-month forecast), the
time taken, and a reliability table of the out-of-fold probabilities.

    python benchmarks/bench_risk.py [--data PATH] [--folds 5] [--variants]

`--variants` also measures, on the same folds, the alternatives tried against the model
(a random forest, the mean of the forest's and the boosting's probabilities, LightGBM when
it is installed, and the mean calibrated like ours) with each one's change against ours
fold by fold. The uncalibrated rows rank raw scores (calibration is monotone, so it moves
ROC-AUC and PR-AUC only through ties). They take a few minutes more.

Every row is scored by a model that neither trained nor calibrated on it; `sku` is an id
and never a feature."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from backorder.foresight.risk import (
    FEATURES,
    _classifier,
    _training_matrix,
    cross_validate,
    read_kaggle,
    reliability,
)

DATA = Path("/work/shared/data/product-backorders/train_sample.csv.gz")
PUBLISHED = (
    ("published best (de Santis et al. 2017, 17x data)", "0.95", "0.30"),
    ("published gradient boosting (same paper)", "0.946", "0.185"),
)
EDGES = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 1.0)


def _floor(x: np.ndarray, y: np.ndarray, folds: int) -> tuple[list[float], list[float]]:
    """One ratio, no fitting: lower cover (on hand + in transit per forecast) ranks higher."""
    col = FEATURES.index
    cover = (x[:, col("national_inv")] + x[:, col("in_transit_qty")]) / (
        x[:, col("forecast_3_month")] + 1.0
    )
    score = -cover
    rocs, prs = [], []
    for _, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        rocs.append(float(roc_auc_score(y[test], score[test])))
        prs.append(float(average_precision_score(y[test], score[test])))
    return rocs, prs


Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _forest(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    forest = RandomForestClassifier(
        n_estimators=300, min_samples_leaf=3, max_features="sqrt", n_jobs=1, random_state=0
    )
    fitted = forest.fit(np.nan_to_num(train_x, nan=-1.0), train_y)
    return np.asarray(fitted.predict_proba(np.nan_to_num(test_x, nan=-1.0))[:, 1])


def _boosting(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    model: HistGradientBoostingClassifier = _classifier(0, len(train_y))
    return np.asarray(model.fit(train_x, train_y).predict_proba(test_x)[:, 1])


def _lightgbm(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Rounds chosen by early stopping on a fifth of the training fold, then refitted on
    all of it with 10 % more rounds."""
    import lightgbm  # type: ignore[import-not-found]  # optional, for this comparison only

    params: dict[str, Any] = {
        "learning_rate": 0.03,
        "num_leaves": 15,
        "min_child_samples": 40,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.7,
        "reg_lambda": 1.0,
        "n_jobs": 1,
        "random_state": 0,
        "verbose": -1,
    }
    inner = StratifiedKFold(5, shuffle=True, random_state=1)
    fit_rows, stop_rows = next(inner.split(train_x, train_y))
    probe = lightgbm.LGBMClassifier(n_estimators=1500, **params).fit(
        train_x[fit_rows],
        train_y[fit_rows],
        eval_set=[(train_x[stop_rows], train_y[stop_rows])],
        eval_metric="average_precision",
        callbacks=[lightgbm.early_stopping(100, verbose=False)],
    )
    rounds = max(50, int(probe.best_iteration_ * 1.1))
    model = lightgbm.LGBMClassifier(n_estimators=rounds, **params).fit(train_x, train_y)
    return np.asarray(model.predict_proba(test_x)[:, 1])


def _calibrated_mean(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """The boosting's and a forest's probabilities averaged, then calibrated the way ours is
    (isotonic, cross-fitted over five splits of the training fold)."""
    forest = RandomForestClassifier(
        n_estimators=150, min_samples_leaf=3, max_features="sqrt", max_samples=0.5, random_state=0
    )
    both = VotingClassifier(
        [("boosting", _classifier(0, len(train_y))), ("forest", forest)], voting="soft"
    )
    model = CalibratedClassifierCV(both, method="isotonic", cv=5).fit(train_x, train_y)
    return np.asarray(model.predict_proba(test_x)[:, 1])


def _variants(x: np.ndarray, y: np.ndarray, folds: int, ours: np.ndarray) -> None:
    """Each alternative scored fold by fold on the same splits as ours, fitted on the
    training fold only; printed with its per-fold change against ours."""
    matrix = _training_matrix(x)
    scorers: dict[str, list[Scorer]] = {
        "gradient boosting alone, uncalibrated": [_boosting],
        "random forest (300 trees, leaves >= 3)": [_forest],
        "mean of boosting and forest probabilities": [_boosting, _forest],
        "that mean (150 trees on half the rows), isotonic": [_calibrated_mean],
    }
    if importlib.util.find_spec("lightgbm") is not None:
        scorers["lightgbm (15 leaves, early-stopped inside)"] = [_lightgbm]
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(matrix, y))
    cache: dict[Scorer, np.ndarray] = {}
    print("\nvariants on the same folds, and their change against ours")
    _row("", "ROC-AUC", "PR-AUC")
    for name, parts in scorers.items():
        started = time.perf_counter()
        for part in parts:
            if part not in cache:
                out = np.zeros(len(y))
                for train, test in splits:
                    out[test] = part(matrix[train], y[train], matrix[test])
                cache[part] = out
        score = np.mean([cache[part] for part in parts], axis=0)
        rocs = [float(roc_auc_score(y[t], score[t])) for _, t in splits]
        prs = [float(average_precision_score(y[t], score[t])) for _, t in splits]
        _row(name, _spread(rocs), _spread(prs))
        d_roc = [
            r - float(roc_auc_score(y[t], ours[t])) for r, (_, t) in zip(rocs, splits, strict=True)
        ]
        d_pr = [
            p - float(average_precision_score(y[t], ours[t]))
            for p, (_, t) in zip(prs, splits, strict=True)
        ]
        seconds = time.perf_counter() - started  # 0 s when its parts were fitted above
        print(
            f"    per fold vs ours: ROC {' '.join(f'{d:+.3f}' for d in d_roc)};"
            f" PR {' '.join(f'{d:+.3f}' for d in d_pr)} ({seconds:.0f} s)"
        )


def _row(name: str, roc: str, pr: str) -> None:
    print(f"  {name:<52} {roc:>15} {pr:>15}")


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--variants", action="store_true", help="also the alternatives tried")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is not here", file=sys.stderr)
        return 0
    data = read_kaggle(args.data, labelled=True)
    assert data.y is not None
    y = data.y
    print(f"{args.data.name}: {len(y):,} rows, {int(y.sum())} went on backorder ({y.mean():.2%})")
    started = time.perf_counter()
    measured = cross_validate(data.x, y, folds=args.folds)
    seconds = time.perf_counter() - started
    floor_roc, floor_pr = _floor(data.x, y, args.folds)
    print(f"\nstratified {args.folds}-fold cross-validation, mean ± sd over folds")
    _row("", "ROC-AUC", "PR-AUC")
    ours = "ours: gradient boosting + isotonic (this sample)"
    _row(ours, _spread(measured.roc_auc), _spread(measured.pr_auc))
    for name, roc, pr in PUBLISHED:
        _row(name, roc, pr)
    _row("floor: cover ratio (on hand + transit / forecast)", _spread(floor_roc), _spread(floor_pr))
    _row("floor: chance", "0.500", f"{y.mean():.4f}")
    print(f"\ntime: {seconds:.1f} s for {args.folds} folds (fit, calibrate, score)")
    print("\nreliability of the out-of-fold probabilities")
    print(f"  {'predicted':>13} {'rows':>7} {'mean predicted':>15} {'observed':>9}")
    for row in reliability(y, measured.out_of_fold, EDGES):
        if row["rows"]:
            span = f"{row['low']:.3f}-{row['high']:.3f}"
            print(
                f"  {span:>13} {row['rows']:>7,} {row['predicted']:>15.4f} {row['observed']:>9.4f}"
            )
    brier = float(np.mean((measured.out_of_fold - y) ** 2))
    base = float(y.mean() * (1 - y.mean()))
    print(f"  Brier score {brier:.5f} (always the base rate: {base:.5f})")
    if args.variants:
        _variants(data.x, y, args.folds, measured.out_of_fold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
