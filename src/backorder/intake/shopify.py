"""Shopify: the Order object of the Admin REST API, as the `orders/create` webhook and
GET /admin/api/…/orders/{id}.json (inside `{"order": …}`) deliver it.

Mapped: `id` (the external id), `name` ("#1001": the number the customer knows),
`customer_locale` (the customer's language), `created_at`, `currency`, the customer (`customer.id`,
names, `email`/`contact_email`, `phone`), `line_items` (`sku`, else `variant:<variant_id>`
for the alias table; `quantity`; `price` less the line's `discount_allocations`; `variant_title`),
`shipping_lines` (express, expedited, overnight, next-day or priority services are
expedited), `financial_status` (paid: payment at order; authorized or pending: at shipment),
and the buyer: a B2B `company`, or a customer tag `wholesale`/`b2b`, is a wholesale buyer;
a tag `vip` a VIP."""

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

FAST = ("express", "expedited", "overnight", "next day", "next-day", "priority", "one day")


def _order(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("order"), dict):
        return document["order"]  # the single-order REST response
    return document


def is_fast(service: str) -> bool:
    service = service.lower()
    return any(word in service for word in FAST)


def tags_of(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(tag).strip().lower() for tag in value}
    return {tag.strip().lower() for tag in str(value or "").split(",") if tag.strip()}


class ShopifyAdapter:
    channel = "shopify"

    def split(self, text: str) -> list[Payload]:
        return split_json(text, lambda item: _order(item).get("id"))

    def convert(self, payload: Payload) -> Converted:
        order = _order(load_json(payload.text))
        if not isinstance(order, dict):
            raise Unreadable("a Shopify order is a JSON object")
        warnings: list[str] = []
        customer: dict[str, Any] = (
            order["customer"] if isinstance(order.get("customer"), dict) else {}
        )
        address = order.get("billing_address") or order.get("shipping_address") or {}
        if not isinstance(address, dict):
            address = {}
        email = text_of(order.get("email")) or text_of(order.get("contact_email"))
        email = email or text_of(customer.get("email"))
        who = text_of(customer.get("id")) or email
        if who is None:
            raise Unreadable("no customer: neither customer.id nor an email")
        names = (
            text_of(customer.get("first_name")) or text_of(address.get("first_name")),
            text_of(customer.get("last_name")) or text_of(address.get("last_name")),
        )
        tags = tags_of(customer.get("tags")) | tags_of(order.get("tags"))
        tier = "standard"
        if order.get("company") or {"wholesale", "b2b"} & tags:
            tier = "wholesale"
        elif "vip" in tags:
            tier = "vip"
        services = " ".join(
            f"{line.get('code') or ''} {line.get('title') or ''}"
            for line in listed(order, "shipping_lines")
            if isinstance(line, dict)
        )
        status = str(order.get("financial_status") or "paid").lower()
        lines = [
            self._line(item, number, warnings)
            for number, item in enumerate(listed(order, "line_items", required=True), start=1)
        ]
        if not lines:
            raise Unreadable("the order has no line items")
        return Converted(
            {
                "channel": self.channel,
                "external_id": str(need(order, "id")),
                "display_number": words_of(order.get("name"), 64, "name", warnings),
                "placed_at": need(order, "created_at"),
                "customer": {
                    "id": who,
                    "name": " ".join(n for n in names if n),
                    "email": email,
                    "phone": text_of(order.get("phone"))
                    or text_of(customer.get("phone"))
                    or text_of(address.get("phone")),
                    "tier": tier,
                    "language": language_of(
                        order.get("customer_locale"), "customer_locale", warnings
                    ),
                },
                "currency": need(order, "currency"),
                "shipping": {"method": "expedited" if is_fast(services) else "standard"},
                "payment_timing": "at_ship" if status in ("authorized", "pending") else "at_order",
                "lines": lines,
            },
            warnings,
        )

    @staticmethod
    def _line(item: Any, number: int, warnings: list[str]) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise Unreadable(f"line item {number} is not an object")
        sku = channel_sku(item, f"line item {number}", "sku", ("variant_id", "variant"))
        quantity = need(item, "quantity")
        price = money(item.get("price"), f"line item {number} price")
        if price is not None and isinstance(quantity, int) and quantity > 0:
            discount = sum(
                Decimal(money(d.get("amount"), f"line item {number} discount") or "0")
                for d in listed(item, "discount_allocations")
                if isinstance(d, dict)
            )
            if discount:
                net = Decimal(price) - discount / quantity
                if net < 0:
                    warnings.append(f"line item {number}: discount exceeds the price")
                    net = Decimal(0)
                price = money(net, f"line item {number} price")
        variant = words_of(
            item.get("variant_title"), 200, f"line item {number} variant_title", warnings
        )
        return {"sku": sku, "quantity": quantity, "unit_price": price, "variant": variant}


ADAPTER = ShopifyAdapter()
