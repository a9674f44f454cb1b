"""Every state an order can be in answers on every order route, on a real server.

The answers are checked against their response models after the use case has committed, so
a state the model does not know would turn a cancel or a shipment that was made into a 500.
Every allocation source the engine records is walked through every route that shows an
order: read, cancel, ship, the customer's view and cancel, its notifications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.model import AllocationSource
from backorder.services.context import Backorder
from backorder.store.tables import secrets
from tests.api.live import Server, call


def _order(external_id: str, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": external_id,
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": f"c-{external_id}", "email": "ada@example.com"},
        "lines": [{"sku": sku, "quantity": quantity}],
    }


def _ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _by_intake(server: Server, sku: str, refs: list[str]) -> None:
    _ok(call(server.base, server.keys["admin"], "PUT", f"/api/v1/stock/{sku}", {"on_hand": 4}))
    for ref in refs:
        _ok(
            call(server.base, server.keys["admin"], "POST", "/api/v1/orders", _order(ref, sku, 2)),
            201,
        )


def _backordered(server: Server, sku: str, refs: list[str]) -> None:
    for ref in refs:
        _ok(
            call(server.base, server.keys["admin"], "POST", "/api/v1/orders", _order(ref, sku, 2)),
            201,
        )


def _by_receipt(server: Server, sku: str, refs: list[str]) -> None:
    _backordered(server, sku, refs)
    body = {"qty": 4, "ref": "PO-1"}
    _ok(call(server.base, server.keys["admin"], "POST", f"/api/v1/stock/{sku}/receipts", body))


def _by_stock_set(server: Server, sku: str, refs: list[str]) -> None:
    _backordered(server, sku, refs)
    _ok(call(server.base, server.keys["admin"], "PUT", f"/api/v1/stock/{sku}", {"on_hand": 4}))


def _by_release(server: Server, sku: str, refs: list[str]) -> None:
    admin = server.keys["admin"]
    _ok(call(server.base, admin, "PUT", f"/api/v1/stock/{sku}", {"on_hand": 4}))
    holder = f"{refs[0]}-holder"
    _ok(call(server.base, admin, "POST", "/api/v1/orders", _order(holder, sku, 4)), 201)
    _backordered(server, sku, refs)
    _ok(call(server.base, admin, "POST", f"/api/v1/orders/web:{holder}/cancel", {}))


# How to get stock to a line by each source; every source the engine records has one.
RECIPES: dict[AllocationSource, Callable[[Server, str, list[str]], None]] = {
    AllocationSource.INTAKE: _by_intake,
    AllocationSource.RECEIPT: _by_receipt,
    AllocationSource.STOCK_SET: _by_stock_set,
    AllocationSource.RELEASE: _by_release,
}


def test_every_allocation_source_has_a_recipe() -> None:
    assert set(RECIPES) == set(AllocationSource)


@pytest.mark.parametrize("source", list(AllocationSource))
def test_every_order_route_answers_an_order_served_by_each_source(
    server: Server, source: AllocationSource
) -> None:
    base, admin = server.base, server.keys["admin"]
    sku = f"SOURCE-{source.value.upper()}"
    _ok(call(base, admin, "POST", "/api/v1/products", {"sku": sku, "name": "s", "price": "2"}), 201)
    shipped, cancelled = f"{source.value}-ship", f"{source.value}-cancel"
    RECIPES[source](server, sku, [shipped, cancelled])
    for ref in (f"web:{shipped}", f"web:{cancelled}"):
        order = _ok(call(base, admin, "GET", f"/api/v1/orders/{ref}"))
        assert [a["source"] for a in order["lines"][0]["allocations"]] == [source.value]
        _ok(call(base, admin, "GET", f"/api/v1/orders/{ref}/notifications"))
        link = _ok(call(base, admin, "POST", f"/api/v1/orders/{ref}/customer-link"))
        seen = _ok(
            httpx.get(f"{base}/api/v1/customer/orders/{ref}", params={"token": link["token"]})
        )
        assert seen["lines"][0]["allocated"] == 2
    ship = _ok(call(base, admin, "POST", f"/api/v1/orders/web:{shipped}/ship", {"tracking": "1Z"}))
    assert ship["order"]["status"] == "shipped"
    part = _ok(
        call(base, admin, "POST", f"/api/v1/orders/web:{cancelled}/cancel", {"qty": 1, "line": 1})
    )
    assert part["order"]["lines"][0]["allocations"][0]["source"] == source.value
    link = _ok(call(base, admin, "POST", f"/api/v1/orders/web:{cancelled}/customer-link"))
    rest = httpx.post(
        f"{base}/api/v1/customer/orders/web:{cancelled}/cancel", params={"token": link["token"]}
    )
    assert _ok(rest)["order"]["status"] == "cancelled"


def test_a_request_that_fails_after_its_change_committed_does_not_say_nothing_changed(
    app: Backorder,
) -> None:
    """The error answer of a request that committed before it failed says the change was
    saved; one that failed before committing still says nothing was changed."""
    api = create_app(app)

    def commit_then_fail(request: Request) -> None:
        with app.db.write() as uow:
            uow.connection.execute(
                secrets.insert().values(name="probe", value="v", created_at=app.now())
            )
            uow.commit()
        raise RuntimeError("the answer could not be built")

    def fail(request: Request) -> None:
        raise RuntimeError("nothing done")

    extra = FastAPI()
    extra.add_api_route("/probe/after-commit", commit_then_fail, methods=["POST"])
    extra.add_api_route("/probe/before-commit", fail, methods=["POST"])
    api.router.routes.extend(extra.router.routes)
    with TestClient(api, raise_server_exceptions=False) as client:
        after = client.post("/probe/after-commit")
        before = client.post("/probe/before-commit")
    assert after.status_code == before.status_code == 500
    assert after.json()["type"] == "/problems/internal-after-change"
    assert "saved" in after.json()["detail"] and "nothing" not in after.json()["detail"]
    assert before.json()["type"] == "/problems/internal"
    assert "nothing was changed" in before.json()["detail"]
