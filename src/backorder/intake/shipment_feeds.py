"""The adapters of shipment confirmations, by channel: what the feed intake looks up."""

from __future__ import annotations

from backorder.intake import mcf, x12_945
from backorder.intake.feeds import FeedAdapter

CONFIRMATION_ADAPTERS: dict[str, FeedAdapter] = {
    adapter.channel: adapter for adapter in (x12_945.ADAPTER, mcf.ADAPTER)
}
