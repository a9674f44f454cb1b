"""Shopify's `inventory_levels/update` webhook: the stock of one inventory item at one of
the shop's locations, `{"inventory_item_id": 808950810, "location_id": 655441491,
"available": 42, "updated_at": "2026-12-06T08:00:00-05:00"}`.

Each is a Snapshot of one SKU as of `updated_at`: the location is Shopify's `location_id`
(an alias of one of ours: `backorder location alias CODE --channel shopify --id
655441491`), the SKU is `inventory_item:<inventory_item_id>`, mapped to ours by a SKU alias
(`backorder sku alias shopify inventory_item:808950810 OUR-SKU`). `available` is taken
as the units on hand there (Shopify has already taken its own orders' units from it); a
negative `available` (Shopify oversold) is refused, as no count is below zero. The
external id is `<inventory_item_id>@<location_id>@<updated_at>`."""

from __future__ import annotations

from typing import Any

from backorder.intake.base import Payload, Unreadable, load_json, need, split_json
from backorder.intake.feed_fields import moment, units
from backorder.intake.feeds import Count, FeedDocument, Snapshot


def _id(item: dict[str, Any]) -> str | None:
    keys = (item.get("inventory_item_id"), item.get("location_id"), item.get("updated_at"))
    return "@".join(str(k) for k in keys) if all(k is not None for k in keys) else None


def _whole_id(value: Any, where: str) -> str:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or len(text) > 20:
        raise Unreadable(f"{where}: {text[:30]!r} is not a Shopify id")
    return text


class ShopifyInventory:
    channel = "shopify-inventory"

    def split(self, text: str) -> list[Payload]:
        return split_json(text, _id)

    def read(self, payload: Payload) -> FeedDocument:
        level = load_json(payload.text)
        if not isinstance(level, dict):
            raise Unreadable("an inventory level is a JSON object")
        item = _whole_id(need(level, "inventory_item_id"), "inventory_item_id")
        location = _whole_id(need(level, "location_id"), "location_id")
        count = Count(f"inventory_item:{item}", units(need(level, "available"), "available"))
        return Snapshot(location, moment(need(level, "updated_at"), "updated_at"), (count,))


ADAPTER = ShopifyInventory()
