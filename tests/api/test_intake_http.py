"""POST /api/v1/channels/{channel}/orders: a channel's own payloads over HTTP, and what the
endpoint does when the backlog grows."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from backorder.intake.signatures import HEADERS as SIGNATURE_HEADERS
from backorder.intake.signatures import sign
from tests.api.live import Server, call, cli, make_keys, serving

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def post(base: str, key: str, channel: str, body: bytes, **params: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/channels/{channel}/orders",
        content=body,
        params=params,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )


def test_a_shopify_webhook_is_taken_or_dead_lettered_and_replayed(server: Server) -> None:
    shop = server.keys["channel"]
    cli(server.db_url, "product", "add", "IPOD-GREEN", "--name", "iPod", "--price", "199")
    cli(server.db_url, "sku", "alias", "shopify", "IPOD2008GREEN", "IPOD-GREEN")
    body = (FIXTURES / "shopify_order.json").read_bytes()
    first = post(server.base, shop, "shopify", body)
    assert first.status_code == 200, first.text
    (dead,) = first.json()["dead_lettered"]
    assert "variant:49148385" in dead["reasons"][0]
    cli(server.db_url, "sku", "alias", "shopify", "variant:49148385", "WIDGET-BLUE")
    replayed = json.loads(cli(server.db_url, "intake", "replay", "--all", "--json"))
    assert replayed["accepted"] == ["shopify:450789469"]
    again = post(server.base, shop, "shopify", body)
    assert again.json()["duplicates"] == ["shopify:450789469"]
    bad = post(server.base, shop, "shopify", b"\xff\xfe")
    assert (bad.status_code, bad.json()["type"]) == (400, "/problems/not-utf-8")
    unknown = post(server.base, shop, "fax", body)
    assert unknown.status_code == 422


def test_an_x12_interchange_is_answered_with_its_997(server: Server) -> None:
    cli(server.db_url, "product", "add", "IPOD-RED", "--name", "iPod", "--price", "199")
    body = (FIXTURES / "x12_broken.edi").read_bytes()
    answer = post(server.base, server.keys["channel"], "x12", body, account="globex")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["accepted"][0] == "x12.globex:GLOBEX.PO-88001"
    reasons = [d["reasons"][0] for d in report["dead_lettered"]][:2]
    assert reasons == [
        "SE01 counts 9 segments; the transaction set has 4",
        "transaction set 1003 has no SE trailer",
    ]
    ack = report["acknowledgement"]
    assert "AK9*P*2*3*1*5*4~" in ack and "AK9|A|1|1|1" in ack
    shopify = post(server.base, server.keys["channel"], "shopify", b"{}")
    assert shopify.json()["acknowledgement"] is None


def test_past_the_soft_limit_payloads_wait_for_the_worker_and_past_the_hard_limit_503(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'spike.db'}"
    cli(url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    key = make_keys(url)["channel"]
    order = {
        "channel": "web",
        "external_id": "spike-1",
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": "c-1", "email": "c@example.com"},
        "lines": [{"sku": "WIDGET-BLUE", "quantity": 1}],
    }
    limits = {"BACKORDER_INTAKE_SOFT_LIMIT": "0", "BACKORDER_INTAKE_HARD_LIMIT": "2"}
    with serving(url, limits) as base:
        answers = [
            post(base, key, "canonical", json.dumps(order | {"external_id": f"s-{n}"}).encode())
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 503]
    assert answers[2].headers["retry-after"] == "30"
    assert answers[0].json()["pending"] == [1]
    drained = json.loads(cli(url, "intake", "drain", "--json"))
    assert drained["accepted"] == ["web:s-0", "web:s-1"]  # in the order they came


def test_channel_webhooks_are_authenticated_by_their_signature(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    cli(url, "product", "add", "IPOD-GREEN", "--name", "iPod", "--price", "199")
    cli(url, "product", "add", "IPOD-RED", "--name", "iPod", "--price", "199")
    cli(url, "sku", "alias", "shopify", "IPOD2008GREEN", "IPOD-GREEN")
    cli(url, "sku", "alias", "shopify", "variant:49148385", "IPOD-RED")
    body = (FIXTURES / "shopify_order.json").read_bytes()
    secrets = {"BACKORDER_WEBHOOK_SECRETS": json.dumps({"shopify:eu": "hush"})}
    viewer = make_keys(url)["viewer"]
    with serving(url, secrets) as base:

        def hook(channel: str, signature: str | None, account: str = "eu") -> httpx.Response:
            headers = {"Content-Type": "application/json"}
            if signature is not None:
                headers[SIGNATURE_HEADERS[channel]] = signature
            return httpx.post(
                f"{base}/api/v1/channels/{channel}/webhooks",
                params={"account": account},
                content=body,
                headers=headers,
                timeout=30,
            )

        good = hook("shopify", sign("hush", body))
        assert good.json()["accepted"] == ["shopify.eu:450789469"], good.text
        for refused in (
            hook("shopify", sign("guess", body)),
            hook("shopify", None),
            hook("shopify", sign("hush", body), account="us"),  # no secret for that account
            hook("woocommerce", sign("hush", body)),
        ):
            assert refused.status_code == 401
            assert refused.json()["type"] == "/problems/bad-signature"
        counted = call(base, viewer, "GET", "/metrics").text
    assert 'backorder_intake_bad_signatures_total{account="eu",channel="shopify"} 2.0' in counted


def test_rules_and_dead_letters_are_managed_over_http(server: Server) -> None:
    ops, shop = server.keys["ops"], server.keys["channel"]
    base = f"{server.base}/api/v1/intake"
    cli(server.db_url, "product", "add", "RULE-SKU", "--name", "r", "--price", "10")
    rule = {"severity": "error", "channel": "canonical", "account": "strict", "currencies": ["EUR"]}
    put = call(server.base, ops, "PUT", "/api/v1/intake/rules/currency", rule)
    assert put.status_code == 200, put.text
    assert put.json() == rule | {"rule": "currency", "max_deviation_percent": None}
    order = {
        "channel": "web",
        "external_id": "rules-1",
        "placed_at": "2026-11-20T10:00:00Z",
        "customer": {"id": "c-1", "email": "c@example.com"},
        "currency": "USD",
        "lines": [{"sku": "RULE-SKU", "quantity": 1}],
    }
    taken = post(server.base, shop, "canonical", json.dumps(order).encode(), account="strict")
    (dead,) = taken.json()["dead_lettered"]
    assert dead["reasons"] == ["currency USD is not one this account sells in (EUR) (currency)"]
    letters = call(server.base, ops, "GET", "/api/v1/intake/dead-letters").json()
    mine = next(d for d in letters if d["id"] == dead["id"])
    assert (mine["value"], mine["currency"], mine["account"]) == ("10.00", "USD", "strict")

    view = call(server.base, ops, "GET", "/api/v1/intake/rules?channel=canonical&account=strict")
    currency = next(r for r in view.json()["rules"] if r["rule"] == "currency")
    assert currency["set_for"] == "canonical.strict"
    refused = call(server.base, ops, "PUT", "/api/v1/intake/rules/currency", {"severity": "error"})
    assert refused.status_code == 422 and "currencies" in refused.json()["detail"]

    gone = httpx.delete(
        f"{base}/rules/currency",
        params={"channel": "canonical", "account": "strict"},
        headers={"Authorization": f"Bearer {ops}"},
    )
    assert gone.status_code == 204
    replayed = call(server.base, ops, "POST", f"/api/v1/intake/dead-letters/{dead['id']}/replay")
    assert replayed.json()["accepted"] == ["web:rules-1"]
    again = call(server.base, ops, "POST", f"/api/v1/intake/dead-letters/{dead['id']}/discard",
                 {"reason": "too late"})  # fmt: skip
    assert again.status_code == 422  # no longer a dead letter


def test_a_channel_secret_signs_for_the_accounts_it_is_set_for(tmp_path: Path) -> None:
    """`"shopify"` signs for the default account only, `"shopify:eu"` for eu, and
    `"woocommerce:*"` for every account of the channel: a store's secret never lets anyone
    who holds it deliver orders as another store."""
    url = f"sqlite:///{tmp_path / 'scoped.db'}"
    cli(url, "db", "upgrade")
    shopify = (FIXTURES / "shopify_order.json").read_bytes()
    woo = (FIXTURES / "woocommerce_order.json").read_bytes()
    secrets = {"shopify": "plain", "shopify:eu": "eu-secret", "woocommerce:*": "every"}
    with serving(url, {"BACKORDER_WEBHOOK_SECRETS": json.dumps(secrets)}) as base:

        def hook(channel: str, body: bytes, secret: str, account: str) -> int:
            headers = {SIGNATURE_HEADERS[channel]: sign(secret, body)}
            answer = httpx.post(
                f"{base}/api/v1/channels/{channel}/webhooks",
                params={"account": account},
                content=body,
                headers=headers | {"Content-Type": "application/json"},
                timeout=30,
            )
            return answer.status_code

        assert hook("shopify", shopify, "plain", "default") == 200
        assert hook("shopify", shopify, "plain", "us") == 401
        assert hook("shopify", shopify, "plain", "eu") == 401
        assert hook("shopify", shopify, "eu-secret", "eu") == 200
        assert hook("woocommerce", woo, "every", "us") == 200
        assert hook("woocommerce", woo, "every", "default") == 200


def test_a_signed_delivery_sent_again_is_recorded_once_and_counted(tmp_path: Path) -> None:
    """The signature covers the body alone, so whoever saw a delivery can send it again and
    again: each identical one (channel, account, body) gets the first one's answer, is
    counted, and stores nothing."""
    url = f"sqlite:///{tmp_path / 'replays.db'}"
    cli(url, "product", "add", "IPOD-GREEN", "--name", "iPod", "--price", "199")
    cli(url, "sku", "alias", "shopify", "IPOD2008GREEN", "IPOD-GREEN")
    cli(url, "sku", "alias", "shopify", "variant:49148385", "IPOD-GREEN")
    viewer = make_keys(url)["viewer"]
    body = (FIXTURES / "shopify_order.json").read_bytes()
    changed = body.replace(b'"#1001"', b'"#1001 (updated)"')
    secrets = {"BACKORDER_WEBHOOK_SECRETS": json.dumps({"shopify:*": "hush"})}
    with serving(url, secrets) as base:

        def hook(content: bytes, account: str = "default") -> httpx.Response:
            signature = {SIGNATURE_HEADERS["shopify"]: sign("hush", content)}
            return httpx.post(
                f"{base}/api/v1/channels/shopify/webhooks",
                params={"account": account},
                content=content,
                headers=signature | {"Content-Type": "application/json"},
                timeout=30,
            )

        answers = [hook(body) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert {json.dumps(a.json()) for a in answers} == {json.dumps(answers[0].json())}
        assert answers[0].json()["accepted"] == ["shopify:450789469"]
        assert hook(changed).json()["duplicates"] == ["shopify:450789469"]  # a new delivery
        assert hook(body, "eu").json()["accepted"] == ["shopify.eu:450789469"]
        scraped = call(base, viewer, "GET", "/metrics").text
    (default, eu) = json.loads(cli(url, "intake", "health", "--json"))
    assert (default["account"], default["counts"]["accepted"]) == ("default", 1)
    assert default["counts"]["duplicate"] == 1  # the changed body; no replay was stored
    assert eu["counts"]["accepted"] == 1
    assert 'backorder_intake_replays_total{account="default",channel="shopify"} 2.0' in scraped
