"""Facts, named in the past tense. Each is written to the outbox in the transaction that
made it true, carrying what a notification will need (order, customer and contact, SKU,
quantities, money, ETA)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from backorder.domain.model import Customer, OrderedAs, OrderTerms, Product


@dataclass(frozen=True)
class OrderContext:
    """Who and what a line event concerns."""

    ref: str
    customer: Customer
    currency: str
    terms: OrderTerms


@dataclass(frozen=True)
class Event:
    type: ClassVar[str]

    @property
    def order_ref(self) -> str | None:
        order = getattr(self, "order", None)
        return order.ref if isinstance(order, OrderContext) else None

    @property
    def subject_sku(self) -> str | None:
        sku = getattr(self, "sku", None)
        return sku if isinstance(sku, str) else None

    def payload(self) -> dict[str, Any]:
        body = _plain({name: getattr(self, name) for name in _field_names(type(self))})
        assert isinstance(body, dict)
        order = body.pop("order", None)
        if order is not None:
            body = {"order_ref": order["ref"], **_flatten_order(order), **body}
        return {"type": self.type, **body}


def line_entries(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The line entries an event's payload lists under `lines`. Events are stored JSON, read
    back long after they were written (and by code newer than the writer): anything else
    under that name (a count, as an `incident_logged` of an older version carried) lists
    no lines."""
    lines = payload.get("lines")
    if not isinstance(lines, list):
        return []
    return [line for line in lines if isinstance(line, dict)]


def _flatten_order(order: dict[str, Any]) -> dict[str, Any]:
    terms = order["terms"]
    return {
        "customer": order["customer"],
        "currency": order["currency"],
        "payment_timing": terms["payment_timing"],
        "shipping_method": terms["shipping_method"],
        "shipping_preference": terms["preference"],
        "expedite": terms["expedite"],
    }


