"""Channel adapters: one module per channel, each turning that channel's raw order into the
canonical order JSON. `ADAPTERS` names them all."""

from __future__ import annotations

from backorder.intake import amazon, canonical, csv_lines, shopify, woocommerce
from backorder.intake.base import Adapter, Converted, Payload, Unreadable

ADAPTERS: dict[str, Adapter] = {
    adapter.channel: adapter
    for adapter in (
        amazon.ADAPTER,
        canonical.ADAPTER,
        csv_lines.ADAPTER,
        shopify.ADAPTER,
        woocommerce.ADAPTER,
    )
}

__all__ = ["ADAPTERS", "Adapter", "Converted", "Payload", "Unreadable"]
