"""References that hold `/`, `?`, `#`, `%` and the like (an EDI PO number is `PO/2026/0042`)
round-trip through every route that takes one, every link the service builds for one, and
the dashboard's record pages, on a real server on each backend. Each reference travels as
one percent-encoded path segment."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.links import segment
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.services.tasks import list_tasks
from tests.api.live import Server, call
from tests.conftest import Clock
from tests.factories import jan, order, product

# Whatever intake takes in an external id (no `:`, spaces or control characters), at its
# most awkward: separators and escapes of URLs, dot segments, other scripts, and text that
# is itself a percent-escape.
EXTERNAL_IDS = [
    "PO/2026/0042",
    "a?b=c&d=e#frag",
    "100%",
    "%2F%25%3F",
    "+plus+and;semi,comma",
    "..",
    ".",
    "x/../y/./z",
    "/leading/and/trailing/",
    "é/日本/🙂",
    "~!$'()*@[]{}|^`\"<>\\",
]
SKUS = ["SKU/1", "Q?#%", "..", "é/🙂", "50%25+1&2"]


def _order(external_id: str, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "channel": "edi",
        "external_id": external_id,
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": f"buyer/{external_id}", "email": "buyer@example.com"},
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.request.url, answer.text)
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text


def _follow(base: str, link: str) -> str:
    """A link the service built (under BACKORDER_PUBLIC_URL) on this server, as it is."""
    parts = urlsplit(link)
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def stocked(server: Server) -> str:
    """A product with stock for every order here, and one without."""
    admin = server.keys["admin"]
    for sku in ("REF-STOCKED", "REF-WAITING"):
        body = {"sku": sku, "name": "r", "price": "3"}
        _ok(call(server.base, admin, "POST", "/api/v1/products", body), 201)
    _ok(call(server.base, admin, "PUT", "/api/v1/stock/REF-STOCKED", {"on_hand": 1000}))
    return "REF-STOCKED"


@pytest.mark.parametrize("external_id", EXTERNAL_IDS)
def test_an_order_reference_round_trips_through_every_order_route_and_link(
    server: Server, stocked: str, external_id: str
) -> None:
    base, admin = server.base, server.keys["admin"]
    ref = f"edi:{external_id}"
    at = f"/api/v1/orders/{segment(ref)}"
    placed = _ok(
        call(
            base,
            admin,
            "POST",
            "/api/v1/orders",
            _order(external_id, (stocked, 3), ("REF-WAITING", 1)),
        ),
        201,
    )
    assert placed["ref"] == ref
    assert _ok(call(base, admin, "GET", at))["external_id"] == external_id
    _ok(call(base, admin, "GET", f"{at}/notifications"))
    link = _ok(call(base, admin, "POST", f"{at}/customer-link"))
    assert f"/api/v1/customer/orders/{segment(ref)}?token=" in link["url"]
    assert _ok(httpx.get(_follow(base, link["url"])))["ref"] == ref  # the e-mails' view link
    cancelled = _ok(call(base, admin, "POST", f"{at}/cancel", {"line": 1, "qty": 1}))
    assert cancelled["cancel"]["ref"] == ref
    shipped = _ok(call(base, admin, "POST", f"{at}/ship", {"tracking": "1Z"}))
    assert (shipped["shipment"]["ref"], shipped["shipment"]["units"]) == (ref, 2)
    mine = f"/api/v1/customer/orders/{segment(ref)}"
    token = {"token": link["token"]}
    assert _ok(httpx.get(base + mine, params=token))["ref"] == ref
    assert _ok(httpx.get(f"{base}{mine}/delay", params=token))["ref"] == ref
    page = httpx.get(f"{base}/customer/orders/{segment(ref)}/delay", params=token)
    assert page.status_code == 200, page.text  # the delay notice's page
    assert _ok(httpx.post(f"{base}{mine}/cancel", params=token))["order"]["status"] == "shipped"
    unsubscribe = link["url"].replace("?token=", "/unsubscribe?token=", 1)  # List-Unsubscribe
    assert _ok(httpx.post(_follow(base, unsubscribe)))["customer"] == f"buyer/{external_id}"
    customer = f"/api/v1/customers/{segment(f'buyer/{external_id}')}/preferences"
    assert _ok(call(base, admin, "GET", customer))["channels"]["email"] == "out"
    other = _ok(
        call(base, admin, "GET", f"/api/v1/orders/{segment('edi:' + external_id + 'x')}"), 404
    )
    assert other["type"] == "/problems/unknown-order"


@pytest.mark.parametrize("sku", SKUS)
def test_a_sku_round_trips_through_every_route_that_takes_one(server: Server, sku: str) -> None:
    base, admin = server.base, server.keys["admin"]
    at = segment(sku)
    body = {"sku": sku, "name": "odd", "price": "2"}
    assert _ok(call(base, admin, "POST", "/api/v1/products", body), 201)["sku"] == sku
    assert _ok(call(base, admin, "GET", f"/api/v1/products/{at}"))["sku"] == sku
    patched = _ok(call(base, admin, "PATCH", f"/api/v1/products/{at}", {"lead_time_days": 9}))
    assert (patched["sku"], patched["lead_time_days"]) == (sku, 9)
    external = f"sku-{SKUS.index(sku)}"
    _ok(call(base, admin, "POST", "/api/v1/orders", _order(external, (sku, 2))), 201)
    queue = _ok(call(base, admin, "GET", f"/api/v1/queues/{at}"))
    assert (queue["sku"], queue["depth"]) == (sku, 1)
    assert _ok(call(base, admin, "GET", f"/api/v1/atp/{at}"))["sku"] == sku
    received = _ok(call(base, admin, "POST", f"/api/v1/stock/{at}/receipts", {"qty": 1}))
    assert (received["sku"], received["units_allocated"]) == (sku, 1)
    counted = _ok(call(base, admin, "PUT", f"/api/v1/stock/{at}", {"on_hand": 2}))
    assert (counted["sku"], counted["allocated"]) == (sku, 2)
    assert _ok(call(base, admin, "GET", f"/api/v1/stock/{at}"))["on_hand"] == 2


def test_a_supplier_and_a_purchase_order_round_trip_too(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    supplier, po = "ACME/EU?#%", "PO/2026/0042"
    body = {"id": supplier, "name": "Acme", "lead_time_days": 5}
    _ok(call(base, admin, "POST", "/api/v1/suppliers", body), 201)
    _ok(call(base, admin, "PATCH", f"/api/v1/suppliers/{segment(supplier)}", {"lead_time_days": 6}))
    assert _ok(call(base, admin, "GET", f"/api/v1/suppliers/{segment(supplier)}"))["id"] == supplier
    line = {"sku": "WIDGET-BLUE", "quantity": 5, "expected_on": "2099-01-01"}
    body = {"po": po, "supplier": supplier, "lines": [line]}
    _ok(call(base, admin, "POST", "/api/v1/purchase-orders", body), 201)
    at = f"/api/v1/purchase-orders/{segment(po)}"
    assert _ok(call(base, admin, "GET", at))["po"] == po
    redate = {"sku": "WIDGET-BLUE", "expected_on": "2099-02-01"}
    _ok(call(base, admin, "POST", f"{at}/redate", redate))
    _ok(call(base, admin, "POST", f"{at}/reduce", {"sku": "WIDGET-BLUE", "quantity": 4}))
    assert _ok(call(base, admin, "POST", f"{at}/cancel"))["state"] == "cancelled"


def test_record_pages_open_every_reference_and_link_to_the_next(
    server: Server, stocked: str
) -> None:
    base, admin = server.base, server.keys["admin"]
    external_id, sku = "REC/1?#%", "REC/SKU?#%"
    _ok(call(base, admin, "POST", "/api/v1/products", {"sku": sku, "name": "r", "price": "1"}), 201)
    _ok(call(base, admin, "POST", "/api/v1/orders", _order(external_id, (sku, 1))), 201)
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        signed = browser.post("/login", data={"key": admin}, headers={"Origin": base})
        assert signed.status_code == 303, signed.text
        order_page = browser.get(f"/records/orders/{segment('edi:' + external_id)}")
        assert order_page.status_code == 200, order_page.text
        assert "edi:REC/1?#%" in order_page.text.replace("&#34;", '"').replace("&amp;", "&")
        links = set(re.findall(r'href="(/records/[^"]+)"', order_page.text))
        assert f"/records/products/{segment(sku)}" in links
        for link in links:
            assert browser.get(link).status_code == 200, link


def test_the_links_of_a_review_task_open_their_records(app: Backorder, clock: Clock) -> None:
    sku, po, ref = "LATE/SKU?#%", "PO/2026/7", "web:LATE/1?#%"
    add_supplier(app, SupplierIn("ACME/1", "Acme", 20, None))
    add_product(app, product(sku, supplier="ACME/1"))
    place_order(app, order("LATE/1?#%", (sku, 4), placed_at=jan(5)))
    add_purchase_order(app, po, "ACME/1", [PoLineIn(sku, 2, date(2026, 1, 12))])
    clock.advance(days=30)
    run_review(app)
    tasks = list_tasks(app, state="open")
    assert tasks, "the review opened no task"
    links = tasks[0]["links"]
    assert links["orders"] == [f"{app.settings.public_url}/api/v1/orders/{segment(ref)}"]
    with TestClient(create_app(app)) as client:
        client.headers["Authorization"] = f"Bearer {create_key(app, Role.ADMIN).key}"
        for link in [links["product"], links["queue"], *links["orders"], *links["purchase_orders"]]:
            answer = client.get(urlsplit(link).path)
            assert answer.status_code == 200, (link, answer.text)
    assert links["purchase_orders"]
