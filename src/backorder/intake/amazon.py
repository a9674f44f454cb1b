"""Amazon Selling Partner API, Orders v0: an order (`getOrder`) and its items
(`getOrderItems`), either as one document holding both (the order with an `OrderItems`
list, bare or inside `payload`) or as the two API responses side by side in a JSON array
(paired by `AmazonOrderId`).

Mapped: `AmazonOrderId` (the external id, and the number the buyer knows), `PurchaseDate`,
the currency of `OrderTotal` (else of the first item's price), the buyer
(`BuyerInfo.BuyerEmail` when Amazon shares it, else a customer id made from the order id;
Amazon hides contact details, so their absence is not worth a warning), `IsBusinessOrder` (a
wholesale buyer), `IsPrime` or a `ShipmentServiceLevelCategory` of Expedited, NextDay,
SecondDay, Priority or SameDay (expedited), and the items: `SellerSKU` (else `asin:<ASIN>`
for the alias table), `QuantityOrdered`, and the unit price `(ItemPrice - PromotionDiscount)
/ QuantityOrdered`. Items with nothing ordered (cancelled by the buyer) are left out, with a
warning."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from backorder.intake.base import (
    Converted,
    Payload,
    Unreadable,
    channel_sku,
    listed,
    load_json,
    money,
    need,
    text_of,
    words_of,
)

FAST = {"expedited", "nextday", "secondday", "priority", "sameday"}


def _body(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("payload"), dict):
        return document["payload"]  # an SP-API response
    return document


def _merge(documents: list[Any]) -> list[dict[str, Any]]:
    """Orders with their items: documents that share an AmazonOrderId are one order."""
    orders: dict[str, dict[str, Any]] = {}
    loose: list[dict[str, Any]] = []
    for document in documents:
        body = _body(document)
        if not isinstance(body, dict) or not isinstance(body.get("AmazonOrderId"), str):
            loose.append(document if isinstance(document, dict) else {"document": document})
            continue
        orders.setdefault(body["AmazonOrderId"], {}).update(body)
    return list(orders.values()) + loose


class AmazonAdapter:
    channel = "amazon"

    def split(self, text: str) -> list[Payload]:
        try:
            document = load_json(text)
        except Unreadable:
            return [Payload(text, None)]
        merged = _merge(document if isinstance(document, list) else [document])
        if not merged:
            return [Payload(text, None)]
        return [
            Payload(json.dumps(order, default=str), text_of(order.get("AmazonOrderId")))
            for order in merged
        ]

    def convert(self, payload: Payload) -> Converted:
        order = _body(load_json(payload.text))
        if not isinstance(order, dict):
            raise Unreadable("an Amazon order is a JSON object")
        warnings: list[str] = []
        order_id = str(need(order, "AmazonOrderId"))
        items = listed(order, "OrderItems")
        if not items:
            raise Unreadable("no OrderItems: send the getOrderItems response with the order")
        lines = [
            line
            for number, item in enumerate(items, start=1)
            if (line := self._line(item, number, warnings)) is not None
        ]
        if not lines:
            raise Unreadable("every item has a QuantityOrdered of 0")
        buyer: dict[str, Any] = (
            order["BuyerInfo"] if isinstance(order.get("BuyerInfo"), dict) else {}
        )
        email = text_of(buyer.get("BuyerEmail"))
        total: dict[str, Any] = (
            order["OrderTotal"] if isinstance(order.get("OrderTotal"), dict) else {}
        )
        currency = text_of(total.get("CurrencyCode")) or self._item_currency(items)
        level = str(order.get("ShipmentServiceLevelCategory") or "").lower()
        fast = order.get("IsPrime") is True or level in FAST
        return Converted(
            {
                "channel": self.channel,
                "external_id": order_id,
                "display_number": words_of(order_id, 64, "AmazonOrderId", warnings),
                "placed_at": need(order, "PurchaseDate"),
                "customer": {
                    "id": email or f"amazon-buyer-{order_id}",
                    "name": text_of(buyer.get("BuyerName")) or "",
                    "email": email,
                    "tier": "wholesale" if order.get("IsBusinessOrder") is True else "standard",
                },
                "currency": currency or "USD",
                "shipping": {"method": "expedited" if fast else "standard"},
                "lines": lines,
            },
            warnings,
        )

    @staticmethod
    def _item_currency(items: list[Any]) -> str | None:
        for item in items:
            price = item.get("ItemPrice") if isinstance(item, dict) else None
            if isinstance(price, dict) and text_of(price.get("CurrencyCode")):
                return text_of(price.get("CurrencyCode"))
        return None

    @staticmethod
    def _line(item: Any, number: int, warnings: list[str]) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            raise Unreadable(f"order item {number} is not an object")
        sku = channel_sku(item, f"order item {number}", "SellerSKU", ("ASIN", "asin"))
        quantity = need(item, "QuantityOrdered")
        if quantity == 0:
            warnings.append(f"order item {number} ({sku}): nothing ordered, left out")
            return None
        price = None
        amount = item.get("ItemPrice")
        if isinstance(amount, dict) and isinstance(quantity, int) and quantity > 0:
            total = money(amount.get("Amount"), f"order item {number} ItemPrice")
            promotion = item.get("PromotionDiscount")
            off = money(
                promotion.get("Amount") if isinstance(promotion, dict) else None,
                f"order item {number} PromotionDiscount",
            )
            if total is not None:
                net = (Decimal(total) - Decimal(off or "0")) / quantity
                price = money(max(net, Decimal(0)), f"order item {number} price")
        return {"sku": sku, "quantity": quantity, "unit_price": price}


ADAPTER = AmazonAdapter()
