"""BigCommerce: the v2 order (`GET /v2/orders/{id}`) with its products
(`GET /v2/orders/{id}/products`), as the two API responses side by side in a JSON array
(paired by the order's `id` and each product's `order_id`; the
`/v2/orders/{id}/shipping_addresses` response may come too, for the shipping method), or as
one order whose `products` is the list itself; and the webhooks of the v3 hooks API
(`{"scope": "store/order/created", "data": {"type": "order", "id": 250}, …}`), which carry
only the order's id.

A part of an order is never refused: a webhook, an order whose `products` is still the
resource link (`{"url": …, "resource": "/orders/250/products"}`), or products without their
order each wait, kept, for the whole order (`waiting_for`), and are settled when it comes;
an order and its products that came apart are put together again (`combine`).

Mapped: `id` (the external id and the number the customer knows), `date_created`
(RFC 2822), the transactional currency (`default_currency_code`, else `currency_code`),
the buyer (`customer_id`, 0 for a guest: then the billing e-mail, else
`bigcommerce-guest-<order id>`; billing names, e-mail, phone; a billing `company` makes a
wholesale buyer, as for WooCommerce), `customer_locale`, `payment_status` (authorized,
pending, capture pending, held for review, or the status Awaiting Payment: payment at
shipment; else at order), the shipping addresses' `shipping_method` (express, expedited,
overnight, next-day or priority: expedited), and the products: `sku`, else
`variant:<variant_id>` or `product:<product_id>` for the alias table; `quantity`;
`price_ex_tax` less the product's `applied_discounts` per unit; `product_options` as the
variant ("Size: L, Colour: Blue"). Digital products ship nothing from stock: left out, with
a warning."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from email.utils import parsedate_to_datetime
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
    text_of,
    words_of,
)
from backorder.intake.shopify import is_fast

AT_SHIPMENT = {"authorized", "pending", "capture pending", "held for review"}
AWAITING_PAYMENT = 7  # status_id


def is_webhook(document: Any) -> bool:
    """A v3 hooks API callback: a scope and a `data` object, no order of its own."""
    return (
        isinstance(document, dict)
        and isinstance(document.get("scope"), str)
        and isinstance(document.get("data"), dict)
    )


def _webhook_order(document: dict[str, Any]) -> str | None:
    """The id of the order a webhook names; None for another resource's webhook."""
    data = document["data"]
    if str(data.get("type") or "").lower() != "order":
        return None
    return text_of(data.get("id"))


def _is_order(document: Any) -> bool:
    return isinstance(document, dict) and "order_id" not in document and "id" in document


def _part_kind(item: dict[str, Any]) -> str:
    """Whether an item carrying `order_id` is a product or a shipping address."""
    if "shipping_method" in item or "street_1" in item:
        return "shipping_addresses"
    return "products"


def _dumps(document: Any) -> str:
    return json.dumps(document, default=str)


