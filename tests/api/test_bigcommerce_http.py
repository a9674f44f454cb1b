"""BigCommerce over HTTP: its webhook, which BigCommerce does not sign, is taken on the secret
sent in the `X-Backorder-Webhook-Secret` header set on the hook, and parked; the order's
body, pushed with an API key, places the order and settles the webhook; the parked part is
seen in GET /intake/parked and /intake/health until then."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.ingest import add_alias
from backorder.services.products import add_product
from tests.api.live import call, cli, make_keys, serving
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
HEADER = "X-Backorder-Webhook-Secret"


def test_the_webhook_is_taken_on_its_secret_parked_and_settled_by_the_order(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bigcommerce.db'}"
    keys = make_keys(url)
    app = Backorder.open(Settings(database_url=url))
    try:  # in this process: three commands would cost seconds
        add_product(app, product("IPOD-GREEN", unit_price=Decimal("199")))
        add_product(app, product("DOCK", unit_price=Decimal("7")))
        add_alias(app, "bigcommerce", "product:79", "DOCK")
    finally:
        app.close()
    hook_body = (FIXTURES / "bigcommerce_webhook.json").read_bytes()
    secrets = {"BACKORDER_WEBHOOK_SECRETS": json.dumps({"bigcommerce:*": "hush"})}
    with serving(url, secrets) as base:

        def hook(secret: str | None, account: str = "store-a") -> httpx.Response:
            headers = {"Content-Type": "application/json"}
            if secret is not None:
                headers[HEADER] = secret
            return httpx.post(
                f"{base}/api/v1/channels/bigcommerce/webhooks",
                params={"account": account},
                content=hook_body,
                headers=headers,
                timeout=30,
            )

        for refused in (hook("guess"), hook(None), hook("hush ish")):
            assert refused.status_code == 401, refused.text
            assert refused.json()["type"] == "/problems/bad-signature"
        taken = hook("hush")
        assert taken.status_code == 200, taken.text
        report = taken.json()
        assert report["accepted"] == [] and report["dead_lettered"] == []
        (part,) = report["parked"]
        assert part["topic"] == "store/order/created"
        assert part["waiting_for"][0].startswith("waiting for order 250's body")
        again = hook("hush")  # BigCommerce's retry of the same body: answered as the first
        assert again.json()["parked"] == report["parked"]

        viewer = keys["viewer"]
        (waiting,) = call(base, viewer, "GET", "/api/v1/intake/parked").json()
        assert (waiting["id"], waiting["account"], waiting["external_id"]) == (
            part["id"],
            "store-a",
            "250",
        )
        (source,) = call(base, viewer, "GET", "/api/v1/intake/health").json()
        assert source["counts"]["parked"] == 1 and source["backlog"] == 0
        assert "; 1 parked, waiting for their orders (oldest " in cli(url, "intake", "health")

        order = httpx.post(
            f"{base}/api/v1/channels/bigcommerce/orders",
            params={"account": "store-a"},
            content=(FIXTURES / "bigcommerce_order.json").read_bytes(),
            headers={"Authorization": f"Bearer {keys['channel']}"},
            timeout=30,
        )
        assert order.status_code == 200, order.text
        assert order.json()["accepted"] == ["bigcommerce.store-a:250"]
        assert call(base, viewer, "GET", "/api/v1/intake/parked").json() == []
        shopify = httpx.post(  # the shops that sign keep their signatures
            f"{base}/api/v1/channels/shopify/webhooks",
            content=b"{}",
            headers={"X-Shopify-Hmac-Sha256": "hush"},
            timeout=30,
        )
        assert shopify.status_code == 401
    assert cli(url, "intake", "parked") == "nothing parked\n"
