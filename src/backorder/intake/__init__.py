"""Channel adapters: one module per channel, each turning that channel's raw order into the
canonical order JSON. `ADAPTERS` names them all."""

from __future__ import annotations

from backorder.intake import amazon, canonical, csv_lines, shopify, woocommerce, x12
from backorder.intake.base import Acknowledging, Adapter, Converted, Payload, Unreadable

ADAPTERS: dict[str, Adapter] = {
    adapter.channel: adapter
    for adapter in (
        amazon.ADAPTER,
        canonical.ADAPTER,
        csv_lines.ADAPTER,
        shopify.ADAPTER,
        woocommerce.ADAPTER,
        x12.ADAPTER,
    )
}

__all__ = ["ADAPTERS", "Acknowledging", "Adapter", "Converted", "Payload", "Unreadable"]
