"""Webhook authenticity: Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
(`X-WC-Webhook-Signature`) both send base64(HMAC-SHA256(secret, raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADERS = {"shopify": "x-shopify-hmac-sha256", "woocommerce": "x-wc-webhook-signature"}


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time comparison of the signature the channel sent with the body's."""
    return signature is not None and hmac.compare_digest(sign(secret, body), signature.strip())