class BigCommerceAdapter:
    channel = "bigcommerce"

    def split(self, text: str) -> list[Payload]:
        try:
            document = load_json(text)
        except Unreadable:
            return [Payload(text, None)]
        if is_webhook(document):
            return [Payload(text, _webhook_order(document), str(document["scope"]))]
        if _is_order(document):
            return [Payload(text, text_of(document.get("id")))]
        documents = document if isinstance(document, list) else [document]
        payloads = self._merge(documents)
        return payloads or [Payload(text, None)]

    @staticmethod
    def _merge(documents: list[Any]) -> list[Payload]:
        """Orders with their products (and shipping addresses), paired by order id; each
        webhook its own payload; products whose order is not here, one payload per order."""
        orders: dict[str, dict[str, Any]] = {}
        parts: dict[str, dict[str, list[Any]]] = {}
        loose: list[Payload] = []
        for document in documents:
            if is_webhook(document):
                loose.append(
                    Payload(_dumps(document), _webhook_order(document), str(document["scope"]))
                )
            elif _is_order(document):
                orders.setdefault(str(document["id"]), {}).update(document)
            elif isinstance(document, list | dict):
                items = document if isinstance(document, list) else [document]
                for item in items:
                    if isinstance(item, dict) and text_of(item.get("order_id")) is not None:
                        kinds = parts.setdefault(str(item["order_id"]), {})
                        kinds.setdefault(_part_kind(item), []).append(item)
                    else:
                        loose.append(Payload(_dumps(item), None))
            else:
                loose.append(Payload(_dumps(document), None))
        merged = []
        for ident, order in orders.items():
            merged.append(Payload(_dumps(order | parts.pop(ident, {})), ident))
        for ident, kinds in parts.items():  # products whose order is not in this delivery
            merged.append(Payload(_dumps(kinds.get("products", [])), ident))
        return merged + loose

    def waiting_for(self, payload: Payload) -> str | None:
        try:
            document = load_json(payload.text)
        except Unreadable:
            return None
        ident = payload.external_id
        if ident is None:
            return None
        if is_webhook(document):
            return (
                f"waiting for order {ident}'s body: {document['scope']} carries only its id; "
                f"send GET /v2/orders/{ident} with its /products"
            )
        if isinstance(document, list):
            return f"waiting for order {ident}'s body: its products came without it"
        if isinstance(document, dict) and not isinstance(document.get("products"), list):
            return (
                f"waiting for the products of order {ident}: send "
                f"GET /v2/orders/{ident}/products with the order"
            )
        return None

    def combine(self, texts: list[str]) -> Payload | None:
        """An order and its products that came apart, put together again."""
        documents = []
        for text in texts:
            try:
                document = load_json(text)
            except Unreadable:
                continue
            if not is_webhook(document):  # a webhook adds nothing but the id
                documents.append(document)
        for payload in self._merge(documents):
            if payload.external_id is not None and self.waiting_for(payload) is None:
                return payload
        return None

    def convert(self, payload: Payload) -> Converted:
        order = load_json(payload.text)
        if is_webhook(order):
            raise Unreadable(
                f"{order['scope']} carries only an id: send GET /v2/orders/{{id}} with its "
                "/products"
            )
        if isinstance(order, list):
            raise Unreadable("products without their order: send GET /v2/orders/{id} with them")
        if not isinstance(order, dict):
            raise Unreadable("a BigCommerce order is a JSON object")
        warnings: list[str] = []
        order_id = str(need(order, "id"))
        if not isinstance(order.get("products"), list):
            raise Unreadable(f"no products: send GET /v2/orders/{order_id}/products with the order")
        lines = [
            line
            for number, item in enumerate(listed(order, "products"), start=1)
            if (line := self._line(item, number, warnings)) is not None
        ]
        if not lines:
            raise Unreadable("no physical products to ship (none, or every one digital)")
        billing = order.get("billing_address")
        billing = billing if isinstance(billing, dict) else {}
        email = text_of(billing.get("email"))
        customer = text_of(order.get("customer_id"))
        if customer in (None, "0"):  # a guest
            customer = email or f"bigcommerce-guest-{order_id}"
        names = (text_of(billing.get("first_name")), text_of(billing.get("last_name")))
        services = " ".join(
            str(address.get("shipping_method") or "")
            for address in listed(order, "shipping_addresses")
            if isinstance(address, dict)
        )
        status = str(order.get("payment_status") or "").strip().lower()
        later = status in AT_SHIPMENT or order.get("status_id") == AWAITING_PAYMENT
        return Converted(
            {
                "channel": self.channel,
                "external_id": order_id,
                "display_number": words_of(order_id, 64, "id", warnings),
                "placed_at": _moment(need(order, "date_created")),
                "customer": {
                    "id": customer,
                    "name": " ".join(n for n in names if n),
                    "email": email,
                    "phone": text_of(billing.get("phone")),
                    "tier": "wholesale" if text_of(billing.get("company")) else "standard",
                    "language": language_of(
                        order.get("customer_locale"), "customer_locale", warnings
                    ),
                },
                "currency": text_of(order.get("default_currency_code"))
                or need(order, "currency_code"),
                "shipping": {"method": "expedited" if is_fast(services) else "standard"},
                "payment_timing": "at_ship" if later else "at_order",
                "lines": lines,
            },
            warnings,
        )

    @staticmethod
    def _line(item: Any, number: int, warnings: list[str]) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            raise Unreadable(f"product {number} is not an object")
        where = f"product {number}"
        sku = channel_sku(item, where, "sku", ("variant_id", "variant"), ("product_id", "product"))
        if str(item.get("type") or "").lower() == "digital":
            warnings.append(f"{where} ({sku}): digital, nothing to ship from stock; left out")
            return None
        quantity = need(item, "quantity")
        price = money(item.get("price_ex_tax"), f"{where} price_ex_tax")
        if price is not None and isinstance(quantity, int) and quantity > 0:
            discount = sum(
                Decimal(money(d.get("amount"), f"{where} applied discount") or "0")
                for d in listed(item, "applied_discounts")
                if isinstance(d, dict)
            )
            if discount:
                net = Decimal(price) - discount / quantity
                if net < 0:
                    warnings.append(f"{where}: discount exceeds the price")
                    net = Decimal(0)
                price = money(net, f"{where} price")
        options = ", ".join(
            f"{text_of(o.get('display_name')) or ''}: {text_of(o.get('display_value')) or ''}"
            for o in listed(item, "product_options")
            if isinstance(o, dict) and (o.get("display_name") or o.get("display_value"))
        )
        variant = words_of(options, 200, f"{where} product_options", warnings)
        return {"sku": sku, "quantity": quantity, "unit_price": price, "variant": variant}


def _moment(value: Any) -> str:
    """An RFC 2822 date ("Tue, 05 Mar 2019 21:25:03 +0000") as ISO 8601; one without a zone
    (-0000) is UTC."""
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        raise Unreadable(f"date_created {str(value)[:40]!r} is not an RFC 2822 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# The order statuses BigCommerce numbers (`status_id`), as words.
STATUSES = {
    0: "incomplete",
    1: "pending",
    2: "shipped",
    3: "partially_shipped",
    4: "refunded",
    5: "cancelled",
    6: "declined",
    7: "awaiting_payment",
    8: "awaiting_pickup",
    9: "awaiting_shipment",
    10: "completed",
    11: "awaiting_fulfillment",
    12: "manual_verification_required",
    13: "disputed",
    14: "partially_refunded",
}
# An order in these states in the shop takes no stock: it will never ship.
CANCELLED = {0, 4, 5, 6}
FULFILLED = {2, 10}

ADAPTER = BigCommerceAdapter()
