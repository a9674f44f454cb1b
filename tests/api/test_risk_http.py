"""GET /api/v1/risk and /api/v1/risk/{sku} in process: our SKUs highest risk first with
their reasons; 404 in words before any model exists and for an unknown SKU."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.foresight.risk import RiskModel, fit, read_kaggle
from backorder.services import risk
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from tests.factories import product
from tests.integration.test_risk import weekly_forecast
from tests.risk_data import synthetic_rows, write_file


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> RiskModel:
    path = write_file(tmp_path_factory.mktemp("risk") / "t.csv", synthetic_rows(800))
    data = read_kaggle(path, labelled=True)
    assert data.y is not None
    return fit(data.x, data.y, folds=3)


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    add_product(app, product("EMPTY"))
    add_product(app, product("FULL"))
    set_stock(app, "FULL", 300)
    weekly_forecast(app, "EMPTY", 10.0)
    with TestClient(create_app(app)) as http:
        http.headers["Authorization"] = f"Bearer {create_key(app, Role.VIEWER).key}"
        yield http


def test_before_any_model_the_answer_says_how_to_train(client: TestClient) -> None:
    answer = client.get("/api/v1/risk")
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/no-risk-model"
    assert "backorder risk train" in answer.json()["detail"]


def test_our_skus_highest_risk_first_with_reasons(
    client: TestClient, app: Backorder, model: RiskModel
) -> None:
    risk._store(app, model, {"roc_auc": 0.9}, "kaggle", "test")
    risk.score_all(app)
    answer = client.get("/api/v1/risk", params={"top": 1})
    assert answer.status_code == 200, answer.text
    [first] = answer.json()
    assert first["sku"] == "EMPTY" and first["probability"] > 0.3
    assert "on hand 0 against 3-month forecast 130" in first["reasons"]
    one = client.get("/api/v1/risk/FULL")
    assert one.status_code == 200 and one.json()["probability"] < first["probability"]
    assert client.get("/api/v1/risk/NOPE").json()["type"] == "/problems/unknown-sku"
    assert client.get("/api/v1/risk", params={"top": 0}).status_code == 422
