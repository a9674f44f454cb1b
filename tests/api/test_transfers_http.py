"""Transfers, purchase orders at a location and ATP per location over HTTP, against a
real server on each backend."""

from __future__ import annotations

from tests.api.live import Server, call

SKU = "MOVE-SKU"


def test_transfer_a_purchase_order_at_a_location_and_atp_over_http(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    made = call(base, admin, "POST", "/api/v1/products", {"sku": SKU, "name": "M", "price": "1"})
    assert made.status_code == 201, made.text
    west = {"code": "west", "name": "West store", "kind": "store", "priority": 5}
    assert call(base, admin, "POST", "/api/v1/locations", west).status_code == 201
    call(base, admin, "PUT", f"/api/v1/stock/{SKU}", {"on_hand": 5, "location": "west"})
    supplier = {"id": "MOVERS", "name": "Movers", "lead_time_days": 20}
    assert call(base, admin, "POST", "/api/v1/suppliers", supplier).status_code == 201
    po = {
        "po": "PO-WEST",
        "supplier": "MOVERS",
        "location": "west",
        "lines": [{"sku": SKU, "quantity": 3, "expected_on": "2099-01-20"}],
    }
    placed = call(base, admin, "POST", "/api/v1/purchase-orders", po)
    assert placed.status_code == 201, placed.text
    assert placed.json()["location"] == "west"
    nowhere = call(
        base, admin, "POST", "/api/v1/purchase-orders", po | {"po": "PO-X", "location": "nowhere"}
    )
    assert nowhere.status_code == 422
    assert "no location 'nowhere'" in nowhere.json()["detail"]

    body = {
        "sku": SKU,
        "quantity": 4,
        "from_location": "west",
        "to_location": "main",
        "expected_on": "2099-01-10",
    }
    created = call(base, admin, "POST", "/api/v1/transfers", body)
    assert created.status_code == 201, created.text
    transfer = created.json()
    assert (transfer["state"], transfer["from_location"], transfer["to_location"]) == (
        "planned",
        "west",
        "main",
    )
    number = transfer["id"]
    west_atp = call(base, admin, "GET", f"/api/v1/atp/{SKU}?location=west").json()
    assert (west_atp["location"], west_atp["on_hand"], west_atp["available"]) == ("west", 5, 5)
    assert west_atp["promisable"] == [
        {"date": west_atp["today"], "units": 1},  # 5, less the 4 about to leave
        {"date": "2099-01-20", "units": 4},  # and PO-WEST's 3
    ]
    main_atp = call(base, admin, "GET", f"/api/v1/atp/{SKU}?location=main").json()
    assert main_atp["promisable"] == [{"date": "2099-01-10", "units": 4}]
    network = call(base, admin, "GET", f"/api/v1/atp/{SKU}").json()
    assert network["location"] is None
    assert network["promisable"][-1] == {"date": "2099-01-20", "units": 8}
    unknown = call(base, admin, "GET", f"/api/v1/atp/{SKU}?location=nowhere")
    assert unknown.status_code == 422

    assert call(base, admin, "POST", f"/api/v1/transfers/{number}/receive").status_code == 409
    shipped = call(base, admin, "POST", f"/api/v1/transfers/{number}/ship")
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["state"], shipped.json()["in_transit"]) == ("shipped", 4)
    again = call(base, admin, "POST", f"/api/v1/transfers/{number}/ship")
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/transfer-conflict"
    part = call(base, admin, "POST", f"/api/v1/transfers/{number}/receive", {"units": 1})
    assert (part.json()["received"], part.json()["in_transit"]) == (1, 3)
    rest = call(base, admin, "POST", f"/api/v1/transfers/{number}/receive")
    assert rest.json()["state"] == "received"
    stock = call(base, admin, "GET", f"/api/v1/stock/{SKU}").json()
    at = {place["location"]: place["on_hand"] for place in stock["locations"]}
    assert (at["west"], at["main"]) == (1, 4)
    listed = call(base, admin, "GET", f"/api/v1/transfers?sku={SKU}").json()
    assert [t["id"] for t in listed] == [number]
    missing = call(base, admin, "GET", "/api/v1/transfers/999999")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/unknown-transfer"
    outbox = call(base, admin, "GET", "/api/v1/events?limit=10000").json()
    steps = [
        e["payload"]["action"]
        for e in outbox
        if e["type"] == "transfer_changed" and e["payload"]["transfer"] == number
    ]
    assert steps == ["created", "shipped", "received", "received"]
