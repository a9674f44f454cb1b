"""Why units were cancelled, in the customer's words: the order page says "you cancelled it",
not `customer_self_service`. Pure, so a page and a message say the same."""

from __future__ import annotations

# A cancellation's recorded reason (services, intake and channel adapters write these) and
# what it means to the customer whose order it is.
REASONS: dict[str, str] = {
    "customer_self_service": "you cancelled it",
    "customer_request": "cancelled at your request",
    "customer": "cancelled at your request",
    "delay_cancelled": "you cancelled it after our delay notice",
    "delay_not_accepted": "it was delayed and we did not hear that you accept the new date",
    "not_backorderable": "it cannot be backordered",
    "discontinued": "it has been discontinued",
    "over_customer_limit": "it is over the limit per customer",
    "over_backorder_cap": "we are not taking more orders of it for now",
    "backorder_window_closed": "we are no longer taking orders of it",
    "no_known_date": "we do not know when it will be back in stock",
    "lead_time_too_long": "it would take too long to come back in stock",
    "supplier_unreliable": "we cannot promise a date for it",
    "shop": "the shop cancelled it",
    "staff": "the shop cancelled it",
    "merchant": "the shop cancelled it",
    "operator": "the shop cancelled it",
    "inventory": "the shop cancelled it: it is out of stock",
    "fraud": "the shop cancelled it",
    "declined": "the payment was declined",
    "payment_declined": "the payment was declined",
    "marketplace": "cancelled by the marketplace",
    "channel": "cancelled by the marketplace",
    "channel_cancelled": "cancelled by the marketplace",
    "marketplace_cancelled": "cancelled by the marketplace",
    "shopify_cancelled": "cancelled in the shop",
    "woocommerce_cancelled": "cancelled in the shop",
    "other": "cancelled",
}


def reason_in_words(reason: str | None) -> str:
    """The words for a recorded reason. One we do not know is shown as it was written (an
    operator's own note reads as such), its underscores as spaces; none at all: "cancelled"."""
    if not reason or not reason.strip():
        return "cancelled"
    known = REASONS.get(reason.strip().lower())
    if known is not None:
        return known
    return reason.strip().replace("_", " ")
