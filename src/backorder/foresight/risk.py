"""The backorder-risk model: the probability that a SKU goes on backorder within 8 weeks.

Inputs are the features of the public product-backorders data set (`FEATURES`, in that
data set's units: lead time in weeks, forecasts and sales in units), so the same model
scores a Kaggle-format file and the SKUs the product computes them for
(services/risk_features.py). Derived scale-free ratios (stock against demand) are added
inside, which is what lets a model trained on one seller's volumes speak to another's.

The classifier is scikit-learn's histogram gradient boosting, calibrated by isotonic
regression cross-fitted over folds (each fold's calibrator sees only predictions of a model
that did not train on it), so a probability of 0.2 means about one in five. Each score
comes with its top reasons: the features whose replacement by a typical value lowers the
score most, put in words ("on hand 0 against 3-month forecast 120").

A fitted model is serialised with pickle. Unpickling runs code, so only models this
product wrote itself are ever loaded: from its own database (`risk_models`) or a file
written by `backorder risk train --out`; nothing is fetched from anywhere."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import itertools
import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from backorder.domain.errors import InvalidRequest

Array = np.ndarray[Any, np.dtype[np.float64]]

NUMBERS = (
    "national_inv",
    "lead_time",
    "in_transit_qty",
    "forecast_3_month",
    "forecast_6_month",
    "forecast_9_month",
    "sales_1_month",
    "sales_3_month",
    "sales_6_month",
    "sales_9_month",
    "min_bank",
    "pieces_past_due",
    "perf_6_month_avg",
    "perf_12_month_avg",
    "local_bo_qty",
)
FLAGS = ("potential_issue", "deck_risk", "oe_constraint", "ppap_risk", "stop_auto_buy", "rev_stop")
FEATURES = NUMBERS + FLAGS
LABEL = "went_on_backorder"
UNKNOWN_PERF = -99.0
# May be empty in a file (and unknown for a SKU): the model takes a missing value as such.
MAY_BE_EMPTY = ("lead_time", "perf_6_month_avg", "perf_12_month_avg")
YES = {"yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0}
ALGORITHM = "hist_gradient_boosting+isotonic"
# One thread for the boosting's OpenMP loops: on a machine the model shares with the
# database, the server and the worker, more threads than free cores spin against each
# other (a 1,000-row fit took 0.5 s on one thread and 35 s on two, on a busy 2-core host).
THREADS = 1
Function = TypeVar("Function", bound=Callable[..., Any])


def _single_threaded(function: Function) -> Function:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with threadpool_limits(limits=THREADS, user_api="openmp"):
            return function(*args, **kwargs)

    return cast(Function, run)


FORMAT = 1  # of the serialised model


@dataclass(frozen=True)
class Dataset:
    """Rows of features (columns in `FEATURES` order, NaN: unknown) with their SKUs and,
    when the file has it, the label."""

    skus: list[str]
    x: Array
    y: Array | None


def _number(text: str, name: str, row: int) -> float:
    value = text.strip()
    if name in FLAGS or name == LABEL:
        flag = YES.get(value.lower())
        if flag is None:
            raise InvalidRequest(f"row {row}: {name} is {value!r}, expected Yes or No")
        return flag
    if not value and name in MAY_BE_EMPTY:
        return float("nan")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number):
        shown = "empty" if not value else repr(value)
        raise InvalidRequest(f"row {row}: {name} is {shown}, expected a number")
    return number


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open(newline="", encoding="utf-8")


def read_kaggle(path: Path, labelled: bool) -> Dataset:
    """A file in the product-backorders format (`sku`, the features, and `went_on_backorder`
    when `labelled`; plain or .gz). A missing column or a value that is not a number (or
    Yes/No) is refused naming the row and column."""
    wanted = ["sku", *FEATURES] + ([LABEL] if labelled else [])
    try:
        with _open(path) as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in wanted if name not in header]
            if missing:
                raise InvalidRequest(f"{path} lacks the column(s) {', '.join(missing)}")
            where = [header.index(name) for name in wanted]
            skus: list[str] = []
            rows: list[list[float]] = []
            for number, record in enumerate(reader, start=2):
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) < len(header):
                    raise InvalidRequest(f"row {number}: {len(record)} of {len(header)} columns")
                skus.append(record[where[0]].strip())
                pairs = zip(where[1:], wanted[1:], strict=True)
                rows.append([_number(record[i], name, number) for i, name in pairs])
    except FileNotFoundError as error:
        raise InvalidRequest(f"no such file: {path}") from error
    except (UnicodeDecodeError, csv.Error, OSError) as error:
        raise InvalidRequest(f"{path} is not a readable CSV file: {error}") from error
    if not rows:
        raise InvalidRequest(f"{path} has no rows")
    table = np.array(rows, dtype=np.float64)
    x = table[:, : len(FEATURES)]
    if (x[:, FEATURES.index("lead_time")] < 0).any():
        raise InvalidRequest("lead_time may not be negative")
    y = table[:, len(FEATURES)].copy() if labelled else None
    return Dataset(skus, _unknowns(x), y)


def _unknowns(x: Array) -> Array:
    """-99 in the supplier performance columns means unknown: NaN inside."""
    x = x.copy()
    for name in ("perf_6_month_avg", "perf_12_month_avg"):
        column = x[:, FEATURES.index(name)]
        column[column < 0] = np.nan
    return x


DERIVED = (
    "on_hand_per_forecast_3",
    "supply_per_forecast_3",
    "on_hand_per_monthly_sales_3",
    "on_hand_per_min_bank",
    "forecast_3_per_sales_3",
    "cover_after_lead_time",
)


def design(x: Array) -> Array:
    """The model's matrix: the features and the scale-free ratios derived from them."""

    def col(name: str) -> Array:
        return x[:, FEATURES.index(name)]

    on_hand, transit, f3 = col("national_inv"), col("in_transit_qty"), col("forecast_3_month")
    sales3, min_bank, lead = col("sales_3_month"), col("min_bank"), col("lead_time")
    weekly = f3 / 13.0
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.column_stack(
            [
                on_hand / (f3 + 1.0),
                (on_hand + transit) / (f3 + 1.0),
                on_hand / (sales3 / 3.0 + 1.0),
                on_hand / (min_bank + 1.0),
                (f3 + 1.0) / (sales3 + 1.0),
                (on_hand + transit - weekly * np.nan_to_num(lead, nan=8.0)) / (f3 + 1.0),
            ]
        )
    return np.hstack([x, derived])


