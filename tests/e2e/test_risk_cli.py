"""`backorder risk …` as a user types it: train on a file, list the versions, score a file,
score our SKUs and list them with reasons at 80 columns; refusals in one line; without
the forecast extra, the install command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backorder import foresight
from backorder.cli import app as cli
from tests.risk_data import synthetic_rows, write_file

NARROW = {"COLUMNS": "80"}


def run(url: str, *args: str, ok: bool = True) -> str:
    done = CliRunner(env=NARROW).invoke(cli, ["--db", url, *args])
    if ok:
        assert done.exit_code == 0, done.output
    else:
        assert done.exit_code == 1, done.output
    return done.output


def test_train_score_and_list_from_the_command_line(sqlite_url: str, tmp_path: Path) -> None:
    url = sqlite_url
    assert "no risk models yet" in run(url, "risk", "models")
    assert "no backorder-risk model yet" in run(url, "risk", "list", ok=False)
    train = write_file(tmp_path / "train.csv", synthetic_rows(800))
    said = run(url, "risk", "train", str(train), "--format", "kaggle", "--out", str(tmp_path / "m"))
    assert "risk model version 1 (kaggle) is active: ROC-AUC 0." in said
    assert "5-fold cross-validation over 800 rows" in said
    [model] = json.loads(run(url, "risk", "models", "--json"))
    assert model["version"] == 1 and model["metrics"]["rows"] == 800
    table = run(url, "risk", "models")
    assert "1 *" in table and "* active" in table

    plain = write_file(tmp_path / "plain.csv", synthetic_rows(30, seed=3), labelled=False)
    scores = tmp_path / "scores.csv"
    assert "30 rows scored" in run(url, "risk", "score", str(plain), "--out", str(scores))
    with scores.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["sku", "probability"] and len(rows) == 31
    run(url, "risk", "score", str(plain), "--out", str(scores), "--model", str(tmp_path / "m"))

    run(url, "product", "add", "MUG-RED", "--name", "Red mug", "--price", "4.5")
    assert "1 SKUs scored" in run(url, "risk", "refresh")
    listed = run(url, "risk", "list", "--top", "5")
    assert "MUG-RED" in listed and "top reasons" in listed
    [scored] = json.loads(run(url, "risk", "list", "--json"))
    assert scored["sku"] == "MUG-RED" and 0 <= scored["probability"] <= 1


def test_refusals_are_one_line(sqlite_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,national_inv\nA,1\n")
    said = run(sqlite_url, "risk", "train", str(bad), ok=False)
    assert said.startswith("error: ") and "lacks the column(s) lead_time" in said
    assert "give a FILE" in run(sqlite_url, "risk", "train", ok=False)
    assert "version 1, or" not in run(sqlite_url, "risk", "models")


def test_without_the_extra_the_install_command_is_named(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foresight, "available", lambda: False)
    train = write_file(tmp_path / "train.csv", synthetic_rows(20))
    said = run(sqlite_url, "risk", "train", str(train), ok=False)
    assert said.strip() == (
        "error: the backorder-risk model needs the forecast extra: "
        "pip install 'backorder[forecast]'"
    )
