"""What a channel's webhook topic asks of intake, and the order's state in the shop.

A topic places an order (Shopify `orders/create`, WooCommerce `order.created`, BigCommerce
`store/order/created`), updates one (`orders/updated`, `order.updated`,
`store/order/statusUpdated`: an order we hold is changed where it can be, one we do not
hold is placed), or cancels one (`orders/cancelled`, `order.deleted`); any other topic
of the shop's (products/update, customers/create, …) is no order event: it is stored and
counted, never dead-lettered. A delivery without a topic places, as before topics were read.
Adobe Commerce names its event in the body: an order placed places
(`observer.sales_order_place_after`, `plugin.sales.api.order_management.place`),
`observer.order_cancel_after` cancels, and an order save is recorded (`Event.RECORD`:
placing only an order that is new; cancelling an order held that is canceled or closed).

An order's state in the shop decides whether it is a backorder at all: one that arrives
cancelled (Shopify `cancelled_at`; WooCommerce status cancelled, refunded, failed or trash;
Adobe Commerce state canceled or closed; Walmart: every line Cancelled; BigCommerce status
Incomplete, Refunded, Cancelled or Declined), fulfilled from stock not ours (Walmart: a
WFSFulfilled ship node) or fulfilled (Shopify `fulfillment_status`
fulfilled, or every line fulfilled; WooCommerce completed; Adobe Commerce complete; Walmart:
every line Shipped or Delivered; BigCommerce Shipped or Completed) takes no stock and joins no
queue. Pure: no database, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from backorder.intake import bigcommerce, magento, walmart
from backorder.intake.base import Unreadable, load_json


class Event(StrEnum):
    PLACE = "place"
    UPDATE = "update"
    CANCEL = "cancel"
    # An order saved in the shop (Adobe Commerce's order save events): cancels an order held
    # when the shop cancelled it, is otherwise recorded; never places an order not held.
    RECORD = "record"
    OTHER = "other"  # no order event: stored and counted


TOPICS: dict[str, dict[str, Event]] = {
    "shopify": {
        "orders/create": Event.PLACE,
        "orders/updated": Event.UPDATE,
        "orders/cancelled": Event.CANCEL,
    },
    "woocommerce": {
        "order.created": Event.PLACE,
        "order.updated": Event.UPDATE,
        "order.deleted": Event.CANCEL,  # moved to the bin: the shop will not fill it
    },
    # BigCommerce names the topic in the body (`scope`), and its webhooks carry only the
    # order's id: `store/order/created` waits for the order's body; the others are recorded
    # (a status update to Cancelled, Refunded or Declined cancels an order held).
    "bigcommerce": {
        "store/order/created": Event.PLACE,
        "store/order/updated": Event.UPDATE,
        "store/order/statusupdated": Event.UPDATE,
        "store/order/archived": Event.UPDATE,
    },
    # Adobe Commerce names the event in the body (`eventName`), with its origin
    # (`observer.`, `plugin.`, `plugin.magento.`) or, in Commerce's own examples, without:
    # looked up without it (`commerce_event`). An order save places the order when it is new
    # (`MAGENTO_NEW`), and is otherwise recorded (a save to canceled or closed cancels an
    # order held).
    "magento": {
        "sales_order_place_after": Event.PLACE,
        "sales.api.order_management.place": Event.PLACE,
        "order_cancel_after": Event.CANCEL,
        "sales_order_save_after": Event.RECORD,
        "sales_order_save_commit_after": Event.RECORD,
        "sales.api.order_repository.save": Event.RECORD,
    },
}
MAGENTO_NEW = "new"  # the state of an order Commerce has just placed
# The shop's reason for a cancelling topic whose body gives none.
CANCEL_WORD = {
    "orders/cancelled": "cancelled",
    "order.deleted": "deleted",
    "order_cancel_after": "canceled",  # Adobe Commerce's own word for its state
}
# The header each channel names its topic in (lower case, as HTTP headers compare).
TOPIC_HEADERS = {"shopify": "x-shopify-topic", "woocommerce": "x-wc-webhook-topic"}
TOPIC = re.compile(r"^[A-Za-z0-9_./:-]{1,64}$")
_WORD = re.compile(r"[^a-z0-9_-]+")
WOO_CANCELLED = {"cancelled", "refunded", "failed", "trash"}


def topic_of(channel: str, topic: str | None) -> str | None:
    """A topic as stored (trimmed, lower case), None for none; ValueError when the channel
    has no topics or the text is no topic."""
    if topic is None or not topic.strip():
        return None
    if channel not in TOPICS:
        raise ValueError(f"{channel} deliveries have no topic (only {', '.join(TOPICS)} do)")
    topic = topic.strip().lower()
    if not TOPIC.fullmatch(topic):
        raise ValueError(f"topic {topic[:70]!r}: 1 to 64 letters, digits and . / _ : -")
    return topic


def commerce_event(topic: str) -> str:
    """An Adobe Commerce event's name without its origin: `observer.order_cancel_after`
    and `order_cancel_after` are one event; so are `plugin.magento.sales.api.…` (Commerce on
    premises) and `plugin.sales.api.…` (as a Cloud Service)."""
    for origin in ("observer.", "plugin."):
        topic = topic.removeprefix(origin)
    return topic.removeprefix("magento.")


def _topic_key(channel: str, topic: str) -> str:
    return commerce_event(topic) if channel == "magento" else topic


def event_of(channel: str, topic: str | None, text: str | None = None) -> Event:
    """What a delivery under this topic asks for; no topic places. With the payload's text,
    what an Adobe Commerce order save asks for: a new order places, any other is recorded."""
    if topic is None:
        return Event.PLACE
    event = TOPICS.get(channel, {}).get(_topic_key(channel, topic), Event.OTHER)
    if event is Event.RECORD and text is not None and channel == "magento":
        try:
            document = load_json(text)
        except Unreadable:
            return event
        if magento.order_state(document) == MAGENTO_NEW:
            return Event.PLACE
    return event


def cancel_word(channel: str, topic: str | None) -> str | None:
    """The shop's reason for a cancelling topic whose body gives none."""
    return None if topic is None else CANCEL_WORD.get(_topic_key(channel, topic))


