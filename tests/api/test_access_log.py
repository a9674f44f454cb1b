"""A customer's link carries a token that opens their order; the access log of a real
`backorder serve` keeps the request but never the token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.api.live import cli, serving

ORDER = {
    "channel": "web",
    "external_id": "log-1",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {"id": "c-1", "name": "Ada", "email": "ada@example.com"},
    "lines": [{"sku": "LOG-SKU", "quantity": 2}],
}


def test_the_access_log_never_holds_a_customer_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    cli(url, "product", "add", "LOG-SKU", "--name", "Logged", "--price", "5")
    cli(url, "order", "place", "-", stdin=json.dumps(ORDER))
    link = json.loads(cli(url, "order", "link", "web:log-1", "--json"))
    token, log = link["token"], tmp_path / "serve.log"
    with serving(url, log=log) as base:
        order = f"{base}/api/v1/customer/orders/web:log-1"
        assert httpx.get(order, params={"token": token}).status_code == 200  # the link works
        delay = f"{base}/customer/orders/web:log-1/delay"
        httpx.get(delay, params={"choice": "accept", "token": token})
        httpx.get(f"{order}?token={token}&again=1")
        httpx.get(f"{order}?Token={token}")
        assert httpx.post(f"{order}/cancel", params={"token": token}).status_code == 200
    written = log.read_text()
    assert "GET /api/v1/customer/orders/web:log-1?token=*** HTTP/1.1" in written  # it logs
    assert "POST /api/v1/customer/orders/web:log-1/cancel?token=*** HTTP/1.1" in written
    assert "choice=accept&token=***" in written and "token=***&again=1" in written
    assert token not in written
    assert token.split(".")[0] not in written  # nor a part of it