def _training_matrix(x: Array) -> Array:
    """`design`, with a column no row knows (our SKUs without lead times, say) set to 0:
    the boosting cannot bin a column of nothing, and a constant one is never split on."""
    matrix = design(x)
    matrix[:, np.isnan(matrix).all(axis=0)] = 0.0
    return matrix


def _classifier(seed: int, rows: int) -> HistGradientBoostingClassifier:
    """On a large file: leaves of at least 40 rows, up to 300 rounds, stopped early on a
    tenth of the training rows held out. On a small history (a seller's first hundred
    snapshots) there are no rows to spare for that: smaller leaves, or no split would be
    possible at all, and 100 rounds, past which a 1,000-row set was seen to overfit."""
    large = rows > 10_000
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300 if large else 100,
        max_leaf_nodes=15,
        min_samples_leaf=max(5, min(40, rows // 100)),
        l2_regularization=1.0,
        early_stopping=large,
        random_state=seed,
    )


def _calibrated(seed: int, folds: int, rows: int) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(_classifier(seed, rows), method="isotonic", cv=folds)


@dataclass(frozen=True)
class Measured:
    """Cross-validated quality: per fold on rows the model did not see, and the
    out-of-fold probabilities (for a reliability table)."""

    roc_auc: list[float]
    pr_auc: list[float]
    out_of_fold: Array

    def metrics(self, y: Array) -> dict[str, Any]:
        return {
            "roc_auc": round(float(np.mean(self.roc_auc)), 4),
            "roc_auc_sd": round(float(np.std(self.roc_auc)), 4),
            "pr_auc": round(float(np.mean(self.pr_auc)), 4),
            "pr_auc_sd": round(float(np.std(self.pr_auc)), 4),
            "folds": len(self.roc_auc),
            "rows": len(y),
            "positives": int(y.sum()),
        }


def _check_trainable(y: Array, folds: int) -> None:
    positives = int(y.sum())
    if min(positives, len(y) - positives) < 2 * folds:
        raise InvalidRequest(
            f"too few outcomes to train and measure a model: {positives} went on backorder "
            f"and {len(y) - positives} did not; at least {2 * folds} of each are needed"
        )


@_single_threaded
def cross_validate(x: Array, y: Array, folds: int = 5, seed: int = 0) -> Measured:
    """Stratified k-fold: each fold scored by a calibrated model fitted (and calibrated,
    within its own training rows) without it."""
    _check_trainable(y, folds)
    matrix = _training_matrix(x)
    out = np.zeros(len(y))
    rocs: list[float] = []
    prs: list[float] = []
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splits.split(matrix, y):
        model = _calibrated(seed, folds, len(train)).fit(matrix[train], y[train])
        out[test] = model.predict_proba(matrix[test])[:, 1]
        rocs.append(float(roc_auc_score(y[test], out[test])))
        prs.append(float(average_precision_score(y[test], out[test])))
    return Measured(rocs, prs, out)


def reliability(y: Array, p: Array, edges: Sequence[float]) -> list[dict[str, float]]:
    """Predicted-probability bins against the observed rate: rows, mean predicted, observed."""
    table = []
    for low, high in itertools.pairwise(edges):
        inside = (p >= low) & ((p < high) | (high >= 1.0))
        count = int(inside.sum())
        table.append(
            {
                "low": low,
                "high": high,
                "rows": count,
                "predicted": float(p[inside].mean()) if count else float("nan"),
                "observed": float(y[inside].mean()) if count else float("nan"),
            }
        )
    return table


@dataclass
class RiskModel:
    """A fitted, calibrated model with what it needs to explain itself."""

    features: tuple[str, ...]
    defaults: dict[str, float]  # for a flag the caller cannot know: the training mode
    typical: Array  # per feature, the median of rows that did not go on backorder
    model: CalibratedClassifierCV
    algorithm: str = ALGORITHM

    def _filled(self, x: Array) -> Array:
        x = np.array(x, dtype=np.float64, copy=True)
        for name, value in self.defaults.items():
            column = x[:, FEATURES.index(name)]
            column[np.isnan(column)] = value
        return x

    @_single_threaded
    def probability(self, x: Array) -> Array:
        """The calibrated probability per row (features in `FEATURES` order, NaN unknown)."""
        if len(x) == 0:
            return np.zeros(0)
        proba = self.model.predict_proba(design(self._filled(x)))[:, 1]
        return np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)

    def _score(self, matrix: Array) -> Array:
        """The models' mean log-odds before calibration: smooth, so it shows what moved."""
        raw = np.mean(
            [c.estimator.predict_proba(matrix)[:, 1] for c in self.model.calibrated_classifiers_],
            axis=0,
        )
        raw = np.clip(raw, 1e-6, 1 - 1e-6)
        return np.asarray(np.log(raw / (1 - raw)), dtype=np.float64)

    @_single_threaded
    def reasons(self, x: Array, top: int = 3) -> list[list[str]]:
        """Per row, the `top` features that raise its score most, in words: each feature in
        turn set to its typical value, and how much the score falls then."""
        if len(x) == 0:
            return []
        x = self._filled(x)
        base = self._score(design(x))
        drops = np.zeros((len(x), len(FEATURES)))
        for j, name in enumerate(FEATURES):
            if name in ("perf_12_month_avg",):  # told together with the 6-month rate
                continue
            changed = x.copy()
            changed[:, j] = self.typical[j]
            drops[:, j] = base - self._score(design(changed))
        words: list[list[str]] = []
        for i in range(len(x)):
            order = [j for j in np.argsort(-drops[i]) if drops[i, j] > 0.05][:top]
            words.append([describe(FEATURES[j], x[i]) for j in order])
        return words

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump({"format": FORMAT, "model": self}, buffer, protocol=5)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> RiskModel:
        """Only for bytes this product wrote (its database or its own model file)."""
        try:
            loaded = pickle.loads(data)  # our own model, never fetched
        except Exception as error:
            raise InvalidRequest(f"not a backorder risk model: {error}") from error
        if not (isinstance(loaded, dict) and isinstance(loaded.get("model"), RiskModel)):
            raise InvalidRequest("not a backorder risk model")
        if loaded.get("format") != FORMAT:
            raise InvalidRequest(f"risk model format {loaded.get('format')} is not {FORMAT}")
        model: RiskModel = loaded["model"]
        return model


