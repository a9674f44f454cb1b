"""Walmart Marketplace: the purchase order of the Orders API (v3), as `GET /v3/orders/{id}`
answers it (`{"order": {...}}`), bare, or as a page of `GET /v3/orders/released` or
`GET /v3/orders` (`{"list": {"meta": …, "elements": {"order": [...]}}}`: one payload per
order). Walmart pushes no order bodies to a seller's endpoint: an integration pulls released
orders and posts them here with an API key.

Mapped: `purchaseOrderId` (the external id), `customerOrderId` (the number the customer
knows), `orderDate` (milliseconds since 1970, UTC), the buyer (`customerEmailId`, Walmart's
relay address, else a customer id made from the purchase order; `shippingInfo.postalAddress
.name`; `shippingInfo.phone`), `shippingInfo.methodCode` (Express, OneDay, NextDay and
TwoDay are expedited; Standard, Value and Freight are not), the payment (Walmart charges the
customer when a line is marked shipped: at shipment), and `orderLines.orderLine[]`:
`item.sku`; `orderLineQuantity.amount` (a whole number, as text) less what
`orderLineStatuses` says is Cancelled (a line cancelled whole is left out, with a warning);
`orderLineQuantity.unitOfMeasurement` (EACH: single units; CASE, PACK, PALLET… the line's
unit, counted in single units by the catalogue's pack); the unit price, the line's PRODUCT
charges (`chargeAmount.amount`, the line's price with its discounts) over its quantity, in
their `currency`.

An order Walmart fulfils from its own stock (Walmart Fulfillment Services: the purchase
order's `shipNode.type` WFSFulfilled; SellerFulfilled and 3PLFulfilled are the seller's
stock) holds none of ours: it is kept and ignored (`intake.events`). A line that names a ship
node of its own, WFSFulfilled, in an order the seller fulfils is left out, with a warning."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backorder.intake.base import (
    Converted,
    Payload,
    Unreadable,
    listed,
    load_json,
    money,
    need,
    split_json,
    text_of,
    words_of,
)
from backorder.intake.magento import whole_number

FAST = {"express", "oneday", "nextday", "twoday"}
# Walmart's units of measurement, as the canonical order's unit codes (UN/ECE Rec. 20 / X12).
UNITS = {"EACH": None, "EA": None, "CASE": "CA", "PACK": "PK", "PALLET": "PL", "BOX": "BX"}
UNIT_WORD = re.compile(r"^[A-Z0-9]{1,8}$")
MAX_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WFS = "wfsfulfilled"  # shipNode.type of an order Walmart Fulfillment Services ships


def order_of(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("order"), dict):
        return document["order"]  # GET /v3/orders/{purchaseOrderId}
    return document


def _page(document: Any) -> list[Any] | None:
    """The orders of a list response, or None when the document is no list response."""
    if not isinstance(document, dict) or not isinstance(document.get("list"), dict):
        return None
    elements = document["list"].get("elements")
    found = elements.get("order") if isinstance(elements, dict) else None
    return found if isinstance(found, list) else []


def _statuses(line: dict[str, Any]) -> list[dict[str, Any]]:
    holder = line.get("orderLineStatuses")
    found = holder.get("orderLineStatus") if isinstance(holder, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def _lines_of(order: dict[str, Any]) -> list[Any]:
    holder = order.get("orderLines")
    found = holder.get("orderLine") if isinstance(holder, dict) else None
    return found if isinstance(found, list) else []


def _cancelled(status: dict[str, Any], ordered: int, where: str) -> int:
    """The units a line status says were cancelled: its `statusQuantity`, else the line."""
    if str(status.get("status") or "").lower() != "cancelled":
        return 0
    counted = status.get("statusQuantity")
    if not isinstance(counted, dict) or counted.get("amount") is None:
        return ordered
    return whole_number(counted["amount"], f"{where} cancelled statusQuantity.amount")


def state_of(document: dict[str, Any]) -> tuple[str | None, bool]:
    """The order's state at Walmart: cancelled when every line's every status is Cancelled;
    fulfilled when every line is Shipped or Delivered."""
    order = order_of(document)
    lines = [line for line in _lines_of(order) if isinstance(line, dict)] if order else []
    said = [{str(s.get("status") or "").lower() for s in _statuses(line)} for line in lines]
    if not said or not all(said):
        return None, False
    if all(statuses == {"cancelled"} for statuses in said):
        return "cancelled", False
    return None, all(statuses <= {"shipped", "delivered"} for statuses in said)


def _by_walmart(holder: dict[str, Any]) -> bool:
    """Whether an order (or an order line) names Walmart's own fulfilment centres as its ship
    node (`shipNode.type` WFSFulfilled: Walmart Fulfillment Services) rather than the
    seller's (SellerFulfilled) or the seller's third-party logistics (3PLFulfilled)."""
    node = holder.get("shipNode")
    return isinstance(node, dict) and str(node.get("type") or "").strip().lower() == WFS


def fulfilled_by_walmart(document: Any) -> bool:
    """Whether Walmart fulfils the whole order from its own stock (WFS): the purchase
    order's ship node, else every line's. Such an order holds no stock of ours."""
    order = order_of(document)
    if not isinstance(order, dict):
        return False
    if _by_walmart(order):
        return True
    lines = [line for line in _lines_of(order) if isinstance(line, dict)]
    return bool(lines) and all(_by_walmart(line) for line in lines)


def placed_at(value: Any) -> str:
    """`orderDate`, milliseconds since 1970 UTC, as ISO 8601."""
    millis = whole_number(value, "orderDate")
    if not 0 <= millis <= MAX_MILLIS:
        raise Unreadable(f"orderDate: {millis} is no time (milliseconds since 1970)")
    moment = EPOCH + timedelta(milliseconds=millis)  # exact, where a float of seconds is not
    return moment.isoformat().replace("+00:00", "Z")


def unit_of(value: Any, where: str) -> str | None:
    """Walmart's unit of measurement as a canonical unit code; None for single units."""
    word = (text_of(value) or "EACH").upper()
    if word in UNITS:
        return UNITS[word]
    if not UNIT_WORD.fullmatch(word):
        raise Unreadable(f"{where}: unit {word[:20]!r} is no unit code")
    return word


