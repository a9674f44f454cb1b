"""GET /api/v1/orders and /products in process: the service's pages, with filters and
cursors as query parameters, for any role that may read; bad filters are problems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.search import OrderFilter, list_orders
from tests.integration.test_search import shop  # noqa: F401  (the fixture)


@pytest.fixture
def viewer(shop: Backorder) -> Iterator[TestClient]:  # noqa: F811
    key = create_key(shop, Role.VIEWER).key
    with TestClient(create_app(shop), headers={"Authorization": f"Bearer {key}"}) as http:
        yield http


def test_orders_are_listed_with_the_filters_and_paged(viewer: TestClient, shop: Backorder) -> None:  # noqa: F811
    answer = viewer.get("/api/v1/orders", params={"status": "backordered", "sku": "LAMP-OAK"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == asdict(list_orders(shop, OrderFilter("backordered", "LAMP-OAK")))
    assert [o["ref"] for o in answer.json()["items"]] == ["web:5", "web:1"]
    first = viewer.get("/api/v1/orders", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = viewer.get("/api/v1/orders", params={"limit": 3, "cursor": first["next_cursor"]})
    assert [o["ref"] for o in first["items"] + rest.json()["items"]] == [
        "web:5",
        "web:4",
        "amazon:3",
        "web:2",
        "web:1",
    ]
    assert rest.json()["next_cursor"] is None
    found = viewer.get("/api/v1/orders", params={"q": "#9001", "since": "2026-01-01"}).json()
    assert [o["display_number"] for o in found["items"]] == ["#9001"]
    assert (
        viewer.get("/api/v1/orders", params={"channel": "amazon", "customer": "c-3"}).json()[
            "items"
        ][0]["status"]
        == "shipped"
    )


def test_products_are_listed_by_sku(viewer: TestClient) -> None:
    answer = viewer.get("/api/v1/products", params={"q": "oak", "limit": 10}).json()
    assert [(p["sku"], p["name"]) for p in answer["items"]] == [("LAMP-OAK", "Oak desk lamp")]


def test_bad_filters_are_problems_that_say_which(viewer: TestClient) -> None:
    status = viewer.get("/api/v1/orders", params={"status": "lost"})
    assert status.status_code == 422 and "status" in status.text
    cursor = viewer.get("/api/v1/orders", params={"cursor": "x"})
    assert cursor.status_code == 422 and "not a cursor" in cursor.json()["detail"]
    limit = viewer.get("/api/v1/products", params={"limit": 1000})
    assert limit.status_code == 422
