"""GET /api/v1/events/stream: Server-Sent Events from a real server, filtered, resumable
with Last-Event-ID, and live: an order placed while a client listens reaches it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.api.live import Server, call

ORDER = {
    "channel": "web",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {"id": "c-1", "email": "c@example.com"},
    "lines": [{"sku": "WIDGET-BLUE", "quantity": 2}],
}


def read(base: str, key: str, count: int, headers: dict[str, str] | None = None,
         **params: Any) -> list[Any]:  # fmt: skip
    """The first `count` events of a stream (the read times out if they do not come)."""
    got = []
    headers = {"Authorization": f"Bearer {key}", **(headers or {})}
    with (
        httpx.Client(timeout=httpx.Timeout(20.0)) as client,
        connect_sse(
            client, "GET", f"{base}/api/v1/events/stream", params=params, headers=headers
        ) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for event in source.iter_sse():
            got.append(event)
            if len(got) == count:
                break
    return got


def test_the_stream_filters_resumes_and_is_live(server: Server) -> None:
    key = server.keys["viewer"]
    for number in (1, 2):
        placed = call(server.base, server.keys["ops"], "POST", "/api/v1/orders",
                      ORDER | {"external_id": f"stream-{number}"})  # fmt: skip
        assert placed.status_code in (200, 201), placed.text

    history = read(server.base, key, 2, after="0", type="line_backordered")
    assert [e.event for e in history] == ["line_backordered"] * 2
    assert [e.json()["order_ref"] for e in history] == ["web:stream-1", "web:stream-2"]
    ids = [int(e.id) for e in history]
    assert ids == sorted(ids)

    resumed = read(server.base, key, 1, headers={"Last-Event-ID": str(ids[0])},
                   type="line_backordered")  # fmt: skip
    assert int(resumed[0].id) == ids[1]

    later: list[Any] = []
    listener = threading.Thread(
        target=lambda: later.extend(read(server.base, key, 1, sku="WIDGET-BLUE"))
    )
    listener.start()
    time.sleep(1.5)  # the listener is connected and waiting for what comes next
    call(server.base, server.keys["ops"], "POST", "/api/v1/orders",
         ORDER | {"external_id": "stream-3"})  # fmt: skip
    listener.join(timeout=30)
    (live,) = later
    # the next event about that SKU; order_accepted is about the order, not one SKU
    assert live.event == "line_backordered" and live.json()["order_ref"] == "web:stream-3"

    refused = httpx.get(f"{server.base}/api/v1/events/stream", timeout=10)
    assert refused.status_code == 401
    bad = httpx.get(
        f"{server.base}/api/v1/events/stream",
        headers={"Authorization": f"Bearer {key}", "Last-Event-ID": "nope"},
        timeout=10,
    )
    assert bad.status_code == 422


def test_webhooks_and_notifications_over_http(server: Server) -> None:
    admin, ops = server.keys["admin"], server.keys["ops"]
    made = call(server.base, admin, "POST", "/api/v1/webhooks",
                {"url": "http://127.0.0.1:9/erp", "event_types": ["order_accepted"]})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    listed = call(server.base, admin, "GET", "/api/v1/webhooks").json()
    assert [w["id"] for w in listed] == [made.json()["id"]] and "secret" not in listed[0]
    assert call(server.base, ops, "GET", "/api/v1/webhooks").status_code == 403
    unknown = call(server.base, admin, "POST", "/api/v1/webhooks",
                   {"url": "http://127.0.0.1:9/x", "event_types": ["nope"]})  # fmt: skip
    assert unknown.status_code == 422 and "unknown event type" in unknown.json()["detail"]
    assert call(server.base, ops, "GET", "/api/v1/notifications/failed").json() == []
    retried = call(server.base, ops, "POST", "/api/v1/notifications/retry").json()
    assert retried == {"queued": 0, "failed": 0, "waiting": 0}
    log = call(server.base, ops, "GET", "/api/v1/orders/web:stream-1/notifications")
    assert log.status_code == 200 and log.json() == []  # the worker has not run here
    gone = call(server.base, admin, "DELETE", f"/api/v1/webhooks/{made.json()['id']}")
    assert gone.status_code == 204
