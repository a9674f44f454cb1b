"""GET /api/v1/demand/{sku}, /api/v1/forecasts/{sku} and the product page's forecast, in
process, on the hand-checked demand story with 40 weeks of imported history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder import foresight
from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.demand import demand_view, import_history
from backorder.services.forecast_views import forecast_view
from backorder.services.forecasts import recompute
from tests.integration.test_demand import make_story
from tests.integration.test_forecasts import HISTORY


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    make_story(app)
    import_history(app, HISTORY)
    with TestClient(create_app(app)) as http:
        http.headers["Authorization"] = f"Bearer {create_key(app, Role.VIEWER).key}"
        yield http


def test_a_viewer_reads_the_demand_of_a_sku_by_period(client: TestClient, app: Backorder) -> None:
    answer = client.get("/api/v1/demand/BOLT", params={"by": "month", "last": "4"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == demand_view(app, "BOLT", "month", last=4)
    assert [(p["period"], p["ordered"]) for p in body["periods"]] == [
        ("2025-10", 0),
        ("2025-11", 0),
        ("2025-12", 3),
        ("2026-01", 11),
    ]
    main = client.get("/api/v1/demand/BOLT", params={"location": "main", "last": "2"}).json()
    assert [p["ordered"] for p in main["periods"]] == [5, 0]


def test_the_stored_forecast_is_read_cut_to_the_horizon(client: TestClient, app: Backorder) -> None:
    recompute(app)
    answer = client.get("/api/v1/forecasts/BOLT", params={"horizon": "8"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == forecast_view(app, "BOLT", horizon=8)
    assert body["stored"] is True and len(body["periods"]) == 8
    assert body["periods"][0] == body["periods"][0] | {"week": "2026-W02", "start": "2026-01-05"}


def test_none_stored_is_computed_now(client: TestClient) -> None:
    body = client.get("/api/v1/forecasts/BOLT").json()
    assert body["stored"] is False and len(body["periods"]) == 26


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        ("/api/v1/forecasts/NOPE", 404, "/problems/unknown-sku"),
        ("/api/v1/forecasts/NUT", 404, "/problems/no-demand-history"),
        ("/api/v1/forecasts/BOLT?location=nowhere", 404, "/problems/unknown-location"),
        ("/api/v1/forecasts/BOLT?horizon=0", 422, "/problems/validation"),
        ("/api/v1/forecasts/BOLT?horizon=4&horizon=5", 422, "/problems/validation"),
        ("/api/v1/demand/NOPE", 404, "/problems/unknown-sku"),
        ("/api/v1/demand/BOLT?by=year", 422, "/problems/validation"),
    ],
)
def test_refusals_are_problem_documents(
    client: TestClient, path: str, status: int, kind: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == kind


def test_without_the_extra_a_forecast_to_compute_is_a_503_naming_the_install(
    client: TestClient, app: Backorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recompute(app)
    monkeypatch.setattr(foresight, "available", lambda: False)
    answer = client.get("/api/v1/forecasts/BOLT", params={"horizon": "30"})
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/forecast-unavailable"
    assert "pip install 'backorder[forecast]'" in answer.json()["detail"]
    assert client.get("/api/v1/forecasts/BOLT").status_code == 200  # the stored one reads
    assert client.get("/api/v1/demand/BOLT").status_code == 200


def test_the_product_page_shows_the_forecast(client: TestClient, app: Backorder) -> None:
    recompute(app)
    del client.headers["Authorization"]
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    page = client.get("/records/products/BOLT").text
    assert 'data-testid="forecast"' in page and 'data-testid="forecast-weeks"' in page
    view = forecast_view(app, "BOLT", horizon=12)
    assert f"<strong>{view['method']}</strong> for <strong>smooth</strong> demand" in page
    assert page.count('<td data-label="week">2026-W') == 12
    nut = client.get("/records/products/NUT").text
    assert 'data-testid="no-forecast"' in nut and "no forecast of NUT stored yet" in nut


def test_the_product_page_shows_only_a_stored_forecast(client: TestClient, app: Backorder) -> None:
    """The page does not make the forecaster run while it renders: before the worker's
    night (or `forecast run`) it says none is stored; the API computes one when asked."""
    answer = client.get("/api/v1/forecasts/BOLT", params={"stored_only": "true"})
    assert answer.status_code == 404 and answer.json()["type"] == "/problems/no-forecast-stored"
    assert "backorder forecast run" in answer.json()["detail"]
    del client.headers["Authorization"]
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    page = client.get("/records/products/BOLT").text
    assert 'data-testid="no-forecast"' in page and "no forecast of BOLT stored yet" in page
    recompute(app)
    assert 'data-testid="forecast-weeks"' in client.get("/records/products/BOLT").text


def test_the_forecast_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    forecast = paths["/api/v1/forecasts/{sku}"]["get"]
    assert {"200", "404", "503"} <= set(forecast["responses"])
    assert "/api/v1/demand/{sku}" in paths
