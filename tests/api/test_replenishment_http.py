"""GET /api/v1/replenishment and /api/v1/replenishment/{id}, in process on SQLite and
PostgreSQL: the proposed lines paged and filtered, one by id, refusals as problems."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.product_suppliers import update_terms
from backorder.services.products import add_product
from backorder.services.replenishment import plan
from backorder.services.stock import receive_stock
from backorder.services.supply import SupplierIn, add_supplier
from tests.factories import product
from tests.plan_helpers import store_forecast


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    """Three SKUs of ACME (4.00 a unit, 7 days) running out: A in the week of 12 January,
    B and C of 19 January (the clock: Saturday the 10th)."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 7))
    for sku, weekly in (("A", 40.0), ("B", 12.0), ("C", 12.0)):
        add_product(app, product(sku, supplier="ACME"))
        update_terms(app, sku, "ACME", {"cost": Decimal("4.00")}, preferred=False)
        receive_stock(app, sku, 20)
        store_forecast(app, sku, [weekly] * 12, spread=(weekly, 2.0))
    plan(app)
    with TestClient(create_app(app), follow_redirects=False) as http:
        yield http


def _key(app: Backorder) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app, Role.VIEWER).key}"}


def test_the_proposed_lines_are_paged_soonest_need_first(
    client: TestClient, app: Backorder
) -> None:
    key = _key(app)
    first = client.get("/api/v1/replenishment?limit=2", headers=key)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [(r["sku"], r["need_by"]) for r in page["items"]] == [
        ("A", "2026-01-12"),
        ("B", "2026-01-19"),
    ]
    assert page["items"][0]["supplier"] == "ACME" and page["items"][0]["state"] == "proposed"
    rest = client.get(f"/api/v1/replenishment?limit=2&cursor={page['next_cursor']}", headers=key)
    assert [r["sku"] for r in rest.json()["items"]] == ["C"] and rest.json()["next_cursor"] is None
    only = client.get("/api/v1/replenishment?sku=B&location=network", headers=key).json()
    assert [r["sku"] for r in only["items"]] == ["B"]
    assert client.get("/api/v1/replenishment?state=accepted", headers=key).json()["items"] == []
    one = client.get(f"/api/v1/replenishment/{page['items'][0]['id']}", headers=key)
    assert one.status_code == 200 and one.json() == page["items"][0]


def test_refusals_are_problems(client: TestClient, app: Backorder) -> None:
    key = _key(app)
    missing = client.get("/api/v1/replenishment/999999", headers=key)
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("unknown-recommendation")
    assert client.get("/api/v1/replenishment?state=maybe", headers=key).status_code == 422
    bad = client.get("/api/v1/replenishment?cursor=yesterday", headers=key)
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    nowhere = client.get("/api/v1/replenishment?location=nowhere", headers=key)
    assert nowhere.status_code == 404