@_single_threaded
def fit(x: Array, y: Array, folds: int = 5, seed: int = 0) -> RiskModel:
    """A calibrated model fitted on every row (calibration cross-fitted over `folds`)."""
    _check_trainable(y, folds)
    defaults = {}
    for name in FLAGS:
        column = x[:, FEATURES.index(name)]
        known = column[~np.isnan(column)]
        defaults[name] = float(np.round(known.mean())) if len(known) else 0.0
    negatives = x[y == 0]
    typical = np.array(
        [
            float(np.nanmedian(negatives[:, j])) if not np.isnan(negatives[:, j]).all() else 0.0
            for j in range(len(FEATURES))
        ]
    )
    model = _calibrated(seed, folds, len(y)).fit(_training_matrix(x), y)
    return RiskModel(FEATURES, defaults, typical, model)


def _n(value: float) -> str:
    if np.isnan(value):
        return "unknown"
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def describe(name: str, row: Array) -> str:
    """A feature of one row in words, with what it is weighed against."""

    def v(feature: str) -> float:
        return float(row[FEATURES.index(feature)])

    on_hand, f3 = _n(v("national_inv")), _n(v("forecast_3_month"))
    months = {"sales_1_month": "month", "sales_3_month": "3 months"}
    months |= {"sales_6_month": "6 months", "sales_9_month": "9 months"}
    if name == "national_inv":
        return f"on hand {on_hand} against 3-month forecast {f3}"
    if name.startswith("forecast_"):
        return f"{name[9]}-month forecast {_n(v(name))} against on hand {on_hand}"
    if name in months:
        return f"demand {_n(v(name))} in the last {months[name]} against on hand {on_hand}"
    if name == "in_transit_qty":
        return f"{_n(v(name))} in transit against 3-month forecast {f3}"
    if name == "lead_time":
        return "lead time unknown" if np.isnan(v(name)) else f"lead time {_n(v(name))} weeks"
    if name == "min_bank":
        return f"safety stock {_n(v(name))} against on hand {on_hand}"
    if name == "pieces_past_due":
        return f"{_n(v(name))} units past due from suppliers"
    if name.startswith("perf_"):
        six, twelve = v("perf_6_month_avg"), v("perf_12_month_avg")
        if np.isnan(six) and np.isnan(twelve):
            return "supplier on-time record unknown"
        shown = [
            f"{rate:.0%} over {span} months"
            for rate, span in ((six, 6), (twelve, 12))
            if not np.isnan(rate)
        ]
        return "supplier on time " + ", ".join(shown)
    if name == "local_bo_qty":
        return f"{_n(v(name))} units on backorder now"
    flag = {
        "potential_issue": "potential issue flagged",
        "deck_risk": "deck risk",
        "oe_constraint": "OE constraint",
        "ppap_risk": "PPAP risk",
        "stop_auto_buy": "automatic buying stopped",
        "rev_stop": "revision stop (discontinued)",
    }[name]
    return flag if v(name) else f"no {flag}"
