"""Why units were cancelled, in the customer's words: the order page says "you cancelled it",
not `customer_self_service`. Pure, so a page and a message say the same."""

from __future__ import annotations

# A cancellation's recorded reason (services, intake and channel adapters write these) and
# what it means to the customer whose order it is.
REASONS: dict[str, str] = {
    "customer_self_service": "you cancelled it",
    "customer_request": "you asked us to cancel it",
    "customer": "you asked us to cancel it",
    "delay_cancelled": "you chose to cancel it after our delay notice",
    "delay_not_accepted": "it was delayed and we did not hear that the new date suits you",
    "substituted": "you chose a substitute that we could send at once",
    "not_backorderable": "it is out of stock and cannot be backordered",
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
    "marketplace": "the marketplace cancelled it",
    "channel": "the marketplace cancelled it",
    "channel_cancelled": "the marketplace cancelled it",
    "marketplace_cancelled": "the marketplace cancelled it",
    "shopify_cancelled": "the shop cancelled it",
    "woocommerce_cancelled": "the shop cancelled it",
    "other": "the shop cancelled it",
}


def reason_in_words(reason: str | None) -> str:
    """The words for a recorded reason. One we do not know is shown as it was written (an
    operator's own note reads as such), its underscores as spaces; none at all: "it was cancelled".
    Each reads after "because" in a message and after "2 cancelled:" on the page."""
    if not reason or not reason.strip():
        return "it was cancelled"
    code = reason.strip().lower()
    known = REASONS.get(code)
    if known is not None:
        return known
    if code.startswith("shop:"):  # the shop's own reason, as a channel's event gave it
        return REASONS.get(code.removeprefix("shop:"), REASONS["shop"])
    return reason.strip().replace("_", " ")
