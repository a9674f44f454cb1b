"""Webhook authenticity: Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
(`X-WC-Webhook-Signature`) both send base64(HMAC-SHA256(secret, raw body)), under the secret
set for the channel and account.

BigCommerce signs nothing: its documentation offers custom `headers` on a hook (sent with
every callback, "so destinations can be secured with basic authentication") and a `hash`
that only identifies the event. So its hooks are made with the secret in a header of ours,
`X-Backorder-Webhook-Secret`, compared in constant time. It proves who sent the delivery,
not what it says; a BigCommerce webhook carries only an order's id, and the order itself
must come with an API key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from backorder.intake import DEFAULT_ACCOUNT

HEADERS = {
    "shopify": "x-shopify-hmac-sha256",
    "woocommerce": "x-wc-webhook-signature",
    "bigcommerce": "x-backorder-webhook-secret",
}
SHARED = {"bigcommerce"}  # the header holds the secret itself, not a signature
EVERY_ACCOUNT = "*"


def secret_for(secrets: Mapping[str, str], channel: str, account: str) -> str | None:
    """The secret that signs a channel's webhooks for an account: the account's own
    (`"shopify:eu"`); else, for the default account only, the channel's (`"shopify"`); else
    one set for every account (`"shopify:*"`). A store's secret never signs for another
    store, so whoever holds it cannot deliver orders in that store's name."""
    own = secrets.get(f"{channel}:{account}")
    if own is None and account == DEFAULT_ACCOUNT:
        own = secrets.get(channel)
    return own if own is not None else secrets.get(f"{channel}:{EVERY_ACCOUNT}")


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time comparison of the signature the channel sent with the body's. A header
    that is not ASCII is no base64 signature (and compare_digest takes ASCII text only)."""
    if signature is None or not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, body), signature.strip())


def authentic(channel: str, secret: str, body: bytes, header: str | None) -> bool:
    """Whether a delivery's header proves it came from the channel: the body's signature,
    or (BigCommerce) the secret itself, each compared in constant time."""
    if channel not in SHARED:
        return verify(secret, body, header)
    if header is None or not header.isascii():
        return False
    return hmac.compare_digest(secret.encode(), header.strip().encode())
