"""Webhook authenticity: Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
(`X-WC-Webhook-Signature`) both send base64(HMAC-SHA256(secret, raw body)), under the secret
set for the channel and account.

Adobe Commerce (`magento`) signs with a key pair instead, when its webhook signature
verification is enabled (Stores > Settings > Configuration > Adobe Services > Webhooks):
`X-Adobe-Commerce-Webhook-Signature` is base64 of the RSA signature (PKCS#1 v1.5, SHA-256),
made with Commerce's private key, of the base64 of the raw body. The "secret" set for
`magento` is the public key shown there (PEM), so nothing secret is kept here at all.

BigCommerce signs nothing: its documentation offers custom `headers` on a hook (sent with
every callback, "so destinations can be secured with basic authentication") and a `hash`
that only identifies the event. So its hooks are made with the secret in a header of ours,
`X-Backorder-Webhook-Secret`, compared in constant time. It proves who sent the delivery,
not what it says; a BigCommerce webhook carries only an order's id, and the order itself
must come with an API key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backorder.intake import DEFAULT_ACCOUNT

HEADERS = {
    "shopify": "x-shopify-hmac-sha256",
    "woocommerce": "x-wc-webhook-signature",
    "magento": "x-adobe-commerce-webhook-signature",
    "bigcommerce": "x-backorder-webhook-secret",
    # Shopify's inventory_levels/update, signed like its orders (the same app secret)
    "shopify-inventory": "x-shopify-hmac-sha256",
}
SHARED = {"bigcommerce"}  # the header holds the secret itself, not a signature
log = logging.getLogger(__name__)
EVERY_ACCOUNT = "*"


def secret_for(secrets: Mapping[str, str], channel: str, account: str) -> str | None:
    """The secret that signs a channel's webhooks for an account: the account's own
    (`"shopify:eu"`); else, for the default account only, the channel's (`"shopify"`); else
    one set for every account (`"shopify:*"`). A store's secret never signs for another
    store, so whoever holds it cannot deliver orders in that store's name. A feed channel
    with no secret of its own uses its family's (`shopify-inventory`: `shopify`'s)."""
    found = _secret_for(secrets, channel, account)
    family = channel.split("-", 1)[0]
    return (
        found if found is not None or family == channel else _secret_for(secrets, family, account)
    )


def _secret_for(secrets: Mapping[str, str], channel: str, account: str) -> str | None:
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
    """Whether a delivery's header proves it came from the channel: the body's signature
    under the HMAC secret or (Adobe Commerce) the public key set for it, or (BigCommerce)
    the secret itself, each compared in constant time."""
    if channel == "magento":
        return verify_adobe(secret, body, header)
    if channel not in SHARED:
        return verify(secret, body, header)
    if header is None or not header.isascii():
        return False
    return hmac.compare_digest(secret.encode(), header.strip().encode())


@lru_cache(maxsize=64)
def _public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        log.error("the magento webhook secret is no RSA public key in PEM: every delivery fails")
        return None
    return key


def verify_adobe(public_key: str, body: bytes, signature: str | None) -> bool:
    """Adobe Commerce's signature: RSA PKCS#1 v1.5 with SHA-256 over base64(body), checked
    with Commerce's public key (PEM); sent in base64."""
    key = _public_key(public_key.strip())
    if key is None or signature is None or not signature.isascii():
        return False
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        key.verify(raw, base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
