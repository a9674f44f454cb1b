"""The things the business talks about: products, stock, orders and their lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Policy(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class QueueStrategy(StrEnum):
    FIFO = "fifo"
    PRIORITY = "priority"


class Tier(StrEnum):
    STANDARD = "standard"
    VIP = "vip"
    WHOLESALE = "wholesale"


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPEDITED = "expedited"


class Preference(StrEnum):
    SHIP_AVAILABLE = "ship_available"
    SHIP_COMPLETE = "ship_complete"


class PaymentTiming(StrEnum):
    AT_ORDER = "at_order"
    AT_SHIP = "at_ship"


class Refusal(StrEnum):
    """Why units of a line were cancelled at intake instead of backordered."""

    NOT_BACKORDERABLE = "not_backorderable"
    DISCONTINUED = "discontinued"
    OVER_CUSTOMER_LIMIT = "over_customer_limit"
    OVER_BACKORDER_CAP = "over_backorder_cap"
    BACKORDER_WINDOW_CLOSED = "backorder_window_closed"
    NO_KNOWN_DATE = "no_known_date"
    LEAD_TIME_TOO_LONG = "lead_time_too_long"
    SUPPLIER_UNRELIABLE = "supplier_unreliable"


class AllocationSource(StrEnum):
    """What handed units to a line (each allocation records it, and so does its event)."""

    INTAKE = "intake"  # available when the order came in
    RECEIPT = "receipt"  # stock received
    STOCK_SET = "stock_set"  # a count (`stock set`, PUT /stock) that left units available
    RELEASE = "release"  # units a cancellation handed back to the queue


class LineStatus(StrEnum):
    BACKORDERED = "backordered"
    ALLOCATED = "allocated"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price: Decimal
    policy: Policy = Policy.ALLOW
    queue: QueueStrategy = QueueStrategy.FIFO
    lead_time_days: int | None = None
    max_per_customer: int | None = None
    discontinued: bool = False
    backorder_cap: int | None = None
    backorder_until: date | None = None
    supplier: str | None = None
    # when to accept a backorder: only with a known date, only within so many days, only
    # while the supplier's on-time record is at least this share (percent)
    require_known_date: bool = False
    max_lead_days: int | None = None
    min_on_time_percent: int | None = None


@dataclass
class StockLevel:
    """Units of one SKU. `backordered` is the depth of its queue in units."""

    on_hand: int = 0
    allocated: int = 0
    backordered: int = 0

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.allocated)


@dataclass(frozen=True)
class Customer:
    id: str
    name: str = ""
    email: str | None = None
    phone: str | None = None
    tier: Tier = Tier.STANDARD
    sms_consent: bool = False  # agreed to order updates by text message
    language: str | None = None  # a BCP 47 tag ("fr-CA"), when the channel said


@dataclass(frozen=True)
class OrderTerms:
    """What an order says about how it wants to be treated."""

    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    preference: Preference = Preference.SHIP_AVAILABLE
    payment_timing: PaymentTiming = PaymentTiming.AT_ORDER
    expedite: bool = False


@dataclass(frozen=True)
class OrderedAs:
    """What the buyer ordered, when not in single units: 12 CA, each CA holding `pack`
    single units (see `domain.units`)."""

    quantity: int
    unit: str
    pack: int | None = None  # single units per `unit`: as the buyer said, or the catalogue's


@dataclass(frozen=True)
class LineRequest:
    """A line as ordered. With `ordered` in a unit other than single units, `quantity` and
    `unit_price` are in that unit until `units.in_single_units` turns them into units."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    variant: str | None = None  # as the shop named it on the order: "Blue / L"
    ordered: OrderedAs | None = None


@dataclass(frozen=True)
class OrderRequest:
    """A canonical order as a channel hands it in."""

    channel: str
    external_id: str
    placed_at: datetime
    customer: Customer
    currency: str
    terms: OrderTerms
    lines: tuple[LineRequest, ...]
    display_number: str | None = None  # the shop's own number, as the customer knows it
    ship_country: str | None = None  # ISO 3166-1 alpha-2; None: any location serves it

    @property
    def ref(self) -> str:
        return order_ref(self.channel, self.external_id)


def order_ref(channel: str, external_id: str) -> str:
    return f"{channel}:{external_id}"


def parse_ref(ref: str) -> tuple[str, str]:
    channel, sep, external_id = ref.partition(":")
    if not sep or not channel or not external_id:
        raise ValueError(f"order reference {ref!r} is not CHANNEL:EXTERNAL_ID")
    return channel, external_id


@dataclass
class LineQuantities:
    """quantity = allocated + backordered + shipped + cancelled, always."""

    quantity: int
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    cancelled: int = 0

    @property
    def open(self) -> int:
        return self.allocated + self.backordered

    @property
    def status(self) -> LineStatus:
        if self.backordered:
            return LineStatus.BACKORDERED
        if self.allocated:
            return LineStatus.ALLOCATED
        if self.shipped:
            return LineStatus.SHIPPED
        return LineStatus.CANCELLED

    def balances(self) -> bool:
        parts = (self.allocated, self.backordered, self.shipped, self.cancelled)
        return min(parts) >= 0 and sum(parts) == self.quantity


def order_status(lines: list[LineQuantities]) -> str:
    """An order is backordered while any line waits, allocated while units are ready,
    shipped once nothing is open and something shipped, else cancelled."""
    statuses = {line.status for line in lines}
    for status in (LineStatus.BACKORDERED, LineStatus.ALLOCATED, LineStatus.SHIPPED):
        if status in statuses:
            return status.value
    return LineStatus.CANCELLED.value
