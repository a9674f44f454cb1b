"""The HTTP API as a client sees it: a real `backorder serve` process on a free port."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from backorder.domain.access import PERMISSIONS, Permission, Role
from tests.api.live import Server, call, make_keys, serving
from tests.api.roles import readme_permissions, readme_table

ORDER = {
    "channel": "web",
    "external_id": "100",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {"id": "c-1", "name": "Ada", "email": "ada@example.com", "tier": "standard"},
    "lines": [{"sku": "WIDGET-BLUE", "quantity": 20, "unit_price": "19.99"}],
}


def test_place_show_receive_cancel_ship_over_http(server: Server) -> None:
    base, keys = server.base, server.keys
    admin = keys["admin"]
    first = call(base, admin, "POST", "/api/v1/orders", ORDER)
    assert first.status_code == 201, first.text
    assert first.json()["lines"][0]["backordered"] == 20
    again = call(base, admin, "POST", "/api/v1/orders", ORDER)
    assert (again.status_code, again.json()["ref"]) == (200, "web:100")
    received = call(
        base, admin, "POST", "/api/v1/stock/WIDGET-BLUE/receipts", {"qty": 15, "ref": "PO-1"}
    )
    assert received.json()["units_allocated"] == 15
    line = call(base, admin, "GET", "/api/v1/orders/web:100").json()["lines"][0]
    assert (line["allocated"], line["backordered"]) == (15, 5)
    assert line["allocations"][0]["ref"] == "PO-1"
    cancelled = call(
        base,
        admin,
        "POST",
        "/api/v1/orders/web:100/cancel",
        {"line": 1, "qty": 5, "reason": "too late"},
    )
    assert cancelled.json()["cancel"]["units"] == 5
    shipped = call(base, admin, "POST", "/api/v1/orders/web:100/ship", {"tracking": "1Z"})
    assert shipped.json()["order"]["status"] == "shipped"
    queue = call(base, admin, "GET", "/api/v1/queues/WIDGET-BLUE").json()
    assert queue["entries"] == []
    types = [e["type"] for e in call(base, admin, "GET", "/api/v1/events?after=0").json()]
    assert "units_shipped" in types


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"channel": "web"}, 422, "validation"),
        (ORDER | {"lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "invalid-request"),
        (
            ORDER | {"external_id": "x", "lines": [{"sku": "WIDGET-BLUE", "quantity": -1}]},
            422,
            "validation",
        ),
    ],
)
def test_bad_orders_are_problem_documents_and_change_nothing(
    server: Server, body: Any, status: int, slug: str
) -> None:
    base, keys = server.base, server.keys
    before = call(base, keys["admin"], "GET", "/api/v1/events?limit=10000").json()
    answer = call(base, keys["admin"], "POST", "/api/v1/orders", body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == f"/problems/{slug}" and problem["status"] == status
    assert problem["detail"]
    assert call(base, keys["admin"], "GET", "/api/v1/events?limit=10000").json() == before


def test_an_order_keeps_the_number_language_and_variant_its_customer_knows(
    server: Server,
) -> None:
    base, admin = server.base, server.keys["admin"]
    named = ORDER | {
        "external_id": "named-1",
        "display_number": "#9001",
        "customer": ORDER["customer"] | {"language": "xx-Nowhere"},
        "lines": [{"sku": "WIDGET-BLUE", "quantity": 1, "variant": "Blue / L"}],
    }
    refused = call(base, admin, "POST", "/api/v1/orders", named)
    assert refused.status_code == 422, refused.text
    assert "customer.language" in refused.json()["detail"]  # names the field
    named["customer"] = ORDER["customer"] | {"language": "fr-CA"}
    assert call(base, admin, "POST", "/api/v1/orders", named).status_code == 201
    order = call(base, admin, "GET", "/api/v1/orders/web:named-1").json()
    assert (order["display_number"], order["customer"]["language"]) == ("#9001", "fr-CA")
    assert order["lines"][0]["variant"] == "Blue / L"
    schema = call(base, admin, "GET", "/openapi.json").json()["components"]["schemas"]
    assert "fr-CA" in schema["CustomerIn"]["properties"]["language"]["anyOf"][0]["enum"]


@pytest.mark.parametrize("text", ["PO\u0000-1", "PO-\udbde"])
def test_text_the_database_cannot_store_is_refused_not_a_server_error(
    server: Server, text: str
) -> None:
    base, ops = server.base, server.keys["ops"]
    before = call(base, ops, "GET", "/api/v1/stock/WIDGET-BLUE").json()
    answer = httpx.post(  # json.dumps escapes what httpx would refuse to encode
        f"{base}/api/v1/stock/WIDGET-BLUE/receipts",
        content=json.dumps({"qty": 1, "ref": text}),
        headers={"Authorization": f"Bearer {ops}", "Content-Type": "application/json"},
    )
    if answer.status_code != 200:  # SQLite keeps a NUL; PostgreSQL cannot
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"] in ("/problems/unstorable-text", "/problems/validation")
        assert call(base, ops, "GET", "/api/v1/stock/WIDGET-BLUE").json() == before
    sku = call(base, ops, "GET", "/api/v1/stock/" + "X%00Y")
    assert sku.status_code in (404, 422), sku.text


def test_unknown_things_are_404_and_revoked_keys_401(server: Server, tmp_path: Path) -> None:
    base, keys = server.base, server.keys
    assert call(base, keys["admin"], "GET", "/api/v1/orders/web:nope").status_code == 404
    assert call(base, keys["admin"], "GET", "/api/v1/stock/NOPE").status_code == 404
    assert call(base, "bo_not-a-key", "GET", "/api/v1/stock/WIDGET-BLUE").status_code == 401


def test_bulk_stock_sync_is_one_transaction_all_or_nothing(
    server: Server,
) -> None:
    base, keys = server.base, server.keys
    ops = keys["ops"]
    for n in range(3):
        call(
            base,
            keys["admin"],
            "POST",
            "/api/v1/products",
            {"sku": f"BULK-{n}", "name": "b", "price": "2"},
        )
    levels = [{"sku": f"BULK-{n}", "on_hand": 10 + n} for n in range(3)]
    done = call(base, ops, "PUT", "/api/v1/stock", {"levels": levels})
    assert [c["on_hand"] for c in done.json()["changes"]] == [10, 11, 12]
    refused = call(
        base,
        ops,
        "POST",
        "/api/v1/stock/receipts",
        {"receipts": [{"sku": "BULK-0", "qty": 5}, {"sku": "NOPE", "qty": 1}]},
    )
    assert refused.status_code == 404
    assert call(base, ops, "GET", "/api/v1/stock/BULK-0").json()["on_hand"] == 10
    twice = call(
        base,
        ops,
        "PUT",
        "/api/v1/stock",
        {"levels": [{"sku": "BULK-1", "on_hand": 1}, {"sku": "BULK-1", "on_hand": 2}]},
    )
    assert twice.status_code == 422


def test_backorders_are_filtered_and_paged(server: Server) -> None:
    base, keys = server.base, server.keys
    viewer, admin = keys["viewer"], keys["admin"]
    call(base, admin, "POST", "/api/v1/products", {"sku": "PAGED", "name": "p", "price": "3"})
    for n in range(5):
        tier = "vip" if n % 2 else "standard"
        body = ORDER | {
            "external_id": f"page-{n}",
            "customer": {"id": f"p{n}", "tier": tier},
            "lines": [{"sku": "PAGED", "quantity": 2}],
        }
        assert call(base, admin, "POST", "/api/v1/orders", body).status_code == 201
    seen: list[str] = []
    after = 0
    for _ in range(10):  # bounded
        page = call(
            base, viewer, "GET", f"/api/v1/backorders?sku=PAGED&limit=2&after={after}"
        ).json()
        seen += [item["ref"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [f"web:page-{n}" for n in range(5)]
    vips = call(base, viewer, "GET", "/api/v1/backorders?sku=PAGED&tier=vip").json()["items"]
    assert [item["ref"] for item in vips] == ["web:page-1", "web:page-3"]
    assert vips[0]["value"] == "6.00"
    bad = call(base, viewer, "GET", "/api/v1/backorders?status=lost")
    assert bad.status_code == 422


def test_a_retried_post_with_the_same_idempotency_key_does_the_work_once(
    server: Server,
) -> None:
    base, keys = server.base, server.keys
    admin = keys["admin"]
    call(base, admin, "POST", "/api/v1/products", {"sku": "IDEM", "name": "i", "price": "1"})
    headers = {"Authorization": f"Bearer {admin}", "Idempotency-Key": "receipt-PO-77"}
    url = f"{base}/api/v1/stock/IDEM/receipts"
    first = httpx.post(url, json={"qty": 5, "ref": "PO-77"}, headers=headers)
    again = httpx.post(url, json={"qty": 5, "ref": "PO-77"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert call(base, admin, "GET", "/api/v1/stock/IDEM").json()["on_hand"] == 5
    other = httpx.post(url, json={"qty": 6}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    refused = {"Authorization": f"Bearer {admin}", "Idempotency-Key": "bad-receipt"}
    bad = [
        httpx.post(f"{base}/api/v1/stock/NOPE/receipts", json={"qty": 1}, headers=refused)
        for _ in range(2)
    ]
    assert [b.status_code for b in bad] == [404, 404]
    assert bad[1].headers["content-type"] == "application/problem+json"


def test_a_customer_link_opens_its_own_order_only(server: Server) -> None:
    base, keys = server.base, server.keys
    shop = keys["channel"]
    mine = ORDER | {"external_id": "cust-1", "lines": [{"sku": "WIDGET-BLUE", "quantity": 2}]}
    other = ORDER | {"external_id": "cust-2"}
    for body in (mine, other):
        assert call(base, shop, "POST", "/api/v1/orders", body).status_code == 201
    link = call(base, shop, "POST", "/api/v1/orders/web:cust-1/customer-link").json()
    assert link["url"].endswith(f"/api/v1/customer/orders/web:cust-1?token={link['token']}")
    seen = httpx.get(
        f"{base}/api/v1/customer/orders/web:cust-1", params={"token": link["token"]}
    ).json()
    assert (seen["ref"], seen["can_cancel"]) == ("web:cust-1", True)
    assert "allocations" not in seen["lines"][0]
    wrong = httpx.get(f"{base}/api/v1/customer/orders/web:cust-2", params={"token": link["token"]})
    assert (wrong.status_code, wrong.json()["type"]) == (403, "/problems/invalid-customer-link")
    forged = httpx.get(
        f"{base}/api/v1/customer/orders/web:cust-1", params={"token": link["token"][:-2] + "xx"}
    )
    assert forged.status_code == 403
    cancelled = httpx.post(
        f"{base}/api/v1/customer/orders/web:cust-1/cancel", params={"token": link["token"]}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["status"] == "cancelled"
    assert call(base, shop, "GET", "/api/v1/orders/web:cust-2").json()["status"] != "cancelled"


def test_metrics_count_requests_per_route_and_read_the_business(
    server: Server,
) -> None:
    base, keys = server.base, server.keys
    call(base, keys["viewer"], "GET", "/api/v1/stock/WIDGET-BLUE")
    text = call(base, keys["viewer"], "GET", "/metrics").text
    assert 'route="/api/v1/stock/{sku}"' in text
    assert "backorder_http_request_duration_seconds_bucket" in text
    assert "backorder_orders " in text and "backorder_units_backordered " in text
    assert "backorder_outbox_last_event_id " in text


def test_a_poller_keeps_a_named_position_and_its_lag_shows_in_metrics(server: Server) -> None:
    base, keys = server.base, server.keys
    viewer = keys["viewer"]
    head = call(base, viewer, "GET", "/api/v1/events?limit=10000").json()[-1]["id"]
    put = call(base, viewer, "PUT", "/api/v1/events/consumers/shop-sync", {"position": 0})
    assert (put.status_code, put.json()["lag_events"]) == (200, head)
    scraped = call(base, viewer, "GET", "/metrics").text
    assert 'backorder_outbox_lag_events{consumer="shop-sync"}' in scraped

    page = call(base, viewer, "GET", "/api/v1/events?consumer=shop-sync&limit=2").json()
    assert [e["id"] for e in page] == [1, 2]
    call(base, viewer, "PUT", "/api/v1/events/consumers/shop-sync", {"position": page[-1]["id"]})
    following = call(base, viewer, "GET", "/api/v1/events?consumer=shop-sync&limit=1").json()
    assert following[0]["id"] == 3
    listed = call(base, viewer, "GET", "/api/v1/events/consumers").json()
    mine = next(c for c in listed if c["name"] == "shop-sync")
    assert mine["position"] == 2
    assert "notifier" in {c["name"] for c in listed}  # the dispatcher's own position

    too_far = call(base, viewer, "PUT", "/api/v1/events/consumers/shop-sync", {"position": 10**9})
    assert (too_far.status_code, too_far.json()["type"]) == (422, "/problems/invalid-request")
    unknown = call(base, viewer, "GET", "/api/v1/events?consumer=nobody")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "/problems/unknown-consumer")
    gone = call(base, viewer, "DELETE", "/api/v1/events/consumers/shop-sync")
    assert gone.status_code == 204
    assert "shop-sync" not in call(base, viewer, "GET", "/metrics").text


def test_metrics_need_a_key_or_the_scrape_token(tmp_path: Path) -> None:
    """A Prometheus scraper sends the token of BACKORDER_METRICS_TOKEN as a bearer token;
    anyone else needs a key whose role may read the metrics."""
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    keys = make_keys(url)
    token = "scrape-" + "x" * 24
    with serving(url, {"BACKORDER_METRICS_TOKEN": token}) as base:
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert call(base, "bo_guessed", "GET", "/metrics").status_code == 401
        assert call(base, token + "y", "GET", "/metrics").status_code == 401
        assert call(base, keys["channel"], "GET", "/metrics").status_code == 403
        scraped = call(base, token, "GET", "/metrics")
        assert scraped.status_code == 200 and "backorder_orders " in scraped.text
        assert call(base, keys["viewer"], "GET", "/metrics").status_code == 200
        # the token opens the metrics and nothing else
        assert call(base, token, "GET", "/api/v1/kpis").status_code == 401
        assert httpx.get(f"{base}/healthz").status_code == 200  # liveness stays open


def test_health_and_readiness(server: Server) -> None:
    base = server.base
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ready"


# Every route, the permission it needs, and a request that is valid in shape.
ROUTES: list[tuple[str, str, Any, Permission]] = [
    ("POST", "/api/v1/orders", ORDER | {"external_id": "matrix"}, Permission.PLACE_ORDERS),
    ("GET", "/api/v1/orders/web:matrix", None, Permission.READ_ORDERS),
    ("GET", "/api/v1/orders?status=open&limit=5", None, Permission.READ_ORDERS),
    ("GET", "/api/v1/products?q=WIDGET", None, Permission.READ),
    ("POST", "/api/v1/orders/web:matrix/cancel", {"line": 1, "qty": 1}, Permission.CHANGE_ORDERS),
    ("POST", "/api/v1/orders/web:matrix/ship", {}, Permission.CHANGE_ORDERS),
    ("POST", "/api/v1/products", {"sku": "M-NEW", "name": "m", "price": "1"}, Permission.CATALOG),
    ("GET", "/api/v1/products/WIDGET-BLUE", None, Permission.READ),
    ("PATCH", "/api/v1/products/WIDGET-BLUE", {"lead_time_days": 3}, Permission.CATALOG),
    ("GET", "/api/v1/stock/WIDGET-BLUE", None, Permission.READ),
    ("PUT", "/api/v1/stock/WIDGET-BLUE", {"on_hand": 100}, Permission.STOCK),
    ("POST", "/api/v1/stock/WIDGET-BLUE/receipts", {"qty": 1}, Permission.STOCK),
    ("GET", "/api/v1/locations", None, Permission.READ),
    (
        "POST",
        "/api/v1/locations",
        {"code": "matrix", "name": "M", "kind": "3pl"},
        Permission.CATALOG,
    ),
    ("GET", "/api/v1/locations/main", None, Permission.READ),
    ("PATCH", "/api/v1/locations/main", {"transit_days": 1}, Permission.CATALOG),
    ("GET", "/api/v1/locations/main/aliases", None, Permission.READ),
    ("PUT", "/api/v1/locations/main/aliases/stock/MAIN-WH", None, Permission.CATALOG),
    ("DELETE", "/api/v1/locations/main/aliases/stock/NONE", None, Permission.CATALOG),
    (
        "POST",
        "/api/v1/channels/stock-json/feeds",
        {
            "location": "main",
            "as_of": "2026-01-05T10:00:00Z",
            "items": [{"sku": "WIDGET-BLUE", "on_hand": 100}],
        },
        Permission.STOCK,
    ),
    (
        "PUT",
        "/api/v1/stock",
        {"levels": [{"sku": "WIDGET-BLUE", "on_hand": 100}]},
        Permission.STOCK,
    ),
    (
        "POST",
        "/api/v1/stock/receipts",
        {"receipts": [{"sku": "WIDGET-BLUE", "qty": 1}]},
        Permission.STOCK,
    ),
    ("GET", "/api/v1/queues/WIDGET-BLUE", None, Permission.READ),
    ("GET", "/api/v1/queues/WIDGET-BLUE/sources", None, Permission.READ),
    ("GET", "/api/v1/events", None, Permission.READ),
    ("GET", "/api/v1/backorders?status=waiting", None, Permission.READ_ORDERS),
    ("POST", "/api/v1/orders/web:matrix/customer-link", None, Permission.CUSTOMER_LINKS),
    (
        "POST",
        "/api/v1/channels/canonical/orders",
        ORDER | {"external_id": "matrix-intake"},
        Permission.PLACE_ORDERS,
    ),
    ("GET", "/api/v1/intake/health", None, Permission.READ),
    ("GET", "/api/v1/events/consumers", None, Permission.READ),
    ("PUT", "/api/v1/events/consumers/matrix", {"position": 0}, Permission.TRACK_EVENTS),
    ("DELETE", "/api/v1/events/consumers/matrix-gone", None, Permission.TRACK_EVENTS),
    ("GET", "/api/v1/intake/rules?channel=shopify", None, Permission.READ),
    ("PUT", "/api/v1/intake/rules/duplicate_line", {"severity": "error"}, Permission.INTAKE),
    ("DELETE", "/api/v1/intake/rules/missing_contact", None, Permission.INTAKE),
    ("GET", "/api/v1/intake/dead-letters", None, Permission.READ),
    ("GET", "/api/v1/intake/parked", None, Permission.READ),
    ("POST", "/api/v1/intake/dead-letters/replay", None, Permission.INTAKE),
    ("POST", "/api/v1/intake/dead-letters/1/replay", None, Permission.INTAKE),
    ("POST", "/api/v1/intake/dead-letters/1/discard", {"reason": "matrix"}, Permission.INTAKE),
    # an invalid start keeps the stream from staying open for the roles that may read it
    ("GET", "/api/v1/events/stream?after=-1", None, Permission.READ),
    ("GET", "/api/v1/webhooks", None, Permission.WEBHOOKS),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, Permission.WEBHOOKS),
    ("DELETE", "/api/v1/webhooks/1", None, Permission.WEBHOOKS),
    ("GET", "/api/v1/notifications/failed", None, Permission.NOTIFY),
    ("POST", "/api/v1/notifications/retry", None, Permission.NOTIFY),
    ("POST", "/api/v1/notifications/1/retry", None, Permission.NOTIFY),
    ("GET", "/api/v1/notifications/skipped", None, Permission.NOTIFY),
    ("POST", "/api/v1/notifications/skipped/1/replan", None, Permission.NOTIFY),
    ("GET", "/api/v1/orders/web:matrix/notifications", None, Permission.NOTIFY),
    ("GET", "/api/v1/alerts?state=all", None, Permission.READ),
    ("GET", "/api/v1/customers/c-matrix/preferences", None, Permission.NOTIFY),
    ("PUT", "/api/v1/customers/c-matrix/preferences/sms", {"opted_out": False}, Permission.NOTIFY),
    (
        "POST",
        "/api/v1/suppliers",
        {"id": "MATRIX", "name": "Matrix", "lead_time_days": 5},
        Permission.CATALOG,
    ),
    ("GET", "/api/v1/suppliers", None, Permission.STOCK),
    ("GET", "/api/v1/suppliers/MATRIX", None, Permission.STOCK),
    ("PATCH", "/api/v1/suppliers/MATRIX", {"lead_time_days": 6}, Permission.CATALOG),
    (
        "POST",
        "/api/v1/products/WIDGET-BLUE/suppliers",
        {"supplier": "MATRIX", "cost": "1.50", "lead_time_days": 4},
        Permission.CATALOG,
    ),
    ("GET", "/api/v1/products/WIDGET-BLUE/suppliers", None, Permission.STOCK),
    ("GET", "/api/v1/replenishment/options/WIDGET-BLUE", None, Permission.STOCK),
    ("PATCH", "/api/v1/products/WIDGET-BLUE/suppliers/MATRIX", {"moq": 2}, Permission.CATALOG),
    ("DELETE", "/api/v1/products/WIDGET-BLUE/suppliers/NONE", None, Permission.CATALOG),
    ("PUT", "/api/v1/products/WIDGET-BLUE/substitutes/NONE", {"rank": 1}, Permission.CATALOG),
    ("GET", "/api/v1/products/WIDGET-BLUE/substitutes", None, Permission.STOCK),
    ("DELETE", "/api/v1/products/WIDGET-BLUE/substitutes/NONE", None, Permission.CATALOG),
    (
        "POST",
        "/api/v1/purchase-orders",
        {
            "po": "PO-MATRIX",
            "supplier": "MATRIX",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": 5, "expected_on": "2026-02-01"}],
        },
        Permission.STOCK,
    ),
    ("GET", "/api/v1/purchase-orders?state=open", None, Permission.STOCK),
    ("GET", "/api/v1/purchase-orders/PO-MATRIX", None, Permission.STOCK),
    (
        "POST",
        "/api/v1/purchase-orders/PO-MATRIX/redate",
        {"sku": "WIDGET-BLUE", "expected_on": "2026-02-02"},
        Permission.STOCK,
    ),
    (
        "POST",
        "/api/v1/purchase-orders/PO-MATRIX/reduce",
        {"sku": "WIDGET-BLUE", "quantity": 4},
        Permission.STOCK,
    ),
    ("POST", "/api/v1/purchase-orders/PO-NONE/cancel", None, Permission.STOCK),
    ("POST", "/api/v1/purchase-orders/PO-NONE/approve", None, Permission.PURCHASE),
    ("POST", "/api/v1/purchase-orders/PO-NONE/reject", {"note": "no"}, Permission.PURCHASE),
    ("POST", "/api/v1/replenishment/999999/accept", {"quantity": 5}, Permission.PURCHASE),
    ("POST", "/api/v1/replenishment/999999/reject", {"note": "no"}, Permission.PURCHASE),
    ("GET", "/api/v1/atp/WIDGET-BLUE", None, Permission.PROMISE),
    ("GET", "/api/v1/atp/WIDGET-BLUE?location=main", None, Permission.PROMISE),
    (
        "POST",
        "/api/v1/transfers",
        {
            "sku": "WIDGET-BLUE",
            "quantity": 1,
            "from_location": "main",
            "to_location": "matrix",
            "expected_on": "2026-02-01",
        },
        Permission.STOCK,
    ),
    ("GET", "/api/v1/transfers?state=planned", None, Permission.READ),
    ("GET", "/api/v1/transfers/999999", None, Permission.READ),
    ("POST", "/api/v1/transfers/999999/ship", None, Permission.STOCK),
    ("POST", "/api/v1/transfers/999999/receive", {"units": 1}, Permission.STOCK),
    ("POST", "/api/v1/transfers/999999/cancel", None, Permission.STOCK),
    ("POST", "/api/v1/reviews", None, Permission.REVIEW),
    ("GET", "/api/v1/reviews?since=2026-01-01", None, Permission.READ),
    ("GET", "/api/v1/tasks?role=procurement&status=all", None, Permission.READ),
    ("POST", "/api/v1/tasks/999999/done", {"note": "chased"}, Permission.REVIEW),
    ("GET", "/api/v1/incidents?sku=WIDGET-BLUE", None, Permission.READ),
    ("GET", "/api/v1/kpis?by=sku", None, Permission.READ),
    ("GET", "/api/v1/shortages?weeks=4", None, Permission.READ),
    ("GET", "/api/v1/projections/WIDGET-BLUE?weeks=4", None, Permission.READ),
    ("GET", "/api/v1/replenishment?state=proposed&sku=WIDGET-BLUE", None, Permission.READ),
    ("GET", "/api/v1/replenishment/999999", None, Permission.READ),
    ("GET", "/api/v1/demand/WIDGET-BLUE?by=week", None, Permission.READ),
    ("GET", "/api/v1/forecasts/WIDGET-BLUE?horizon=4", None, Permission.READ),
    ("GET", "/api/v1/risk?top=5", None, Permission.READ),
    ("GET", "/api/v1/risk/WIDGET-BLUE", None, Permission.READ),
    ("GET", "/api/v1/reports/weekly?week=2026-W03", None, Permission.READ),
    ("GET", "/metrics", None, Permission.METRICS),
]


# What each role may, as the README's role table says it (held to domain/access.py below).
README_PERMISSIONS = readme_permissions()


def test_the_readme_role_table_is_the_one_the_code_enforces() -> None:
    assert set(readme_table()) == set(Permission)  # a row for every permission
    assert README_PERMISSIONS == PERMISSIONS


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize(("method", "path", "body", "permission"), ROUTES)
def test_auth_matrix_every_route_every_role_and_no_key(
    server: Server,
    role: Role | None,
    method: str,
    path: str,
    body: Any,
    permission: Permission,
) -> None:
    """Every route answers every role as the README's role table says: admitted with the
    permission the route needs, refused (403) without it."""
    base, keys = server.base, server.keys
    answer = call(base, keys[role.value] if role else None, method, path, body)
    if role is None:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
    elif permission in README_PERMISSIONS[role]:
        assert answer.status_code not in (401, 403, 500), answer.text
    else:
        assert answer.status_code == 403
        assert answer.json()["type"] == "/problems/forbidden"


def test_openapi_describes_every_route_and_the_matrix_covers_every_keyed_one(
    server: Server,
) -> None:
    spec = httpx.get(f"{server.base}/openapi.json").json()
    documented = {
        (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"))
        for path, item in spec["paths"].items()
        for method in item
    }
    matrix = {(method, path.split("?")[0]) for method, path, _, _ in ROUTES}
    for method, path in matrix:
        assert any(m == method and p.match(path) for m, p in documented), (method, path)
    keyed = {
        (m, p)
        for m, p in documented
        if p.pattern.startswith("^/api/v1/")
        and "customer/" not in p.pattern  # authenticated by the link's token
        and not p.pattern.endswith("/webhooks$")  # by the channel's signature
    }
    for method, pattern in keyed:
        assert any(m == method and pattern.match(path) for m, path in matrix), pattern.pattern
    assert httpx.get(f"{server.base}/docs").status_code == 200


def test_openapi_gives_every_answer_a_schema_and_every_error_a_problem(server: Server) -> None:
    spec = httpx.get(f"{server.base}/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description") or operation.get("summary"), where
            for status, response in operation["responses"].items():
                content = response.get("content", {})
                if path == "/metrics" or status == "204":
                    continue
                if int(status) < 400:
                    body = content.get("application/json") or content["text/event-stream"]
                    assert body["schema"], where
                elif path.startswith("/api/"):
                    schema = content["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}, where
            if method == "post":
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, where


def test_supply_over_http_dates_the_waiting_lines(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    sku = "SUPPLY-HTTP"
    assert (
        call(
            base,
            admin,
            "POST",
            "/api/v1/suppliers",
            {
                "id": "HTTP-SUP",
                "name": "Http Supplies",
                "lead_time_days": 30,
                "email": "po@sup.example",
            },
        ).status_code
        == 201
    )
    made = call(
        base,
        admin,
        "POST",
        "/api/v1/products",
        {
            "sku": sku,
            "name": "Supplied",
            "price": "5.00",
            "supplier": "HTTP-SUP",
            "max_lead_days": 60,
        },
    )
    assert made.status_code == 201, made.text
    assert (made.json()["supplier"], made.json()["max_lead_days"]) == ("HTTP-SUP", 60)
    placed = call(
        base,
        admin,
        "POST",
        "/api/v1/orders",
        ORDER | {"external_id": "supply-1", "lines": [{"sku": sku, "quantity": 3}]},
    )
    assert placed.status_code == 201, placed.text
    line = placed.json()["lines"][0]
    assert line["eta"] == line["promised"] is not None  # today + 30 days, told at intake
    promised = line["promised"]
    answer = call(
        base,
        admin,
        "POST",
        "/api/v1/purchase-orders",
        {
            "po": "PO-HTTP",
            "supplier": "HTTP-SUP",
            "lines": [{"sku": sku, "quantity": 5, "expected_on": "2099-01-01"}],
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["lines"][0]["outstanding"] == 5
    order = call(base, admin, "GET", "/api/v1/orders/web:supply-1").json()
    # a purchase order later than the lead time still covers the line: its date is the PO's
    assert (order["lines"][0]["eta"], order["lines"][0]["promised"]) == ("2099-01-01", promised)
    atp = call(base, server.keys["channel"], "GET", f"/api/v1/atp/{sku}").json()
    assert atp["promisable"] == [{"date": "2099-01-01", "units": 2}]
    received = call(
        base, admin, "POST", f"/api/v1/stock/{sku}/receipts", {"qty": 5, "ref": "PO-HTTP"}
    )
    assert received.status_code == 200, received.text
    po = call(base, admin, "GET", "/api/v1/purchase-orders/PO-HTTP").json()
    assert (po["state"], po["on_time"]) == ("received", True)
    supplier = call(base, admin, "GET", "/api/v1/suppliers/HTTP-SUP").json()
    assert (supplier["on_time_percent"], supplier["skus"]) == (100.0, [sku])
    assert call(base, admin, "POST", "/api/v1/purchase-orders/PO-HTTP/cancel").status_code == 422
    missing = call(base, admin, "GET", "/api/v1/purchase-orders/PO-NOWHERE")
    assert missing.json()["type"] == "/problems/unknown-purchase-order"


def test_locations_and_stock_per_location_over_http(server: Server) -> None:
    base, admin = server.base, server.keys["admin"]
    added = call(
        base,
        admin,
        "POST",
        "/api/v1/locations",
        {"code": "east", "name": "East 3PL", "kind": "3pl", "ships_to": ["US"], "priority": 1},
    )
    assert added.status_code == 201, added.text
    assert added.json()["ships_to"] == ["US"]
    again = call(
        base, admin, "POST", "/api/v1/locations", {"code": "east", "name": "E", "kind": "own"}
    )
    assert again.status_code == 409
    codes = [v["code"] for v in call(base, admin, "GET", "/api/v1/locations").json()]
    assert codes[0] == "east" and "main" in codes  # in sourcing order: east's priority is 1
    assert call(base, admin, "GET", "/api/v1/locations/nowhere").status_code == 404
    sku = "LOC-SKU"
    made = call(base, admin, "POST", "/api/v1/products", {"sku": sku, "name": "L", "price": "1"})
    assert made.status_code == 201, made.text
    received = call(
        base, admin, "POST", f"/api/v1/stock/{sku}/receipts", {"qty": 4, "location": "east"}
    )
    assert received.status_code == 200, received.text
    call(base, admin, "PUT", f"/api/v1/stock/{sku}", {"on_hand": 2})
    stock = call(base, admin, "GET", f"/api/v1/stock/{sku}").json()
    assert (stock["on_hand"], stock["available"]) == (6, 6)
    at = {place["location"]: place["on_hand"] for place in stock["locations"]}
    assert (at["east"], at["main"]) == (4, 2)  # (the route matrix may have added another)
    order = ORDER | {"external_id": "loc", "shipping": {"country": "US"}}
    order["lines"] = [{"sku": sku, "quantity": 5}]
    placed = call(base, admin, "POST", "/api/v1/orders", order)
    assert placed.status_code == 201, placed.text
    closing = call(base, admin, "PATCH", "/api/v1/locations/east", {"active": False})
    assert closing.status_code == 422
    assert "allocated" in closing.json()["detail"]
    shipped = call(
        base, admin, "POST", "/api/v1/orders/web:loc/ship", {"location": "east", "tracking": "E1"}
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["shipment"]["units"] == 4
    rest = call(base, admin, "POST", "/api/v1/orders/web:loc/ship", {"tracking": "M1"}).json()
    assert rest["shipment"]["units"] == 1 and rest["shipment"]["complete"]
    closed = call(base, admin, "PATCH", "/api/v1/locations/east", {"active": False})
    assert closed.status_code == 200 and closed.json()["active"] is False