class WalmartAdapter:
    channel = "walmart"

    def split(self, text: str) -> list[Payload]:
        try:
            document = load_json(text)
        except Unreadable:
            return [Payload(text, None)]
        orders = _page(document)
        if orders is None:
            return split_json(text, lambda item: order_of(item).get("purchaseOrderId"))
        if not orders:
            return [Payload(text, None)]
        return [
            Payload(
                json.dumps(order, default=str),
                text_of(order.get("purchaseOrderId")) if isinstance(order, dict) else None,
            )
            for order in orders
        ]

    def convert(self, payload: Payload) -> Converted:
        order = order_of(load_json(payload.text))
        if not isinstance(order, dict):
            raise Unreadable("a Walmart order is a JSON object")
        warnings: list[str] = []
        reference = text_of(need(order, "purchaseOrderId"))
        if reference is None:
            raise Unreadable("missing purchaseOrderId")
        shipping: dict[str, Any] = (
            order["shippingInfo"] if isinstance(order.get("shippingInfo"), dict) else {}
        )
        address = shipping.get("postalAddress")
        name = text_of(address.get("name")) if isinstance(address, dict) else None
        email = text_of(order.get("customerEmailId"))
        method = str(shipping.get("methodCode") or "").strip().lower()
        items = _lines_of(order)
        if not items:
            raise Unreadable("orderLines.orderLine must be a non-empty list")
        lines = []
        currencies: set[str] = set()
        for number, item in enumerate(items, start=1):
            line = self._line(item, number, currencies, warnings)
            if line is not None:
                lines.append(line)
        if not lines:
            if fulfilled_by_walmart(order):
                raise Unreadable("fulfilled by Walmart (WFS): no line holds stock of ours")
            raise Unreadable("every order line is cancelled")
        if len(currencies) > 1:
            raise Unreadable(f"charges in more than one currency: {', '.join(sorted(currencies))}")
        return Converted(
            {
                "channel": self.channel,
                "external_id": reference,
                "display_number": words_of(
                    order.get("customerOrderId"), 64, "customerOrderId", warnings
                ),
                "placed_at": placed_at(need(order, "orderDate")),
                "customer": {
                    "id": email or f"walmart-buyer-{reference}",
                    "name": name or "",
                    "email": email,
                    "phone": text_of(shipping.get("phone")),
                    "tier": "standard",
                },
                "currency": next(iter(currencies), "USD"),
                "shipping": {"method": "expedited" if method in FAST else "standard"},
                "payment_timing": "at_ship",
                "lines": lines,
            },
            warnings,
        )

    @staticmethod
    def _line(
        item: Any, number: int, currencies: set[str], warnings: list[str]
    ) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            raise Unreadable(f"order line {number} is not an object")
        where = f"order line {text_of(item.get('lineNumber')) or number}"
        sku = text_of(need(item, "item", "sku"))
        if sku is None:
            raise Unreadable(f"{where} has no item.sku")
        if _by_walmart(item):
            warnings.append(f"{where} ({sku}): fulfilled by Walmart (WFS), left out")
            return None
        amount = need(item, "orderLineQuantity", "amount")
        ordered = whole_number(amount, f"{where} orderLineQuantity.amount")
        if ordered <= 0:
            raise Unreadable(f"{where}: orderLineQuantity.amount {ordered} orders nothing")
        cancelled = min(
            ordered, sum(_cancelled(status, ordered, where) for status in _statuses(item))
        )
        quantity = ordered - cancelled
        if quantity <= 0:
            warnings.append(f"{where} ({sku}): cancelled at Walmart, left out")
            return None
        if cancelled:
            warnings.append(f"{where} ({sku}): {cancelled} of {ordered} cancelled at Walmart")
        unit = unit_of(item["orderLineQuantity"].get("unitOfMeasurement"), where)
        total, priced = Decimal(0), False
        holder = item.get("charges")
        for charge in listed(holder, "charge") if isinstance(holder, dict) else []:
            if not isinstance(charge, dict) or str(charge.get("chargeType")).upper() != "PRODUCT":
                continue
            value = charge.get("chargeAmount")
            if not isinstance(value, dict):
                continue
            amount_text = money(value.get("amount"), f"{where} chargeAmount")
            if amount_text is not None:
                total, priced = total + Decimal(amount_text), True
            currency = text_of(value.get("currency"))
            if currency is not None:
                currencies.add(currency)
        price = None
        if priced:
            # The charge is the line's, for every unit ordered (a cancelled one too).
            price = money(max(total, Decimal(0)) / ordered, f"{where} price")
        line: dict[str, Any] = {"sku": sku, "quantity": quantity, "unit_price": price}
        if unit is not None:
            line["unit"] = unit
        return line


ADAPTER = WalmartAdapter()
