"""WooCommerce: the order object of the WooCommerce REST API (v3) and its order webhooks.

Mapped: `id` (the external id), `number` (the number the customer knows), the language
in the order's `meta_data` (`wpml_language`, `trp_language`, `language` or `locale`, when a
multilingual plugin keeps one), `date_created_gmt` (UTC; else `date_created`, taken as UTC
with a warning), `currency`, the buyer (`customer_id`, else the billing e-mail; billing
names, e-mail and phone; a billing `company` makes a wholesale buyer), `line_items`
(`sku`, else `variation:<variation_id>` or `product:<product_id>` for the alias table;
`quantity`; the unit price after discounts, `total / quantity`), `shipping_lines` (express,
expedited, overnight, next-day or priority methods are expedited), and `date_paid` (paid:
payment at order; not yet: at shipment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backorder.intake.base import (
    Converted,
    Payload,
    Unreadable,
    channel_sku,
    language_of,
    listed,
    load_json,
    money,
    need,
    split_json,
    text_of,
    words_of,
)
from backorder.intake.shopify import is_fast

# Where multilingual-shop plugins keep the language an order was placed in (WPML,
# TranslatePress, and a plain `language`/`locale`), among the order's `meta_data`.
LANGUAGE_KEYS = ("wpml_language", "trp_language", "language", "locale")


def _language(order: dict[str, Any], warnings: list[str]) -> str | None:
    meta = {
        str(entry.get("key")): entry.get("value")
        for entry in listed(order, "meta_data")
        if isinstance(entry, dict)
    }
    key = next((key for key in LANGUAGE_KEYS if text_of(meta.get(key))), None)
    return None if key is None else language_of(meta[key], f"meta_data {key}", warnings)


class WooCommerceAdapter:
    channel = "woocommerce"

    def split(self, text: str) -> list[Payload]:
        return split_json(text, lambda item: item.get("id"))

    def convert(self, payload: Payload) -> Converted:
        order = load_json(payload.text)
        if not isinstance(order, dict):
            raise Unreadable("a WooCommerce order is a JSON object")
        warnings: list[str] = []
        billing: dict[str, Any] = order["billing"] if isinstance(order.get("billing"), dict) else {}
        email = text_of(billing.get("email"))
        customer = order.get("customer_id")
        who = str(customer) if customer not in (None, 0, "0", "") else email
        if who is None:
            raise Unreadable("no customer: a guest order without a billing e-mail")
        placed = text_of(order.get("date_created_gmt"))
        if placed is not None:
            placed += "" if placed.endswith("Z") or "+" in placed[10:] else "Z"
        else:
            placed = text_of(need(order, "date_created"))
            if placed is None:
                raise Unreadable("missing date_created")
            warnings.append("no date_created_gmt: the store's local date_created was taken as UTC")
            placed += "Z"
        services = " ".join(
            f"{line.get('method_id') or ''} {line.get('method_title') or ''}"
            for line in listed(order, "shipping_lines")
            if isinstance(line, dict)
        )
        lines = [
            self._line(item, number)
            for number, item in enumerate(listed(order, "line_items", required=True), start=1)
        ]
        if not lines:
            raise Unreadable("the order has no line items")
        names = (text_of(billing.get("first_name")), text_of(billing.get("last_name")))
        return Converted(
            {
                "channel": self.channel,
                "external_id": str(need(order, "id")),
                "display_number": words_of(order.get("number"), 64, "number", warnings),
                "placed_at": placed,
                "customer": {
                    "id": who,
                    "name": " ".join(n for n in names if n),
                    "email": email,
                    "phone": text_of(billing.get("phone")),
                    "tier": "wholesale" if text_of(billing.get("company")) else "standard",
                    "language": _language(order, warnings),
                },
                "currency": need(order, "currency"),
                "shipping": {"method": "expedited" if is_fast(services) else "standard"},
                "payment_timing": "at_order" if order.get("date_paid") else "at_ship",
                "lines": lines,
            },
            warnings,
        )

    @staticmethod
    def _line(item: Any, number: int) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise Unreadable(f"line item {number} is not an object")
        sku = channel_sku(
            item,
            f"line item {number}",
            "sku",
            ("variation_id", "variation"),
            ("product_id", "product"),
        )
        quantity = need(item, "quantity")
        total = money(item.get("total"), f"line item {number} total")
        price = money(item.get("price"), f"line item {number} price")
        if total is not None and isinstance(quantity, int) and quantity > 0:
            price = money(Decimal(total) / quantity, f"line item {number} price")
        return {"sku": sku, "quantity": quantity, "unit_price": price}


ADAPTER = WooCommerceAdapter()
