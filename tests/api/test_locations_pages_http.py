"""Locations on the dashboard's pages: stock by location on the dashboard and the product
page, where a queue's next units come from, and where an order's units came from."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_next_units import shop


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    shop(app)  # BOLT waits: US 3, DE 2; PO-1 brings 10 to main on 1 February
    add_product(app, product("NUT"))
    set_stock(app, "NUT", 4, location="east")
    set_stock(app, "NUT", 1)
    place_order(app, order("n", ("NUT", 2)))
    with TestClient(create_app(app), follow_redirects=False) as http:
        http.post("/login", data={"key": create_key(app, Role.VIEWER).key})
        yield http


def cells(html: str, testid: str) -> list[str]:
    """The text of each cell of the row marked `testid`."""
    row = re.search(rf'data-testid="{testid}">(.*?)</tr>', html, re.S)
    assert row is not None, testid
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row[1], re.S)
    ]


def test_the_product_page_shows_stock_by_location_and_where_the_next_units_come_from(
    client: TestClient,
) -> None:
    page = client.get("/records/products/NUT").text
    assert cells(page, "stock-at-east") == ["east", "4", "2", "2"]
    assert cells(page, "stock-at-main") == ["main", "1", "0", "1"]
    assert cells(page, "stock-total") == ["total", "5", "2", "3"]
    bolt = client.get("/records/products/BOLT").text
    assert cells(bolt, "source-east") == ["east", "1", "3", "0", "0", "none"]
    assert cells(bolt, "source-main")[:5] == ["main", "2", "5", "0", "10"]
    assert "PO-1: 10 on" in cells(bolt, "source-main")[5]
    said = re.search(r'data-testid="next-units">(.*?)</p>', bolt, re.S)
    assert said is not None
    assert re.sub(r"<[^>]+>", "", said[1]).startswith(
        "Next: 10 units at main on purchase order PO-1, expected"
    )


def test_a_purchase_order_past_its_date_is_said_to_be_overdue(
    client: TestClient, app: Backorder, clock: Clock
) -> None:
    clock.advance(days=25)  # 4 February: PO-1 was expected on the 1st
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})  # a new session
    bolt = client.get("/records/products/BOLT").text
    said = re.search(r'data-testid="next-units">(.*?)</p>', bolt, re.S)
    assert said is not None
    assert re.sub(r"<[^>]+>", "", said[1]).startswith(
        "Next: 10 units at main on purchase order PO-1, overdue: expected"
    )


def test_the_sources_answer_over_http(client: TestClient) -> None:
    seen = client.get("/api/v1/queues/BOLT/sources").json()
    assert seen["next"] == {
        "location": "main",
        "po": "PO-1",
        "transfer": None,
        "expected_on": "2026-02-01",
        "units": 10,
    }
    assert [s["location"] for s in seen["locations"]] == ["east", "main"]
    assert client.get("/api/v1/queues/NOPE/sources").status_code == 404


def test_the_dashboard_shows_stock_by_location_and_each_queues_next_source(
    client: TestClient,
) -> None:
    body = client.get("/dashboard/body").text
    assert cells(body, "location-east")[1:] == ["1", "4", "2", "2"]
    assert cells(body, "location-total") == ["network", "", "5", "2", "3"]
    cell = re.search(r'data-testid="queue-next-BOLT">(.*?)</td>', body, re.S)
    assert cell is not None and re.sub(r"<[^>]+>", "", cell[1]) == "main (PO-1)"


def test_an_order_page_says_where_its_units_came_from_and_shipped_from(
    client: TestClient, app: Backorder
) -> None:
    ship_order(app, "web:n", tracking="T-9")
    page = client.get("/records/orders/web:n").text
    assert "at <strong>east</strong>: first by priority" in page
    assert '<td data-label="from">east</td>' in page
    assert client.get("/api/v1/orders/web:n").json()["shipments"][0]["location"] == "east"
