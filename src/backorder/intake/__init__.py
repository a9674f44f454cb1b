"""Channel adapters: one module per channel, each turning that channel's raw order into the
canonical order JSON. `ADAPTERS` names them all; `FEEDS` names the feed channels, whose
adapters read a location's stock documents (`feeds.FeedAdapter`) instead of orders."""

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
    shopify_inventory,
    stock_files,
    walmart,
    woocommerce,
    x12,
    x12_feeds,
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
from backorder.intake.feeds import FeedAdapter
from backorder.intake.shipment_feeds import CONFIRMATION_ADAPTERS

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

FEEDS: dict[str, FeedAdapter] = {
    adapter.channel: adapter
    for adapter in (
        shopify_inventory.ADAPTER,
        stock_files.CSV_ADAPTER,
        stock_files.JSON_ADAPTER,
        x12_feeds.ADAPTER,
    )
} | CONFIRMATION_ADAPTERS  # x12-945, mcf


def family(channel: str) -> str:
    """The sender a feed channel belongs to (`shopify` for `shopify-inventory`, `stock` for
    `stock-csv`): an alias (of a location or a SKU) made for it serves all its channels."""
    return channel.split("-", 1)[0]


# What an alias can be made for: a channel, or a family of feed channels.
SENDERS = tuple(sorted(set(ADAPTERS) | set(FEEDS) | {family(channel) for channel in FEEDS}))


def sender_known(sender: str) -> str:
    if sender not in SENDERS:
        raise InvalidRequest(f"unknown channel {sender!r}; known: {', '.join(SENDERS)}")
    return sender


ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DEFAULT_ACCOUNT = "default"  # the account of a delivery that names none


def adapter_for(channel: str) -> Adapter | FeedAdapter:
    """The channel's adapter (of orders or of a feed), or InvalidRequest naming the channels
    there are."""
    channel_known(channel)
    return ADAPTERS[channel] if channel in ADAPTERS else FEEDS[channel]


def channel_known(channel: str) -> str:
    """The channel, or InvalidRequest naming the channels there are."""
    if channel not in ADAPTERS and channel not in FEEDS:
        known = ", ".join(sorted(ADAPTERS) + sorted(FEEDS))
        raise InvalidRequest(f"unknown channel {channel!r}; known: {known}")
    return channel


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
    "FEEDS",
    "SENDERS",
    "Acknowledging",
    "Adapter",
    "Converted",
    "Noting",
    "Partial",
    "Payload",
    "Unreadable",
    "adapter_for",
    "channel_known",
    "check_account",
    "family",
    "sender_known",
]
