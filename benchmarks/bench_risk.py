"""Backorder-risk model on the public product-backorders sample: stratified 5-fold
cross-validation, ROC-AUC and PR-AUC (average precision) mean ± sd over folds, beside the
published figures (trained on 17 times more data) and two floors measured in the same run
(chance, and ranking by one ratio: on hand + in transit against the 3-month forecast), the
time taken, and a reliability table of the out-of-fold probabilities.

    python benchmarks/bench_risk.py [--data PATH] [--folds 5]

Every row is scored by a model that neither trained nor calibrated on it; `sku` is an id
and never a feature."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from backorder.foresight.risk import FEATURES, cross_validate, read_kaggle, reliability

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


def _row(name: str, roc: str, pr: str) -> None:
    print(f"  {name:<52} {roc:>15} {pr:>15}")


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=5)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
