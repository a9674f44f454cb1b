"""Backorder risk against a real database (SQLite and PostgreSQL): a model trained on a
file is stored as the active version with its metrics; our SKUs are scored with reasons,
highest risk first; `risk_high` is raised once and resolved when the score falls back; a
bad file or too little history stores nothing; the worker's pass runs once a day."""

from __future__ import annotations

import csv
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from backorder import foresight
from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.services import risk, worker
from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.store.tables import forecast_periods, forecasts, products, risk_models, risk_runs
from tests.conftest import Clock
from tests.factories import order, product
from tests.risk_data import synthetic_rows, write_file


def weekly_forecast(app: Backorder, sku: str, units: float) -> None:
    """A stored network forecast of `units` a week for 13 weeks."""
    with app.db.write() as uow:
        conn = uow.connection
        product_id = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar()
        first = date(2026, 1, 12)
        forecast_id = conn.execute(
            insert(forecasts).returning(forecasts.c.id),
            {
                "product_id": product_id,
                "computed_at": app.now(),
                "first_period": first,
                "method": "ets",
                "demand_class": "smooth",
                "history_periods": 30,
                "mean_demand": units,
                "error_sd": 1.0,
                "safety_stock": 0,
                "inputs": {},
            },
        ).scalar_one()
        conn.execute(
            insert(forecast_periods),
            [
                {
                    "forecast_id": forecast_id,
                    "period_start": first + timedelta(weeks=k),
                    "point": units,
                    "lo80": 0.0,
                    "hi80": units,
                    "lo95": 0.0,
                    "hi95": units,
                }
                for k in range(13)
            ],
        )
        uow.commit()


@pytest.fixture(scope="module")
def training_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_file(tmp_path_factory.mktemp("risk") / "train.csv", synthetic_rows(1000))


def test_no_model_yet_says_how_to_get_one(app: Backorder) -> None:
    with pytest.raises(risk.NoRiskModel, match=r"backorder risk train FILE\.csv --format kaggle"):
        risk.risk_list(app)
    with pytest.raises(risk.NoRiskModel):
        risk.score_all(app)


def test_a_bad_file_stores_nothing(app: Backorder, tmp_path: Path) -> None:
    rows = synthetic_rows(50)
    rows[7]["forecast_3_month"] = "n/a"
    bad = write_file(tmp_path / "bad.csv", rows)
    with pytest.raises(InvalidRequest, match="row 9: forecast_3_month is 'n/a'"):
        risk.train_file(app, bad, "kaggle")
    with pytest.raises(InvalidRequest, match="unknown format 'wide'"):
        risk.train_file(app, bad, "wide")
    with app.db.read() as uow:
        stored = uow.connection.execute(select(func.count()).select_from(risk_models)).scalar()
    assert stored == 0


def test_trained_stored_scored_and_alerted(
    app: Backorder, clock: Clock, training_file: Path, tmp_path: Path
) -> None:
    app.settings.risk_alert_threshold = 0.3
    add_product(app, product("EMPTY"))
    add_product(app, product("FULL"))
    set_stock(app, "FULL", 300)
    weekly_forecast(app, "EMPTY", 10.0)  # 130 in 13 weeks against nothing on hand
    weekly_forecast(app, "FULL", 1.0)

    done = risk.train_file(app, training_file, "kaggle", out=tmp_path / "model.bin")
    assert done["metrics"]["rows"] == 1000 and done["metrics"]["roc_auc"] > 0.8
    assert (tmp_path / "model.bin").stat().st_size > 0
    [stored] = risk.models(app)
    assert (stored["version"], stored["active"], stored["source"]) == (
        done["version"],
        True,
        "kaggle",
    )
    assert stored["metrics"]["positives"] == done["metrics"]["positives"]

    assert risk.score_all(app) == {"scored": 2, "raised": 1, "resolved": 0}
    top = risk.risk_list(app, top=5)
    assert [r["sku"] for r in top] == ["EMPTY", "FULL"]
    assert top[0]["probability"] > 0.3 > top[1]["probability"]
    assert "on hand 0 against 3-month forecast 130" in top[0]["reasons"]
    assert top[0]["features"]["forecast_3_month"] == 130.0
    assert risk.risk_of(app, "FULL")["sku"] == "FULL"
    with pytest.raises(UnknownSku):
        risk.risk_of(app, "NOPE")
    [alert] = alert_list(app)
    assert (alert["kind"], alert["sku"], alert["audience"]) == (
        "risk_high",
        "EMPTY",
        ["procurement"],
    )

    assert risk.score_all(app)["raised"] == 0  # raised once, not again while it stands
    set_stock(app, "EMPTY", 500)
    assert risk.score_all(app) == {"scored": 2, "raised": 0, "resolved": 1}
    assert alert_list(app) == []

    # a file scored by the stored model, by a version, and by the model file: the same
    plain = write_file(tmp_path / "score.csv", synthetic_rows(20, seed=5), labelled=False)
    outputs = []
    for source in (None, done["version"], tmp_path / "model.bin"):
        target = tmp_path / f"scores-{len(outputs)}.csv"
        assert risk.score_file(app, plain, "kaggle", target, source) == 20
        with target.open() as handle:
            outputs.append(list(csv.reader(handle)))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0] == ["sku", "probability"] and outputs[0][1][0] == "S0"
    assert all(0 <= float(p) <= 1 for _, p in outputs[0][1:])
    with pytest.raises(InvalidRequest, match="no risk model version 99"):
        risk.score_file(app, plain, "kaggle", tmp_path / "x.csv", 99)


