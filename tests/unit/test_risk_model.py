"""The backorder-risk model: a Kaggle-format file read or refused in words, a calibrated
model that finds a planted rule on rows it did not see, reasons in words, and a model that
survives being stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backorder.domain.errors import InvalidRequest
from backorder.foresight.risk import (
    FEATURES,
    RiskModel,
    cross_validate,
    describe,
    fit,
    read_kaggle,
    reliability,
)
from tests.risk_data import synthetic_rows, write_file


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    path = write_file(tmp_path_factory.mktemp("risk") / "train.csv", synthetic_rows(1000))
    read = read_kaggle(path, labelled=True)
    assert read.y is not None
    return read.x, read.y


@pytest.fixture(scope="module")
def model(data: tuple[np.ndarray, np.ndarray]) -> RiskModel:
    return fit(*data, folds=3)


def test_a_file_is_read_with_flags_unknowns_and_empty_lead_times(tmp_path: Path) -> None:
    rows = synthetic_rows(3)
    rows[0] |= {"lead_time": "", "perf_6_month_avg": "-99", "deck_risk": "Yes"}
    read = read_kaggle(write_file(tmp_path / "f.csv", rows), labelled=True)
    assert read.skus == ["S0", "S1", "S2"]
    first = read.x[0]
    assert np.isnan(first[FEATURES.index("lead_time")])
    assert np.isnan(first[FEATURES.index("perf_6_month_avg")])
    assert first[FEATURES.index("deck_risk")] == 1.0
    assert read.y is not None and set(read.y) <= {0.0, 1.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"national_inv": "lots"}, "row 3: national_inv is 'lots', expected a number"),
        ({"sales_1_month": ""}, "row 3: sales_1_month is empty, expected a number"),
        ({"rev_stop": "maybe"}, "row 3: rev_stop is 'maybe', expected Yes or No"),
        ({"went_on_backorder": "?"}, "row 3: went_on_backorder is '?', expected Yes or No"),
        ({"lead_time": "-2"}, "lead_time may not be negative"),
    ],
)
def test_a_bad_value_is_refused_naming_row_and_column(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    rows = synthetic_rows(3)
    rows[1] |= change
    with pytest.raises(InvalidRequest, match=message.replace("?", r"\?")):
        read_kaggle(write_file(tmp_path / "f.csv", rows), labelled=True)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("sku,national_inv\nA,3\n")
    with pytest.raises(InvalidRequest, match=r"lacks the column.*lead_time.*went_on_backorder"):
        read_kaggle(path, labelled=True)
    with pytest.raises(InvalidRequest, match="no such file"):
        read_kaggle(tmp_path / "absent.csv", labelled=False)


def test_the_planted_rule_is_found_on_rows_the_model_did_not_see(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    measured = cross_validate(*data, folds=3)
    metrics = measured.metrics(data[1])
    # chance would be 0.5 and the rate (0.12); the planted rule alone gives about 0.85
    assert metrics["roc_auc"] > 0.78
    assert metrics["pr_auc"] > 0.35
    assert (metrics["rows"], metrics["folds"]) == (1000, 3)
    assert ((measured.out_of_fold >= 0) & (measured.out_of_fold <= 1)).all()
    # calibrated: the mean probability is near the rate, and so is each well-filled bin
    assert abs(measured.out_of_fold.mean() - data[1].mean()) < 0.03
    table = reliability(data[1], measured.out_of_fold, (0.0, 0.2, 1.0))
    assert sum(row["rows"] for row in table) == 1000
    for row in table:
        if row["rows"] >= 100:
            assert abs(row["predicted"] - row["observed"]) < 0.1


def test_reasons_name_what_raises_the_score(model: RiskModel) -> None:
    safe = dict.fromkeys(FEATURES, 0.0) | {
        "national_inv": 300.0,
        "forecast_3_month": 20.0,
        "lead_time": 4.0,
        "perf_6_month_avg": 0.95,
        "perf_12_month_avg": 0.9,
    }
    empty = safe | {"national_inv": 0.0, "forecast_3_month": 120.0}
    x = np.array([[row[name] for name in FEATURES] for row in (safe, empty)])
    low, high = model.probability(x)
    assert high > 0.3 > low
    reasons = model.reasons(x)
    assert "on hand 0 against 3-month forecast 120" in reasons[1][:2] or (
        "3-month forecast 120 against on hand 0" in reasons[1][:2]
    )


def test_unknown_flags_take_the_training_mode(model: RiskModel) -> None:
    assert set(model.defaults) == {
        "potential_issue",
        "deck_risk",
        "oe_constraint",
        "ppap_risk",
        "stop_auto_buy",
        "rev_stop",
    }
    assert set(model.defaults.values()) == {0.0}  # one in three said Yes


def test_a_stored_model_scores_the_same_and_anything_else_is_refused(
    model: RiskModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    again = RiskModel.from_bytes(model.to_bytes())
    assert np.array_equal(again.probability(data[0][:50]), model.probability(data[0][:50]))
    with pytest.raises(InvalidRequest, match="not a backorder risk model"):
        RiskModel.from_bytes(b"not a model")


def test_features_in_words() -> None:
    row = np.array([dict.fromkeys(FEATURES, 0.0).get(n, 0.0) for n in FEATURES])
    row[FEATURES.index("perf_6_month_avg")] = 0.83
    row[FEATURES.index("perf_12_month_avg")] = np.nan
    row[FEATURES.index("pieces_past_due")] = 12
    assert describe("perf_6_month_avg", row) == "supplier on time 83% over 6 months"
    assert describe("pieces_past_due", row) == "12 units past due from suppliers"
    assert describe("sales_3_month", row) == "demand 0 in the last 3 months against on hand 0"
    assert describe("rev_stop", row) == "no revision stop (discontinued)"
