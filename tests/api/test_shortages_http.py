"""GET /api/v1/shortages and /api/v1/projections/{sku}, the dashboard's "Coming shortages"
panel and the chart on the SKU's page, in process on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.foresight_plan import refresh
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.supply import SupplierIn, add_supplier
from tests.factories import product
from tests.plan_helpers import store_forecast

SKU = "WIDGET-BLUE"


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    """20 on hand, 8 a week forecast: short by 7 in the week of 26 January (the clock:
    Saturday the 10th); a steady SKU beside it with enough stock."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7, "buy@acme.example"))
    add_product(app, product(SKU, name="Blue widget", supplier="ACME"))
    add_product(app, product("STEADY", supplier="ACME"))
    receive_stock(app, SKU, 20)
    receive_stock(app, "STEADY", 500)
    store_forecast(app, SKU, [8.0] * 12, spread=(8.0, 2.0))
    store_forecast(app, "STEADY", [2.0] * 12, spread=(2.0, 1.0))
    refresh(app)
    with TestClient(create_app(app), follow_redirects=False) as http:
        yield http


def _key(app: Backorder, role: Role = Role.VIEWER) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app, role).key}"}


def test_shortages_list_the_skus_projected_to_stock_out(client: TestClient, app: Backorder) -> None:
    answer = client.get("/api/v1/shortages", headers=_key(app))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["weeks"], body["count"]) == (8, 1)
    (shortage,) = body["shortages"]
    assert shortage | {"safety_stock": None, "reorder_point": None} == {
        "sku": SKU,
        "name": "Blue widget",
        "week": "2026-01-26",
        "units_short": 7,
        "order_by": "2026-01-19",
        "late": False,
        "safety_stock": None,
        "reorder_point": None,
        "risk": None,
    }
    assert client.get("/api/v1/shortages?weeks=1", headers=_key(app)).json()["count"] == 0
    refused = client.get("/api/v1/shortages?weeks=53", headers=_key(app))
    assert refused.status_code == 422
    assert client.get("/api/v1/shortages").status_code == 401


def test_a_projection_shows_the_weeks_the_stockout_and_the_safety_stock_inputs(
    client: TestClient, app: Backorder
) -> None:
    answer = client.get(f"/api/v1/projections/{SKU}?weeks=4", headers=_key(app))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # 2/7 of the first week's 8 are still to come (the clock: Saturday)
    assert [w["available"] for w in body["weeks"]] == [17.714, 9.714, 1.714, -6.286]
    assert body["stockout"] == {
        "week": "2026-01-26",
        "units_short": 7,
        "arrive_by": "2026-01-26",
        "order_by": "2026-01-19",
        "late": False,
    }
    # safety stock: z(0.95) 1.645 x sigma_d 2 x sqrt(1 week) = 3.29 -> 4; 4 is not below it
    assert body["below_safety_week"] == "2026-01-19"
    inputs = body["safety_stock"]
    assert (inputs["lead_time_days"], inputs["lead_time_source"]) == (7, "supplier")
    assert (inputs["safety_stock"], inputs["reorder_point"], inputs["method"]) == (4, 12, "normal")
    missing = client.get("/api/v1/projections/NOPE", headers=_key(app))
    assert missing.status_code == 404


def test_the_dashboard_lists_coming_shortages_linked_to_the_sku_page_with_its_chart(
    client: TestClient, app: Backorder
) -> None:
    key = create_key(app, Role.VIEWER)
    assert client.post("/login", data={"key": key.key}).status_code == 303
    page = client.get("/").text
    assert 'data-testid="shortages-count">1<' in page
    assert 'data-testid="shortage-WIDGET-BLUE"' in page and "shortage-STEADY" not in page
    assert 'href="/records/products/WIDGET-BLUE"' in page
    sku_page = client.get(f"/records/products/{SKU}")
    assert sku_page.status_code == 200
    chart = sku_page.text.split('data-testid="projection-chart"', 1)[1]
    assert chart.lstrip(">").lstrip().startswith("<svg")
    assert "Projected to run out in the week of" in sku_page.text
    steady = client.get("/records/products/STEADY").text
    assert "No stockout projected in the next 12 weeks" in steady
