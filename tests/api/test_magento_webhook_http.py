"""Adobe Commerce's webhooks, authenticated by Commerce's key-pair signature over HTTP; and
Walmart, which sends no webhooks, has no webhook endpoint (its orders come with an API key)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.store.db import Database
from backorder.store.migrate import upgrade
from tests.api.live import serving
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
HEADER = "x-adobe-commerce-webhook-signature"


def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def adobe_sign(private: rsa.RSAPrivateKey, body: bytes) -> str:
    """As Commerce signs: the base64 of the body, RSA PKCS#1 v1.5 with SHA-256, in base64."""
    signed = private.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signed).decode()


def test_an_adobe_commerce_webhook_is_taken_when_commerces_key_signed_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'magento.db'}"
    app = Backorder(Database(url), Settings())
    try:  # in process: three `product add` commands would take seconds
        upgrade(app.db)
        for sku in ("24-WG080", "24-WG084", "24-WG088"):
            add_product(app, product(sku))
    finally:
        app.close()
    commerce, public = key_pair()
    stranger, _ = key_pair()
    body = (FIXTURES / "magento_bundle_webhook.json").read_bytes()
    secrets = {"magento": public, "magento:broken": "not a key"}
    with serving(url, {"BACKORDER_WEBHOOK_SECRETS": json.dumps(secrets)}) as base:

        def hook(signature: str | None, account: str = "default") -> httpx.Response:
            headers = {"Content-Type": "application/json"}
            if signature is not None:
                headers[HEADER] = signature
            return httpx.post(
                f"{base}/api/v1/channels/magento/webhooks",
                params={"account": account},
                content=body,
                headers=headers,
                timeout=30,
            )

        good = hook(adobe_sign(commerce, body))
        assert good.status_code == 200, good.text
        assert good.json()["accepted"] == ["magento:3121"]
        assert good.json()["op"] == "success"  # the webhook operation Commerce reads
        again = hook(adobe_sign(commerce, body))  # Commerce retried: answered as the first
        assert (again.json()["accepted"], again.json()["op"]) == (["magento:3121"], "success")
        for refused in (
            hook(adobe_sign(stranger, body)),  # another key
            hook(adobe_sign(commerce, body + b" ")),  # another body
            hook(None),
            hook("not base64!"),
            hook(adobe_sign(commerce, body), account="broken"),  # the key set is no key
            hook(adobe_sign(commerce, body), account="eu"),  # no key for that account
        ):
            assert refused.status_code == 401, refused.text
            assert refused.json()["type"] == "/problems/bad-signature"
        # Cancelled later in Commerce: its event, named in the body, reaches the order held.
        cancel = json.loads(body)
        cancel["eventName"] = "observer.order_cancel_after"
        cancel["data"]["order"]["state"] = "canceled"
        cancelled = json.dumps(cancel).encode()
        gone = httpx.post(
            f"{base}/api/v1/channels/magento/webhooks",
            content=cancelled,
            headers={"Content-Type": "application/json", HEADER: adobe_sign(commerce, cancelled)},
            timeout=30,
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["op"] == "success"
        assert gone.json()["applied"] == [
            {
                "ref": "magento:3121",
                "topic": "observer.order_cancel_after",
                "outcome": "cancelled 8 units not shipped (shop:canceled)",
            }
        ]
        walmart = httpx.post(f"{base}/api/v1/channels/walmart/webhooks", content=body, timeout=30)
        assert walmart.status_code == 422  # Walmart pushes no orders: no webhook endpoint
