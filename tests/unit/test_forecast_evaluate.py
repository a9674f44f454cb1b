"""`backorder forecast evaluate`: forecasts the held-out end of every series in a wide file,
writes them in the same layout, and prints the MASE anyone can recompute from that file; a
bad file is refused in one line and nothing is written. Works without a database."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from statsforecast.models import AutoETS
from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.foresight.evaluate import mase, read_wide, season_of, split
from backorder.foresight.forecast import forecast

CARPARTS = Path("/work/shared/data/carparts/carparts_wide.csv")
NARROW = {"COLUMNS": "80"}
# two series, six periods; the last two held out
TINY = "series_id,p1,p2,p3,p4,p5,p6\nA,1,3,1,3,2,2\nB,0,0,4,0,0,1\n"


def run(*args: str | Path) -> tuple[int, str]:
    done = CliRunner(env=NARROW).invoke(cli, ["forecast", "evaluate", *map(str, args)])
    return done.exit_code, done.output


def printed(output: str, label: str) -> float:
    line = next(line for line in output.splitlines() if line.strip().startswith(label))
    return float(line.split()[-1])


def test_writes_the_forecasts_and_prints_the_mase_one_computes_by_hand(tmp_path: Path) -> None:
    source, written = tmp_path / "tiny.csv", tmp_path / "forecasts.csv"
    source.write_text(TINY)
    code, output = run(source, "--horizon", "2", "--out", written)
    assert code == 0, output
    with written.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["series_id", "p5", "p6"]
    assert [row[0] for row in rows[1:]] == ["A", "B"]
    forecasts = {row[0]: [round(float(cell)) for cell in row[1:]] for row in rows[1:]}
    # MASE by hand: mean absolute error over p5..p6 over the mean absolute lag-1 change
    # (the period names say no season) of p1..p4
    a = (abs(2 - forecasts["A"][0]) + abs(2 - forecasts["A"][1])) / 2 / ((2 + 2 + 2) / 3)
    b = (abs(0 - forecasts["B"][0]) + abs(1 - forecasts["B"][1])) / 2 / ((0 + 4 + 4) / 3)
    assert printed(output, "MASE mean") == pytest.approx((a + b) / 2, abs=5e-4)
    assert printed(output, "MASE median") == pytest.approx((a + b) / 2, abs=5e-4)
    assert printed(output, "series") == 2
    table = output.split("Forecasts written to")[0]
    assert all(len(line) <= 80 for line in table.splitlines()), output
    assert f"Forecasts written to {written}" in output.replace("\n", "")


def test_the_mean_can_be_written_instead_of_the_median(tmp_path: Path) -> None:
    source, written = tmp_path / "tiny.csv", tmp_path / "forecasts.csv"
    source.write_text(TINY)
    code, output = run(source, "--horizon", "2", "--point", "mean", "--out", written)
    assert code == 0, output
    units = read_wide(source).units
    expected = forecast(units[1, :4], 2).point
    cells = written.read_text().splitlines()[2].split(",")[1:]
    assert [float(cell) for cell in cells] == pytest.approx(expected, abs=5e-4)


@pytest.mark.parametrize(
    ("text", "args", "says"),
    [
        ("sku,p1,p2,p3\nA,1,2,3\n", (), "the first column must be series_id"),
        ("series_id,p1,p2,p3\nA,1,x,3\n", (), "line 2, p2: 'x' is not a number"),
        ("series_id,p1,p2,p3\nA,1,-2,3\n", (), "is not a count of units"),
        ("series_id,p1,p2,p3\nA,1,2\n", (), "line 2: 3 cells where the header has 4"),
        ("series_id,p1,p2,p3\n", (), "no series"),
        ("series_id,p1,p2,p3\nA,1,2,3\n", ("--horizon", "3"), "leaves no history"),
        ("series_id,p1,p2\nA,1,\udcff\n", (), "not a UTF-8 text file"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, text: str, args: tuple[str, ...], says: str
) -> None:
    source, written = tmp_path / "bad.csv", tmp_path / "forecasts.csv"
    source.write_bytes(text.encode("utf-8", "surrogateescape"))
    code, output = run(source, "--horizon", "1", *args, "--out", written)
    assert code == 1
    assert says in output
    assert "Traceback" not in output
    assert not written.exists()


def test_the_season_follows_the_period_names() -> None:
    assert season_of(["1998-01", "1998-02"]) == 12
    assert season_of(["2024-W01", "2024-W02"]) == 52
    assert season_of(["p1", "p2"]) == 1


def test_mase_scales_by_the_seasonal_change_else_the_last_change_else_none() -> None:
    train = np.array([[1.0, 2, 1, 2], [0, 3, 0, 3], [0, 0, 0, 0]])
    test = np.array([[2.0, 2], [1, 1], [1, 0]])
    scores = mase(train, test, np.array([[2.4, 1.6], [0.0, 0.0], [0.0, 0.0]]), 2)
    # row 1: lag-2 changes all 0, so lag 1 (mean 1): error 0 after rounding 2.4 and 1.6;
    # row 2: lag-2 changes 0 → lag 1, mean 3: error 1; row 3: no scale at all
    assert scores[0] == pytest.approx(0.0)
    assert scores[1] == pytest.approx(1 / 3)
    assert np.isnan(scores[2])


@pytest.mark.skipif(not CARPARTS.is_file(), reason=f"{CARPARTS} (benchmark data) is missing")
def test_on_carparts_the_median_forecast_beats_ses_and_our_own_mean() -> None:
    units = read_wide(CARPARTS).units
    train, test = split(units[np.linspace(0, len(units) - 1, 200).astype(int)], 12)
    ours = [forecast(row, 12, season_length=12) for row in train]
    median = np.nanmean(mase(train, test, np.array([row.median for row in ours]), 12))
    mean = np.nanmean(mase(train, test, np.array([row.point for row in ours]), 12))
    ses = np.array(
        [
            AutoETS(model="ANN").forecast(y=row, h=12)["mean"] if row.any() else np.zeros(12)
            for row in train
        ]
    )
    assert median < np.nanmean(mase(train, test, ses, 12))
    assert median < mean


def test_without_the_forecast_extra_it_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "tiny.csv"
    source.write_text(TINY)
    monkeypatch.setattr("backorder.foresight.available", lambda: False)
    code, output = run(source, "--horizon", "2")
    assert code == 1
    assert "pip install 'backorder[forecast]'" in output
