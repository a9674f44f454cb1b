"""Self-healing over HTTP against a real server on each backend: a purchase order re-dated
past the promised dates, then GET /api/v1/replenishment/options/{sku} with each way out and
its dates; an unknown SKU as a problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.live import Server, call

SKU = "HEAL-SKU"


def test_slip_options_over_http(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    today = datetime.now(UTC).date()
    for ident, lead in (("HEAL-A", 30), ("HEAL-B", 2)):
        supplier = {"id": ident, "name": ident.title(), "lead_time_days": lead}
        assert call(base, admin, "POST", "/api/v1/suppliers", supplier).status_code == 201
    made = {"sku": SKU, "name": "H", "price": "10.00", "supplier": "HEAL-A"}
    assert call(base, admin, "POST", "/api/v1/products", made).status_code == 201
    terms = {"supplier": "HEAL-B", "cost": "3.00", "lead_time_days": 2}
    assert call(base, admin, "POST", f"/api/v1/products/{SKU}/suppliers", terms).status_code == 201
    soon, later = today + timedelta(days=10), today + timedelta(days=20)
    po = {
        "po": "HEAL-PO",
        "supplier": "HEAL-A",
        "lines": [{"sku": SKU, "quantity": 5, "expected_on": soon.isoformat()}],
    }
    assert call(base, admin, "POST", "/api/v1/purchase-orders", po).status_code == 201
    order = {
        "channel": "web",
        "external_id": "heal-1",
        "placed_at": datetime.now(UTC).isoformat(),
        "customer": {"id": "c-h", "name": "Hal", "email": "hal@example.com", "tier": "standard"},
        "lines": [{"sku": SKU, "quantity": 5, "unit_price": "10.00"}],
    }
    assert call(base, admin, "POST", "/api/v1/orders", order).status_code == 201
    path = f"/api/v1/replenishment/options/{SKU}"
    assert call(base, admin, "GET", path).json()["orders"] == []
    body = {"sku": SKU, "expected_on": later.isoformat()}
    assert (
        call(base, admin, "POST", "/api/v1/purchase-orders/HEAL-PO/redate", body).status_code == 200
    )

    answer = call(base, admin, "GET", path)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert (view["purchase_order"], view["shortfall"], view["need_by"]) == (
        "HEAL-PO",
        5,
        soon.isoformat(),
    )
    [missed] = view["orders"]
    assert (missed["order"], missed["promised"], missed["no_action"]) == (
        "web:heal-1",
        soon.isoformat(),
        later.isoformat(),
    )
    expedite, other = view["options"]
    assert (expedite["kind"], expedite["arrive_on"], expedite["keeps"]) == (
        "expedite",
        soon.isoformat(),
        1,
    )
    assert (other["kind"], other["source"], other["units"], other["cost"]) == (
        "purchase",
        "HEAL-B",
        5,
        "15.00",
    )
    assert other["orders"][0]["with_option"] == (today + timedelta(days=2)).isoformat()
    assert view["recommendation"] is not None and len(view["sentences"]) == 3

    unknown = call(base, admin, "GET", "/api/v1/replenishment/options/NOPE")
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/unknown-sku"
