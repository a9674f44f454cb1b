"""A shop's topics over HTTP, in process, on each backend: Shopify's signed webhooks name
theirs in `X-Shopify-Topic`, WooCommerce's in `X-WC-Webhook-Topic`; an integration with an
API key names it as `?topic=`. What each did is answered, counted in intake health and
/metrics; an X12 997 posted in is recorded and not answered with a 997."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.intake.signatures import sign
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from tests.factories import product
from tests.integration.test_channel_events import ACK, shopify, woo

SECRETS = {"shopify": "shpss_secret", "woocommerce": "wc_secret"}
SIGNED_BY = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature"}
TOPIC_IN = {"shopify": "X-Shopify-Topic", "woocommerce": "X-WC-Webhook-Topic"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_secrets": SECRETS})


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    add_product(app, product())
    receive_stock(app, "WIDGET-BLUE", 2)
    with TestClient(create_app(app)) as client:
        client.headers["Authorization"] = f"Bearer {create_key(app, Role.ADMIN).key}"
        yield client


def webhook(client: TestClient, channel: str, topic: str, body: str) -> dict[str, Any]:
    signature = sign(SECRETS[channel], body.encode())
    answer = client.post(
        f"/api/v1/channels/{channel}/webhooks",
        content=body,
        headers={SIGNED_BY[channel]: signature, TOPIC_IN[channel]: topic, "Authorization": ""},
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def test_shopify_webhooks_create_cancel_and_other_topics(
    app: Backorder, client: TestClient
) -> None:
    assert webhook(client, "shopify", "orders/create", shopify())["accepted"] == ["shopify:1001"]
    cancelled = shopify(cancelled_at="2026-03-14T10:00:00Z", cancel_reason="customer")
    report = webhook(client, "shopify", "orders/cancelled", cancelled)
    assert report["accepted"] == [] and report["dead_lettered"] == []
    assert report["applied"] == [
        {
            "ref": "shopify:1001",
            "topic": "orders/cancelled",
            "outcome": "cancelled 3 units not shipped (shop:customer)",
        }
    ]
    assert order_view(app, "shopify:1001")["lines"][0]["cancelled"] == 3
    product_update = json.dumps({"id": 632910392, "title": "IPod Nano"})
    ignored = webhook(client, "shopify", "products/update", product_update)
    assert ignored["ignored"][0]["outcome"] == "ignored: products/update is not an order event"
    assert ignored["dead_lettered"] == []

    (source,) = client.get("/api/v1/intake/health").json()
    assert source["ignored"] == {"products/update": 1} and source["counts"]["dead"] == 0
    metrics = client.get("/metrics").text
    assert 'backorder_intake_ignored_total{channel="shopify",topic="products/update"} 1.0' in (
        metrics
    )


def test_woocommerce_topics_by_header_and_by_query(app: Backorder, client: TestClient) -> None:
    placed = client.post(
        "/api/v1/channels/woocommerce/orders",
        params={"topic": "order.created"},
        content=woo(),
        headers={"Idempotency-Key": "woo-727"},
    )
    assert placed.json()["accepted"] == ["woocommerce:727"], placed.text
    # the same key for the same body under another topic is another request
    reused = client.post(
        "/api/v1/channels/woocommerce/orders",
        params={"topic": "order.updated"},
        content=woo(),
        headers={"Idempotency-Key": "woo-727"},
    )
    assert (reused.status_code, reused.json()["type"]) == (422, "/problems/idempotency-key-reused")
    report = webhook(client, "woocommerce", "order.updated", woo(status="cancelled"))
    assert report["applied"][0]["outcome"] == "cancelled 3 units not shipped (shop:cancelled)"
    completed = webhook(client, "woocommerce", "order.created", woo(728, "completed"))
    assert completed["ignored"][0]["outcome"] == "ignored: already fulfilled in the shop"
    refused = client.post("/api/v1/channels/canonical/orders?topic=orders/create", content="{}")
    assert refused.status_code == 422 and "no topic" in refused.json()["detail"]


def test_an_x12_997_posted_in_is_recorded_not_acknowledged(client: TestClient) -> None:
    answer = client.post("/api/v1/channels/x12/orders", content=ACK)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["acknowledgement"] is None and report["dead_lettered"] == []
    (kept,) = report["ignored"]
    assert kept["topic"] == "997"
    assert kept["outcome"].startswith("acknowledgement of group 1234 (PO): partially accepted")
