"""Adobe Commerce (Magento 2): the order of the REST API (`GET /V1/orders/{id}`, the
`salesOrderRepositoryV1` order data interface), a page of `GET /V1/orders?searchCriteria…`
(`{"items": [...], "total_count": N}`: one payload per order), and the body of an Adobe
Commerce webhook on an order observer such as `observer.sales_order_place_after`
(`{"eventName": …, "data": {"order": {...}}}`), whose `eventName` is the payload's topic
(`intake.events` says what each event does; a REST order names none, and places).

Mapped: `entity_id` (the external id; a webhook body sent before Commerce saved the order has
none, and then its `increment_id` is the reference, with a warning), `increment_id` (the
number the customer knows), `created_at` (UTC, as Commerce keeps it: "2026-12-01 10:00:00"),
`order_currency_code`, the buyer (`customer_id`, else the e-mail for a guest; names, else the
billing address's; `customer_email`; the billing `telephone`), the wholesale buyer
(`customer_group_id` 2, Commerce's own Wholesale group, or a B2B company on the order), the
shipping method (`shipping_method`, or the REST shipping assignment's, and
`shipping_description`: next-day, two-day, express, overnight or priority services, and UPS
`1D*`/`2D*` codes, are expedited), the payment (paid in full, `total_paid` ≥ `grand_total`:
at order; an offline method (check/money order, bank transfer, cash on delivery, purchase
order, company credit) or an amount still due: at shipment), and the items.

Items: one line per stockable item, counted once. A configurable product comes as its parent
item (`product_type` configurable, the chosen child's `sku`, the price) and the child item
(simple, `parent_item_id`, no price of its own): the parent is the line, the child is skipped.
A bundle comes as its parent item and one child item per part (each with its own
`qty_ordered`, already multiplied by the bundle's): the children are the lines, the parent is
skipped; a child's price is its own (dynamic pricing); in a fixed-price bundle the parts have
none, and their lines carry no price (dividing the bundle's price among parts whose worth we
do not know would invent prices the price rules then check). A grouped product's items are
lines of their own. Virtual and downloadable items (or any `is_virtual`) hold no stock: left
out, with a warning. Quantity: `qty_ordered` less `qty_canceled`, a whole
number ("2.0000" is 2; 1.5 is unreadable); none left: left out, with a warning. Unit price:
`price` less the item's `discount_amount` per unit, in the order's currency."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
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
    split_json,
    text_of,
    words_of,
)
from backorder.intake.shopify import is_fast

NOT_STOCKED = {"virtual", "downloadable"}
PARENTS = {"configurable", "bundle"}
WHOLESALE_GROUP = "2"  # Commerce's own customer group "Wholesale" (0 NOT LOGGED IN, 1 General)
OFFLINE = {"checkmo", "banktransfer", "cashondelivery", "purchaseorder", "companycredit"}
FAST_CODE = re.compile(r"(^|_)(1d|2d|nda|2da|next|two_?day|2_?day|overnight|express)", re.I)
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$")
CANCELLED_STATES = {"canceled", "closed"}  # closed: refunded in full


def order_of(document: Any) -> Any:
    """The order in a document: a webhook body (`data.order`), else the document itself."""
    if isinstance(document, dict):
        data = document.get("data")
        if isinstance(data, dict) and isinstance(data.get("order"), dict):
            return data["order"]  # an Adobe Commerce webhook on an order observer
        if isinstance(document.get("order"), dict):
            return document["order"]  # the order management plugin's webhook
    return document


def event_name(text: str) -> str | None:
    """The event a webhook body names (`eventName`: `observer.sales_order_place_after`, or
    as Commerce's own examples write it, `sales_order_place_after`); None for a REST order."""
    if '"eventName"' not in text:
        return None
    try:
        document = load_json(text)
    except Unreadable:
        return None
    name = document.get("eventName") if isinstance(document, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else None


def order_state(document: Any) -> str:
    """The order's `state` in Commerce (new, processing, complete, canceled, closed, …),
    lower case; "" when it names none."""
    order = order_of(document)
    return str(order.get("state") or "").strip().lower() if isinstance(order, dict) else ""


def numbers_of(document: Any) -> tuple[str | None, str | None]:
    """The order's `entity_id` and `increment_id`, as text."""
    order = order_of(document)
    if not isinstance(order, dict):
        return None, None
    return text_of(order.get("entity_id")), text_of(order.get("increment_id"))


def whole_number(value: Any, where: str) -> int:
    """A quantity as a whole number: 2, 2.0 and "2.0000" are 2; anything else is
    Unreadable, saying what came."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Unreadable(f"{where}: {str(value)[:40]!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Unreadable(f"{where}: {str(value)[:40]!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Unreadable(f"{where}: {str(value)[:40]!r} is not a whole number")
    if abs(number) >= 10**18:
        raise Unreadable(f"{where}: {str(value)[:40]!r} is too large")
    return int(number)


def utc_time(value: Any, where: str) -> str:
    """Commerce's "2026-12-01 10:00:00" (UTC, without a zone) as ISO 8601 UTC; a time with
    a zone as it is."""
    text = text_of(value)
    if text is None:
        raise Unreadable(f"missing {where}")
    if LOCAL_TIME.fullmatch(text):
        return text.replace(" ", "T") + "Z"
    return text


def state_of(document: dict[str, Any]) -> tuple[str | None, bool]:
    """The order's state in Commerce: (why it was cancelled, if it was: canceled, or closed
    when refunded in full; whether it is complete: shipped)."""
    state = order_state(document)
    return (state if state in CANCELLED_STATES else None), state == "complete"


def _kind(item: dict[str, Any]) -> str:
    return str(item.get("product_type") or "simple").strip().lower()


def _key(item: dict[str, Any]) -> Any:
    """How an item is known to its children: its item_id, else (before Commerce saved the
    order) its SKU and type (a configurable and its child share a SKU)."""
    ident = text_of(item.get("item_id"))
    return ("id", ident) if ident is not None else ("sku", text_of(item.get("sku")), _kind(item))


def _parent(item: dict[str, Any], by_key: dict[Any, dict[str, Any]]) -> dict[str, Any] | None:
    """The item's parent item (a configurable or a bundle) among the order's items, by
    `parent_item_id`, else by the `parent_item` a webhook body embeds; None for an item
    without one (or whose parent the payload does not hold: it is then a line of its own)."""
    ident = text_of(item.get("parent_item_id"))
    if ident is not None and ident != "0":
        return by_key.get(("id", ident))
    embedded = item.get("parent_item")
    if isinstance(embedded, dict):
        parent = by_key.get(_key(embedded))
        return parent if parent is not item else None
    return None


def _variant(item: dict[str, Any], number: int, warnings: list[str]) -> str | None:
    options = item.get("product_options")
    if isinstance(options, str):
        try:
            options = json.loads(options)  # kept serialised in the database
        except (ValueError, RecursionError):
            options = None
    shown = options.get("attributes_info") if isinstance(options, dict) else None
    if not isinstance(shown, list):
        return None
    values = [text_of(o.get("value")) for o in shown if isinstance(o, dict)]
    return words_of(" / ".join(v for v in values if v), 200, f"item {number} options", warnings)


def _addresses(order: dict[str, Any]) -> dict[str, Any]:
    """The billing address: the REST order's `billing_address`, else the webhook's
    `addresses` entry of type billing."""
    if isinstance(order.get("billing_address"), dict):
        return dict(order["billing_address"])
    for address in listed(order, "addresses"):
        if isinstance(address, dict) and address.get("address_type") == "billing":
            return address
    return {}


def _shipping_words(order: dict[str, Any]) -> tuple[str, str]:
    """(method codes, descriptions) the order names for its shipping."""
    codes = [text_of(order.get("shipping_method")) or ""]
    extension = order.get("extension_attributes")
    if isinstance(extension, dict):
        for assignment in listed(extension, "shipping_assignments"):
            shipping = assignment.get("shipping") if isinstance(assignment, dict) else None
            if isinstance(shipping, dict):
                codes.append(text_of(shipping.get("method")) or "")
    return " ".join(codes), text_of(order.get("shipping_description")) or ""


def _expedited(order: dict[str, Any]) -> bool:
    codes, description = _shipping_words(order)
    carrier_codes = [code.split("_", 1)[-1] for code in codes.split()]
    return (
        is_fast(f"{codes} {description}")
        or any(FAST_CODE.search(code) for code in carrier_codes)
        or any(w in description.lower() for w in ("two day", "2nd day", "second day", "2 day"))
    )


def _amount(order: dict[str, Any], key: str) -> Decimal | None:
    value = money(order.get(key), key)
    return None if value is None else Decimal(value)


def _payment_timing(order: dict[str, Any]) -> str:
    paid, total = _amount(order, "total_paid"), _amount(order, "grand_total")
    if paid is not None and total is not None and paid >= total:
        return "at_order"
    payment = order.get("payment")
    method = str(payment.get("method") or "") if isinstance(payment, dict) else ""
    due = _amount(order, "total_due")
    return "at_ship" if method.lower() in OFFLINE or (due is not None and due > 0) else "at_order"


def _tier(order: dict[str, Any]) -> str:
    extension = order.get("extension_attributes")
    company = extension.get("company_order_attributes") if isinstance(extension, dict) else None
    if text_of(order.get("customer_group_id")) == WHOLESALE_GROUP or isinstance(company, dict):
        return "wholesale"
    return "standard"


class MagentoAdapter:
    channel = "magento"

    def split(self, text: str) -> list[Payload]:
        try:
            document = load_json(text)
        except Unreadable:
            return [Payload(text, None)]
        page = isinstance(document, dict) and isinstance(document.get("items"), list)
        if page and ("total_count" in document or "search_criteria" in document):
            orders = document["items"]  # a page of GET /V1/orders?searchCriteria…
            if not orders:
                return [Payload(text, None)]
            return [Payload(json.dumps(order, default=str), self._ident(order)) for order in orders]
        payloads = split_json(text, lambda item: self._ident(item))
        return [replace(p, topic=event_name(p.text)) for p in payloads]

    @staticmethod
    def _ident(document: Any) -> str | None:
        order = order_of(document)
        if not isinstance(order, dict):
            return None
        return text_of(order.get("entity_id")) or text_of(order.get("increment_id"))

    def convert(self, payload: Payload) -> Converted:
        order = order_of(load_json(payload.text))
        if not isinstance(order, dict):
            raise Unreadable("an Adobe Commerce order is a JSON object")
        warnings: list[str] = []
        number = text_of(order.get("increment_id"))
        reference = text_of(order.get("entity_id"))
        if reference is None:
            if number is None:
                raise Unreadable("missing entity_id and increment_id")
            reference = number
            warnings.append(
                f"no entity_id (sent before Commerce saved the order): increment_id {number} "
                "is the reference"
            )
        address = _addresses(order)
        email = text_of(order.get("customer_email")) or text_of(address.get("email"))
        guest = order.get("customer_is_guest") in (True, 1, "1")
        customer_id = None if guest else text_of(order.get("customer_id"))
        who = customer_id or email
        if who is None:
            raise Unreadable("no customer: neither customer_id nor customer_email")
        names = (
            text_of(order.get("customer_firstname")) or text_of(address.get("firstname")),
            text_of(order.get("customer_lastname")) or text_of(address.get("lastname")),
        )
        currency = text_of(order.get("order_currency_code"))
        if currency is None:
            raise Unreadable("missing order_currency_code")
        lines = self._lines(listed(order, "items", required=True), warnings)
        return Converted(
            {
                "channel": self.channel,
                "external_id": reference,
                "display_number": words_of(number, 64, "increment_id", warnings),
                "placed_at": utc_time(order.get("created_at"), "created_at"),
                "customer": {
                    "id": who,
                    "name": " ".join(n for n in names if n),
                    "email": email,
                    "phone": text_of(address.get("telephone")),
                    "tier": _tier(order),
                },
                "currency": currency,
                "shipping": {"method": "expedited" if _expedited(order) else "standard"},
                "payment_timing": _payment_timing(order),
                "lines": lines,
            },
            warnings,
        )

    def _lines(self, items: list[Any], warnings: list[str]) -> list[dict[str, Any]]:
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise Unreadable(f"item {number} is not an object")
        by_key = {_key(item): item for item in items}
        bundles_with_parts = {
            _key(parent)
            for item in items
            if (parent := _parent(item, by_key)) is not None and _kind(parent) == "bundle"
        }
        lines = []
        for number, item in enumerate(items, start=1):
            parent = _parent(item, by_key)
            if parent is not None and _kind(parent) == "configurable":
                continue  # counted in its parent's line
            kind = _kind(item)
            if kind == "bundle" and _key(item) in bundles_with_parts:
                continue  # counted in its parts' lines
            line = self._line(item, number, parent, warnings)
            if kind == "bundle":
                warnings.append(f"item {number} ({line['sku']}): a bundle without its parts")
            if kind in NOT_STOCKED or item.get("is_virtual") in (True, 1, "1"):
                warnings.append(f"item {number} ({line['sku']}): {kind}, holds no stock: left out")
            elif line["quantity"] <= 0:
                warnings.append(f"item {number} ({line['sku']}): nothing left to fill, left out")
            else:
                lines.append(line)
        if not lines:
            raise Unreadable("no item to stock: every item is virtual, downloadable or cancelled")
        return lines

    @staticmethod
    def _line(
        item: dict[str, Any], number: int, parent: dict[str, Any] | None, warnings: list[str]
    ) -> dict[str, Any]:
        sku = channel_sku(item, f"item {number}", "sku", ("product_id", "product"))
        ordered = whole_number(need(item, "qty_ordered"), f"item {number} qty_ordered")
        cancelled = item.get("qty_canceled")
        quantity = ordered - (
            whole_number(cancelled, f"item {number} qty_canceled") if cancelled else 0
        )
        price = money(item.get("price"), f"item {number} price")
        if price is not None and Decimal(price) == 0 and parent is not None:
            price = None  # a fixed-price bundle's part: no price of its own
        discount = money(item.get("discount_amount"), f"item {number} discount_amount")
        if price is not None and discount and ordered > 0:  # the row's, for every unit ordered
            net = Decimal(price) - Decimal(discount) / ordered
            if net < 0:
                warnings.append(f"item {number}: discount exceeds the price")
            price = money(max(net, Decimal(0)), f"item {number} price")
        variant = _variant(item, number, warnings)
        return {"sku": sku, "quantity": quantity, "unit_price": price, "variant": variant}


ADAPTER = MagentoAdapter()