def known_number(channel: str, text: str) -> str | None:
    """The number the customer knows the order by, for a channel whose webhooks may name an
    order by it alone: Adobe Commerce's `increment_id` (a webhook sent before Commerce saved
    the order has no `entity_id`, and the order placed from it is known by its number).
    None for any other channel."""
    if channel != "magento":
        return None
    try:
        return magento.numbers_of(load_json(text))[1]
    except Unreadable:
        return None


@dataclass(frozen=True)
class ShopState:
    """The order as the shop has it: the reason it was cancelled there (a word, e.g.
    `customer`, `refunded`), if it was; whether it has been fulfilled there."""

    cancelled: str | None = None
    fulfilled: bool = False
    elsewhere: str | None = None  # who fulfils it from stock not ours, in words (Walmart WFS)


NOTHING = ShopState()


def _word(value: Any, default: str) -> str:
    word = _WORD.sub("_", str(value or "").strip().lower()).strip("_")[:40]
    return word or default


def _shopify(order: dict[str, Any]) -> ShopState:
    cancelled = (
        _word(order.get("cancel_reason"), "cancelled") if order.get("cancelled_at") else None
    )
    items = order.get("line_items")
    lines = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    fulfilled = str(order.get("fulfillment_status") or "").lower() == "fulfilled" or (
        bool(lines)
        and all(str(item.get("fulfillment_status") or "").lower() == "fulfilled" for item in lines)
    )
    return ShopState(cancelled, fulfilled)


def _woocommerce(order: dict[str, Any]) -> ShopState:
    status = _word(order.get("status"), "")
    return ShopState(status if status in WOO_CANCELLED else None, status == "completed")


def _magento(order: dict[str, Any]) -> ShopState:
    return ShopState(*magento.state_of(order))  # state canceled, closed; complete


def _walmart(order: dict[str, Any]) -> ShopState:
    elsewhere = "fulfilled by Walmart (WFS)" if walmart.fulfilled_by_walmart(order) else None
    return ShopState(*walmart.state_of(order), elsewhere)  # every line's status; ship node


def _bigcommerce(order: dict[str, Any]) -> ShopState:
    """The order's `status_id`, or the new status a `store/order/statusUpdated` names."""
    status = order.get("status_id")
    if bigcommerce.is_webhook(order):
        change = order["data"].get("status")
        status = change.get("new_status_id") if isinstance(change, dict) else None
    if isinstance(status, bool) or not isinstance(status, int):
        return NOTHING
    cancelled = bigcommerce.STATUSES[status] if status in bigcommerce.CANCELLED else None
    return ShopState(cancelled, status in bigcommerce.FULFILLED)


_READERS = {
    "shopify": _shopify,
    "woocommerce": _woocommerce,
    "magento": _magento,
    "walmart": _walmart,
    "bigcommerce": _bigcommerce,
}


def shop_state(channel: str, text: str) -> ShopState:
    """The order's state in the shop, read from a payload; NOTHING for a channel that says
    none or a payload that cannot be read (converting it will say why)."""
    reader = _READERS.get(channel)
    if reader is None:
        return NOTHING
    try:
        document = load_json(text)
    except Unreadable:
        return NOTHING
    if isinstance(document, dict) and isinstance(document.get("order"), dict):
        document = document["order"]  # Shopify's single-order REST response
    return reader(document) if isinstance(document, dict) else NOTHING
