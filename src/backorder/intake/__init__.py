"""Channel adapters: one module per channel, each turning that channel's raw order into the
canonical order JSON. `ADAPTERS` names them all."""

from __future__ import annotations

import re

from backorder.domain.errors import InvalidRequest
from backorder.intake import (
    amazon,
    bigcommerce,
    canonical,
    csv_lines,
    edifact,
    magento,
    shopify,
    walmart,
    woocommerce,
    x12,
)
from backorder.intake.base import (
    Acknowledging,
    Adapter,
    Converted,
    Noting,
    Partial,
    Payload,
    Unreadable,
)

ADAPTERS: dict[str, Adapter] = {
    adapter.channel: adapter
    for adapter in (
        amazon.ADAPTER,
        bigcommerce.ADAPTER,
        canonical.ADAPTER,
        csv_lines.ADAPTER,
        edifact.ADAPTER,
        magento.ADAPTER,
        shopify.ADAPTER,
        walmart.ADAPTER,
        woocommerce.ADAPTER,
        x12.ADAPTER,
    )
}

ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DEFAULT_ACCOUNT = "default"  # the account of a delivery that names none


def adapter_for(channel: str) -> Adapter:
    """The channel's adapter, or InvalidRequest naming the channels there are."""
    if channel not in ADAPTERS:
        raise InvalidRequest(f"unknown channel {channel!r}; known: {', '.join(sorted(ADAPTERS))}")
    return ADAPTERS[channel]


def check_account(account: str) -> str:
    """A channel account's name (a store, a partner), or InvalidRequest saying what it may be."""
    if not ACCOUNT.fullmatch(account):
        raise InvalidRequest(
            f"account {account!r}: 1 to 64 letters, digits, _ or -, starting with a letter or digit"
        )
    return account


__all__ = [
    "ACCOUNT",
    "ADAPTERS",
    "DEFAULT_ACCOUNT",
    "Acknowledging",
    "Adapter",
    "Converted",
    "Noting",
    "Partial",
    "Payload",
    "Unreadable",
    "adapter_for",
    "check_account",
]
