"""Scoring the forecaster on a wide file of series, the way public benchmarks do (the
carparts protocol of the Monash archive): the last `horizon` periods of every series are
held out, the rest forecasts them, forecasts are rounded to whole units, and each series
scores its MASE: the mean absolute error over the held-out periods divided by the mean
absolute seasonal difference (lag `season`) over the rest, or the lag-1 difference where
that is zero; a series whose scale is still zero has no score and is left out.

A wide file: a header `series_id,<period>,<period>,…` and one row per series of units per
period, oldest first."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from backorder.domain.errors import InvalidRequest
from backorder.foresight.forecast import Array, forecast

PointKind = Literal["median", "mean"]
MAX_SERIES = 1_000_000
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
WEEK = re.compile(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])")


@dataclass(frozen=True)
class Wide:
    """Series read from a wide file: ids, period names and units (one row per series)."""

    ids: list[str]
    periods: list[str]
    units: np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Scores:
    """MASE per series (NaN where undefined) and the figures a benchmark reports."""

    per_series: Array

    @property
    def scored(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.per_series)))

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.per_series)) if self.scored else math.nan

    @property
    def median(self) -> float:
        return float(np.nanmedian(self.per_series)) if self.scored else math.nan


def read_wide(path: Path) -> Wide:
    """The series of a wide file; refused, naming the row and column, when it is not one."""
    try:
        return _read_wide(path)
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise InvalidRequest(f"{path}: not a CSV file ({error})") from None


def _read_wide(path: Path) -> Wide:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if not header or header[0].strip() != "series_id":
            raise InvalidRequest(f"{path}: the first column must be series_id")
        periods = [name.strip() for name in header[1:]]
        ids: list[str] = []
        values: list[list[float]] = []
        for number, row in enumerate(rows, start=2):
            if len(ids) >= MAX_SERIES:
                raise InvalidRequest(f"{path}: more than {MAX_SERIES} series")
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidRequest(
                    f"{path}, line {number}: {len(row)} cells where the header has {len(header)}"
                )
            ids.append(row[0].strip())
            values.append(
                [_units(path, number, periods[i], cell) for i, cell in enumerate(row[1:])]
            )
    if not ids:
        raise InvalidRequest(f"{path}: no series")
    return Wide(ids, periods, np.array(values, dtype=np.float64).reshape(len(ids), len(periods)))


def _units(path: Path, line: int, period: str, cell: str) -> float:
    try:
        value = float(cell) if cell.strip() else 0.0  # a blank cell is a period without demand
    except ValueError:
        raise InvalidRequest(f"{path}, line {line}, {period}: {cell!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidRequest(f"{path}, line {line}, {period}: {cell!r} is not a count of units")
    return value


def mase(train: Array, test: Array, predicted: Array, season: int) -> Array:
    """MASE per series (rows), by the protocol above; NaN where the scale is zero. The
    forecasts are rounded to whole units first."""
    error = np.abs(test - np.round(predicted)).mean(axis=1)
    scale = np.zeros(len(train))
    if train.shape[1] > season:
        scale = np.abs(train[:, season:] - train[:, :-season]).mean(axis=1)
    if train.shape[1] > 1:
        lag1 = np.abs(np.diff(train, axis=1)).mean(axis=1)
        scale = np.where(scale > 0, scale, lag1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, error / np.where(scale > 0, scale, 1.0), np.nan)


def season_of(periods: Sequence[str]) -> int:
    """The season the period names suggest: 12 for months (`1998-01`), 52 for ISO weeks
    (`2024-W07`), else none (1)."""
    if periods and all(MONTH.fullmatch(name) for name in periods):
        return 12
    if periods and all(WEEK.fullmatch(name) for name in periods):
        return 52
    return 1


def split(units: Array, horizon: int) -> tuple[Array, Array]:
    """The training part and the held-out last `horizon` periods; refused if nothing would
    be left to learn from."""
    if horizon < 1:
        raise InvalidRequest("the horizon must be at least 1 period")
    if horizon >= units.shape[1]:
        raise InvalidRequest(
            f"a horizon of {horizon} leaves no history: the file has {units.shape[1]} periods"
        )
    return units[:, :-horizon], units[:, -horizon:]


def forecast_rows(train: Array, horizon: int, point: PointKind, season_length: int | None) -> Array:
    """One forecast row per series: the median or the mean of each period's forecast."""
    rows = [forecast(series, horizon, season_length=season_length) for series in train]
    return np.array(
        [row.median if point == "median" else row.point for row in rows], dtype=np.float64
    ).reshape(len(train), horizon)


def write_wide(path: Path, ids: Sequence[str], periods: Sequence[str], values: Array) -> None:
    """`series_id` and one column per forecast period; whole numbers without decimals."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series_id", *periods])
        for key, row in zip(ids, values, strict=True):
            writer.writerow([key, *(_cell(value) for value in row)])


def _cell(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