def test_our_own_history_too_short_to_train(app: Backorder) -> None:
    add_product(app, product("A"))
    with pytest.raises(InvalidRequest, match=r"0 weekly SKU snapshot.*30 of each are needed"):
        risk.train_own(app)


def test_the_nightly_pass_runs_once_a_day(app: Backorder, clock: Clock) -> None:
    add_product(app, product("A"))

    def runs() -> list[tuple[date, int, str]]:
        with app.db.read() as uow:
            rows = uow.connection.execute(select(risk_runs).order_by(risk_runs.c.day))
            return [(r.day, r.scored, r.note) for r in rows]

    assert risk.nightly(app) == {}  # no model, not enough history: noted, nothing done
    [(day, scored, note)] = runs()
    assert (day, scored) == (clock.current.date(), 0)
    assert note.startswith("not retrained: our history has 0 weekly SKU snapshot(s)")
    risk.nightly(app)
    assert len(runs()) == 1  # done today
    clock.advance(days=1)
    risk.nightly(app)
    assert len(runs()) == 2


def test_the_nightly_pass_scores_with_the_active_model(app: Backorder, training_file: Path) -> None:
    add_product(app, product("A"))
    risk.train_file(app, training_file, "kaggle")
    assert risk.nightly(app) == {"risk_scored": 1}
    assert risk.nightly(app) == {}


def test_retrained_on_our_own_history_once_it_has_enough_outcomes(
    app: Backorder, clock: Clock
) -> None:
    """Sixty weeks of history: SHORT never has stock and an order comes every two weeks
    (each waits), DEEP has plenty and the same orders (none waits). Weekly snapshots: SHORT's went
    on backorder within 8 weeks, DEEP's did not, so a model trained on them ranks SHORT
    first."""
    app.settings.risk_retrain_min_outcomes = 10
    start = clock.current
    add_product(app, product("SHORT"))
    add_product(app, product("DEEP"))
    set_stock(app, "DEEP", 10_000)
    for k in range(30):  # bounded: sixty weeks of fortnights
        clock.current = start + timedelta(weeks=2 * k)
        for sku in ("SHORT", "DEEP"):
            place_order(app, order(f"{sku}-{k}", (sku, 3), placed_at=clock.current))
    clock.current = start + timedelta(weeks=59)
    done = risk.train_own(app)
    assert done["source"] == "own" and done["metrics"]["positives"] >= 10
    assert done["metrics"]["rows"] - done["metrics"]["positives"] >= 10
    [stored] = [m for m in risk.models(app) if m["active"]]
    assert stored["source"] == "own"
    risk.score_all(app)
    assert [r["sku"] for r in risk.risk_list(app)] == ["SHORT", "DEEP"]


def test_without_the_extra_the_worker_step_says_so_once(
    app: Backorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(foresight, "available", lambda: False)
    monkeypatch.setattr(worker, "_told", set())
    caplog.set_level(logging.INFO, logger="backorder.services.worker")
    assert worker._risk(app) == {} and worker._risk(app) == {}
    said = [r.getMessage() for r in caplog.records if "risk step skipped" in r.getMessage()]
    assert said == [
        "risk step skipped: backorder risk needs the forecast extra: "
        "pip install 'backorder[forecast]'"
    ]
    with app.db.read() as uow:
        assert uow.connection.execute(select(func.count()).select_from(risk_runs)).scalar() == 0