_SCALARS = (str, int, bool, float, type(None))


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    """JSON-ready: money as decimal strings, times as ISO 8601. Exact scalar types first
    (a StrEnum is a str subclass and must reach the Enum branch)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is Decimal:
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        fields = ((name, getattr(value, name)) for name in _field_names(kind))
        return {name: v if type(v) in _SCALARS else _plain(v) for name, v in fields}
    return value


@dataclass(frozen=True)
class LineSummary:
    line: int
    sku: str
    quantity: int  # single units, as every count on the line
    allocated: int
    backordered: int
    cancelled: int
    unit_price: Decimal  # per single unit
    eta: date | None
    # what the buyer ordered when not in single units ({"quantity": 12, "unit": "CA",
    # "pack": 12}); null for single units, and absent from events written before it was
    ordered: OrderedAs | None = None


@dataclass(frozen=True)
class OrderAccepted(Event):
    type: ClassVar[str] = "order_accepted"
    order: OrderContext
    placed_at: datetime
    lines: tuple[LineSummary, ...]
    total_value: Decimal
    backordered_value: Decimal


@dataclass(frozen=True)
class LineBackordered(Event):
    type: ClassVar[str] = "line_backordered"
    order: OrderContext
    sku: str
    line: int
    quantity: int
    backordered: int
    unit_price: Decimal
    value: Decimal
    eta: date | None
    rule: str


@dataclass(frozen=True)
class UnitsAllocated(Event):
    type: ClassVar[str] = "units_allocated"
    order: OrderContext
    sku: str
    line: int
    units: int
    still_backordered: int
    unit_price: Decimal
    value: Decimal
    source: str
    ref: str | None
    why: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShippedLine:
    line: int
    sku: str
    units: int
    unit_price: Decimal
    value: Decimal


@dataclass(frozen=True)
class UnitsShipped(Event):
    type: ClassVar[str] = "units_shipped"
    order: OrderContext
    tracking: str | None
    lines: tuple[ShippedLine, ...]
    value: Decimal
    complete: bool


@dataclass(frozen=True)
class UnitsCancelled(Event):
    type: ClassVar[str] = "units_cancelled"
    order: OrderContext
    sku: str
    line: int
    units: int
    from_backordered: int
    from_allocated: int
    reason: str
    unit_price: Decimal
    value: Decimal


@dataclass(frozen=True)
class AllocationTakenBack(Event):
    type: ClassVar[str] = "allocation_taken_back"
    order: OrderContext
    sku: str
    line: int
    units: int
    still_allocated: int
    backordered: int
    reason: str
    eta: date | None
    unit_price: Decimal
    value: Decimal


@dataclass(frozen=True)
class OrderExpedited(Event):
    type: ClassVar[str] = "order_expedited"
    order: OrderContext
    lines_reranked: int


@dataclass(frozen=True)
class ProductAdded(Event):
    type: ClassVar[str] = "product_added"
    sku: str
    product: Product
    packs: dict[str, int] = field(default_factory=dict)  # unit -> single units in one


@dataclass(frozen=True)
class ProductChanged(Event):
    type: ClassVar[str] = "product_changed"
    sku: str
    # field -> {"from": old, "to": new}; "packs" -> {"from": {"CA": 12}, "to": {...}}
    changes: dict[str, dict[str, Any]]
    lines_reranked: int


def product_changes(before: Product, after: Product) -> dict[str, dict[str, Any]]:
    return {
        name: {"from": getattr(before, name), "to": getattr(after, name)}
        for name in _field_names(Product)
        if getattr(before, name) != getattr(after, name)
    }


@dataclass(frozen=True)
class StockReceived(Event):
    type: ClassVar[str] = "stock_received"
    sku: str
    units: int
    ref: str | None
    on_hand: int
    allocated: int
    available: int
    lines_served: int
    units_allocated: int
    still_backordered: int


@dataclass(frozen=True)
class StockAdjusted(Event):
    type: ClassVar[str] = "stock_adjusted"
    sku: str
    previous_on_hand: int
    on_hand: int
    allocated: int
    available: int
    units_taken_back: int
    lines_served: int


@dataclass(frozen=True)
class SkuOutOfStock(Event):
    type: ClassVar[str] = "sku_out_of_stock"
    sku: str
    on_hand: int
    allocated: int
    backordered: int


@dataclass(frozen=True)
class EtaChanged(Event):
    """The date a backordered line is expected moved by more than the threshold since the
    customer was last told (or became known, or unknown)."""

    type: ClassVar[str] = "eta_changed"
    order: OrderContext
    sku: str
    line: int
    backordered: int
    previous: date | None  # the date last told
    eta: date | None
    promised: date | None  # the first date told
    days: int | None  # how far it moved: positive later, negative sooner
    unit_price: Decimal
    value: Decimal


@dataclass(frozen=True)
class PurchaseOrderChanged(Event):
    """Inbound supply changed: a purchase order was placed, re-dated, reduced, cancelled, or
    received in full."""

    type: ClassVar[str] = "purchase_order_changed"
    po: str
    supplier: str
    action: str  # placed | redated | reduced | cancelled | received (a receipt)
    state: str  # open | received | cancelled: received once nothing is outstanding
    lines: tuple[dict[str, Any], ...]  # {sku, ordered, received, cancelled, expected_on}
    on_time: bool | None = None  # once received in full: by every line's first date
    location: str | None = None  # the location it arrives at
    # automatic purchase orders: drafted | approved | rejected | withdrawn | sent are actions
    # too; `by` who or which rule ("rule:auto_approve_limit ..."), `approval` where it stands
    by: str | None = None
    approval: str | None = None


@dataclass(frozen=True)
class RecommendationAccepted(Event):
    """A restock recommendation was accepted (as proposed or changed): it became a draft
    purchase order `po` or a planned transfer `transfer`."""

    type: ClassVar[str] = "recommendation_accepted"
    recommendation: int
    key: str
    sku: str
    kind: str  # purchase | transfer
    quantity: int
    supplier: str | None
    po: str | None
    transfer: int | None
    decided_by: str
    changes: tuple[str, ...]  # what the decision changed, in words


@dataclass(frozen=True)
class RecommendationRejected(Event):
    type: ClassVar[str] = "recommendation_rejected"
    recommendation: int
    key: str
    sku: str
    decided_by: str
    note: str | None


@dataclass(frozen=True)
class TransferChanged(Event):
    """Units of a SKU moving between locations: a transfer was created, shipped (the units
    left `source`), received (in part or in full, at `destination`) or cancelled."""

    type: ClassVar[str] = "transfer_changed"
    transfer: int
    sku: str
    source: str  # location code the units leave
    destination: str  # location code they arrive at
    action: str  # created | shipped | received | cancelled
    state: str  # planned | shipped | received | cancelled
    quantity: int
    units: int  # moved by this step (0 on create and cancel)
    received: int
    expected_on: date


@dataclass(frozen=True)
class DelayNoticed(Event):
    """The daily review found lines of an order that cannot ship by the date the customer
    holds: one notice per slip, with the revised date and, under the delay-option policy,
    what keeps each line (silence or an explicit acceptance) and by when to answer."""

    type: ClassVar[str] = "delay_noticed"
    order: OrderContext
    lines: tuple[dict[str, Any], ...]  # {line, sku, backordered, seq, missed, revised, ...}
    options: bool  # the customer may accept the delay or cancel


@dataclass(frozen=True)
class DelaySettled(Event):
    """What came of a delay notice: accepted, consented (silence), cancelled by the customer,
    or lapsed (no acceptance in time: the line was cancelled)."""

    type: ClassVar[str] = "delay_settled"
    order: OrderContext
    sku: str
    line: int
    seq: int
    outcome: str
    revised: date | None


@dataclass(frozen=True)
class RefundDue(Event):
    """Units cancelled through the delay-option workflow: a payment system refunds `amount`
    (payment taken at order) or releases what it holds (payment at shipment)."""

    type: ClassVar[str] = "refund_due"
    order: OrderContext
    sku: str
    line: int
    units: int
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class SubstituteOffered(Event):
    """A line waited past `BACKORDER_SUBSTITUTE_OFFER_DAYS`: its customer is offered a
    substitute with stock to spare, for the waiting units, at the line's price, until
    `expires_at`. Once per line."""

    type: ClassVar[str] = "substitute_offered"
    order: OrderContext
    sku: str
    line: int
    substitute: str
    substitute_name: str
    units: int
    unit_price: Decimal
    eta: date | None  # when the SKU's units were expected, as the customer was last told
    expires_at: datetime


@dataclass(frozen=True)
class SubstituteSettled(Event):
    """What came of a substitute offer: accepted (the line's waiting units were cancelled as
    `substituted` and `new_line` holds the substitute's, allocated), declined, lapsed, or
    withdrawn (the line stopped waiting first)."""

    type: ClassVar[str] = "substitute_settled"
    order: OrderContext
    sku: str
    line: int
    substitute: str
    units: int
    outcome: str
    new_line: int | None = None


@dataclass(frozen=True)
class TaskOpened(Event):
    """The daily review handed work to people: a procurement review or an inventory
    correction for a late SKU."""

    type: ClassVar[str] = "task_opened"
    task_id: int
    kind: str
    role: str
    sku: str
    title: str
    due_on: date
    orders: tuple[str, ...]


@dataclass(frozen=True)
class TaskDone(Event):
    type: ClassVar[str] = "task_done"
    task_id: int
    kind: str
    role: str
    sku: str
    done_by: str  # staff | review (nothing of the SKU is late any more)
    note: str | None


@dataclass(frozen=True)
class IncidentLogged(Event):
    """The incident log's entry for a late SKU on a review day."""

    type: ClassVar[str] = "incident_logged"
    incident_id: int
    sku: str
    day: date
    summary: str
    late_lines: int  # how many (`lines`, in every other event, lists the lines themselves)
    orders: tuple[str, ...]
    value: Decimal
    max_delay_days: int
    new_eta: date | None
    plan: tuple[str, ...]


@dataclass(frozen=True)
class SupplyReplanned(Event):
    """A slip (a purchase order re-dated or reduced, or found late by the review) makes
    waiting lines miss their promised dates: the ways out, each with what it does to those
    dates (`sentences`), and the recommendation stored for the chosen one (None: none)."""

    type: ClassVar[str] = "supply_replanned"
    sku: str
    po: str | None  # the purchase order that slipped, where one did
    orders: tuple[str, ...]  # the orders whose dates it misses
    shortfall: int  # units they wait for
    sentences: tuple[str, ...]
    recommendation: int | None


@dataclass(frozen=True)
class ReviewCompleted(Event):
    """The daily review ran (once per day; a second run of the day that finds nothing new
    writes none)."""

    type: ClassVar[str] = "review_completed"
    day: date
    overdue_lines: int
    value_at_risk: Decimal
    tasks_opened: int
    incidents: int
    customers_notified: int
    manager_alerted: int
    cleared: int


@dataclass(frozen=True)
class WeeklyReportReady(Event):
    """The weekly report of a week is published (once): the notifier e-mails it to the
    report's recipients; GET /api/v1/reports/weekly?week= renders it."""

    type: ClassVar[str] = "weekly_report_ready"
    week: str  # ISO week, 2026-W47
    first: date
    last: date
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class RecommendationsPlanned(Event):
    """A restock plan proposed new recommendations or withdrew some (one event per plan that
    changed anything): how many, and the keys ("SKU" or "SKU@LOCATION") now proposed anew
    (the first 100)."""

    type: ClassVar[str] = "recommendations_planned"
    proposed: int
    superseded: int
    keys: tuple[str, ...]


# Written by the dispatcher when it raises or resolves a staff alert (domain.alerts); their
# payload is the alert: id, kind, audience, summary, facts, sku, order_ref, state.
ALERT_EVENT_TYPES = ("alert_raised", "alert_resolved")

EVENT_TYPES: tuple[str, ...] = (
    tuple(
        cls.type
        for cls in (
            OrderAccepted,
            LineBackordered,
            UnitsAllocated,
            UnitsShipped,
            UnitsCancelled,
            AllocationTakenBack,
            OrderExpedited,
            ProductAdded,
            ProductChanged,
            StockReceived,
            StockAdjusted,
            SkuOutOfStock,
            EtaChanged,
            PurchaseOrderChanged,
            RecommendationAccepted,
            RecommendationRejected,
            TransferChanged,
            DelayNoticed,
            DelaySettled,
            RefundDue,
            SubstituteOffered,
            SubstituteSettled,
            TaskOpened,
            TaskDone,
            IncidentLogged,
            SupplyReplanned,
            ReviewCompleted,
            WeeklyReportReady,
            RecommendationsPlanned,
        )
    )
    + ALERT_EVENT_TYPES
)
