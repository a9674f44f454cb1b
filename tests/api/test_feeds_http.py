"""3PL feeds over HTTP: POST /api/v1/channels/{channel}/feeds with a key that may change
stock, Shopify's inventory webhook signed with the shop's secret, and location aliases on
/api/v1/locations/{code}/aliases."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from backorder.intake.signatures import sign
from tests.api.live import Server, cli, serving

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def feed(base: str, key: str, channel: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/channels/{channel}/feeds",
        content=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def stock_at(url: str, sku: str) -> dict[str, int]:
    view = json.loads(cli(url, "stock", "show", sku, "--json"))
    return {p["location"]: p["on_hand"] for p in view.get("locations", [])}


def test_an_846_is_dead_lettered_then_applied_once_an_alias_is_put(server: Server) -> None:
    url, ops = server.db_url, server.keys["ops"]
    cli(url, "product", "add", "BOLT", "--name", "Bolt", "--price", "1")
    cli(url, "product", "add", "NUT", "--name", "Nut", "--price", "1")
    cli(url, "location", "add", "east", "--name", "ShipBob East", "--kind", "3pl")
    body = (FIXTURES / "846_inventory_advice.x12").read_bytes()
    refused = feed(server.base, server.keys["viewer"], "x12-3pl", body)
    assert refused.status_code == 403
    first = feed(server.base, ops, "x12-3pl", body)
    assert first.status_code == 200, first.text
    (dead,) = first.json()["dead_lettered"]
    assert "unknown location 'SB-EAST'" in dead["reasons"][0]
    assert "AK5*A~" in first.json()["acknowledgement"]
    put = httpx.put(
        f"{server.base}/api/v1/locations/east/aliases/x12/SB-EAST",
        headers={"Authorization": f"Bearer {server.keys['admin']}"},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    listed = httpx.get(
        f"{server.base}/api/v1/locations/east/aliases",
        headers={"Authorization": f"Bearer {server.keys['viewer']}"},
        timeout=30,
    )
    assert listed.json() == [{"location": "east", "channel": "x12", "id": "SB-EAST"}]
    replayed = httpx.post(
        f"{server.base}/api/v1/intake/dead-letters/replay",
        headers={"Authorization": f"Bearer {server.keys['admin']}"},
        timeout=30,
    )
    assert replayed.status_code == 200, replayed.text
    (applied,) = replayed.json()["feeds"]
    assert applied["kind"] == "snapshot" and "2 SKU(s) set" in applied["outcome"]
    again = feed(server.base, ops, "x12-3pl", body)
    assert [f["state"] for f in again.json().get("feeds", [])] == ["duplicate"], again.text
    assert stock_at(url, "BOLT")["east"] == 7


def test_shopify_inventory_webhook_is_signed_with_the_shop_secret(
    server: Server, tmp_path: Path
) -> None:
    url = server.db_url
    cli(url, "product", "add", "TEE-M", "--name", "Tee", "--price", "10")
    cli(url, "location", "add", "shop", "--name", "Shop", "--kind", "store")
    cli(url, "location", "alias", "shop", "--channel", "shopify", "--id", "655441491")
    cli(url, "sku", "alias", "shopify", "inventory_item:808950810", "TEE-M")
    body = (FIXTURES / "shopify_inventory_levels_update.json").read_bytes()
    with serving(url, {"BACKORDER_WEBHOOK_SECRETS": json.dumps({"shopify": "hush"})}) as base:

        def hook(signature: str) -> httpx.Response:
            return httpx.post(
                f"{base}/api/v1/channels/shopify-inventory/webhooks",
                content=body,
                headers={"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": "x"},
                timeout=30,
            )

        assert hook(sign("guess", body)).status_code == 401
        good = hook(sign("hush", body))
        assert good.status_code == 200, good.text
        assert [f["state"] for f in good.json()["feeds"]] == ["accepted"]
    assert stock_at(url, "TEE-M")["shop"] == 6
