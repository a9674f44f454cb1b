"""A customer e-mail address that would write mail headers of its own (a CR/LF in it) is bad
input wherever an order comes in: refused by POST /orders with the field named, and
dead-lettered with the reason by a channel, so no message is ever made from it."""

from __future__ import annotations

import json

import httpx

from tests.api.live import Server, call, cli

BAD = "ada@example.com\r\nBcc: everyone@example.com"


def test_an_address_with_a_line_break_is_refused_at_intake(server: Server) -> None:
    order = {
        "channel": "web",
        "external_id": "crlf-1",
        "placed_at": "2026-12-01T10:00:00Z",
        "customer": {"id": "c-crlf", "email": BAD},
        "lines": [{"sku": "WIDGET-BLUE", "quantity": 1}],
    }
    refused = call(server.base, server.keys["channel"], "POST", "/api/v1/orders", order)
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "body.customer.email" and "not one e-mail address" in error["message"]
    assert (
        call(server.base, server.keys["ops"], "GET", "/api/v1/orders/web:crlf-1").status_code == 404
    )

    shopify = {
        "id": 770001,
        "email": BAD,
        "created_at": "2026-12-01T10:00:00Z",
        "currency": "USD",
        "customer": {"id": 99},
        "line_items": [{"sku": "WIDGET-BLUE", "quantity": 1, "price": "19.99"}],
    }
    taken = httpx.post(
        f"{server.base}/api/v1/channels/shopify/orders",
        content=json.dumps(shopify),
        headers={"Authorization": f"Bearer {server.keys['channel']}"},
        timeout=30,
    )
    assert taken.status_code == 200, taken.text
    (dead,) = taken.json()["dead_lettered"]
    assert any("customer.email" in reason for reason in dead["reasons"]), dead
    letters = json.loads(cli(server.db_url, "intake", "dead-letters", "--json"))
    assert [d["external_id"] for d in letters if d["channel"] == "shopify"] == ["770001"]
