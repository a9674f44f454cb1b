"""What the API answers, as models: they document every response in the OpenAPI document and
check each answer on its way out. The views build plain dicts with the CLI's `--json` field
names; `extra="forbid"` makes a field added to a view and forgotten here fail loudly in the
tests instead of vanishing from the API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backorder.domain.model import (
    AllocationSource,
    LineStatus,
    PaymentTiming,
    Policy,
    Preference,
    QueueStrategy,
    ShippingMethod,
    Tier,
)

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Money = Annotated[
    str,
    Field(pattern=r"^-?\d+(\.\d+)?$", description="exact decimal, as a string", examples=["19.99"]),
]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(Out):
    field: str = Field(description="where, e.g. body.lines.0.quantity")
    message: str


class Problem(Out):
    """An RFC 9457 problem document (`application/problem+json`)."""

    type: str = Field(description="what kind of problem, e.g. /problems/validation")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="the field errors, on validation problems"
    )


class AllocationOut(Out):
    units: int
    at: Timestamp
    source: AllocationSource = Field(description="what handed the units over")
    ref: str | None = Field(description="the receipt, count or order that did")
    position: int | None = Field(description="the line's place in the queue when served")
    rank_class: int | None
    rule: str = Field(description="why, in words")
    location: str | None = Field(default=None, description="the location the units are at")
    sourcing: str | None = Field(
        default=None, description="why that location, in words (fewest shipments, nearest…)"
    )


class CancellationOut(Out):
    units: int
    reason: str | None
    at: Timestamp


class OrderedOut(Out):
    quantity: int = Field(description="how many of `unit` the buyer ordered")
    unit: str = Field(description="the buyer's unit (CA case, PL pallet, CT carton)")
    pack: int = Field(description="single units in one `unit`")


class LineOut(Out):
    line: int
    sku: str
    name: str = Field(description="the product's name")
    variant: str | None = Field(description="the variant, as the shop named it on the order")
    quantity: int = Field(description="single units ordered (stock and queues count these)")
    ordered: OrderedOut | None = Field(
        None,
        description="what the buyer ordered when not in single units (12 CA of 12); "
        "none: the line was ordered in single units",
    )
    allocated: int
    backordered: int
    shipped: int
    cancelled: int
    status: LineStatus
    unit_price: Money
    eta: Day | None = Field(description="expected ship date of the waiting units")
    promised: Day | None = Field(description="the first date the customer was told")
    told: Day | None = Field(
        None,
        description="the date the customer was last told for the waiting units (a delay "
        "notice may pad the supply's date); what the customer's page shows",
    )
    allocations: list[AllocationOut]
    cancellations: list[CancellationOut]
    checked_at: Timestamp | None = Field(description="when the daily review last checked it")
    checked_status: Literal["overdue"] | None = Field(description="what the review found")


class CustomerOut(Out):
    id: str
    name: str
    email: str | None
    phone: str | None
    tier: Tier
    sms_consent: bool
    language: str | None = Field(description="the customer's language (BCP 47), if known")


class ShippingOut(Out):
    method: ShippingMethod
    preference: Preference


class ShipmentOut(Out):
    id: int
    tracking: str | None
    at: Timestamp
    units: int
    location: str | None = Field(default=None, description="the location it left from")


class DelayNoticeOut(Out):
    """One delay notice: a line's slip, the date missed, the revised one, and what came of it."""

    line: int
    seq: int = Field(description="1 for the line's first slip, then 2, ...")
    noticed_on: Day
    missed: Day = Field(description="the date the customer held")
    revised: Day | None = Field(description="the new date; null: indefinite")
    backordered: int = Field(description="units waiting when noticed")
    consent: Literal["none", "silence", "explicit"] = Field(
        description="what keeps the line: nothing to answer (policy off), silence, or only "
        "the customer's acceptance"
    )
    answer_by: Day | None
    outcome: Literal[
        "informed",
        "pending",
        "accepted",
        "consented",
        "cancelled",
        "lapsed",
        "superseded",
        "moot",
    ]
    settled_at: Timestamp | None


class SubstituteOfferOut(Out):
    """A substitute offered for a line that waited too long, and what came of it."""

    line: int
    substitute: str = Field(description="the SKU offered")
    substitute_name: str
    units: int = Field(description="the line's waiting units when offered")
    state: Literal["offered", "accepted", "declined", "lapsed", "withdrawn"]
    offered_at: Timestamp
    expires_at: Timestamp
    settled_at: Timestamp | None
    new_line: int | None = Field(description="accepted: the substitute's line of the order")


class OrderOut(Out):
    ref: str = Field(examples=["web:100"])
    display_number: str = Field(
        description='the number the customer knows: the shop\'s own ("#9001", a PO number), '
        "else the channel's order id",
        examples=["#9001"],
    )
    status: LineStatus
    channel: str
    external_id: str
    placed_at: Timestamp
    received_at: Timestamp
    customer: CustomerOut
    currency: str
    shipping: ShippingOut
    payment_timing: PaymentTiming
    expedite: bool
    lines: list[LineOut]
    shipments: list[ShipmentOut]
    delays: list[DelayNoticeOut] = Field(description="the delay notices of its lines")
    substitutes: list[SubstituteOfferOut] = Field(
        default_factory=list, description="the substitutes offered for its lines"
    )


class CancelResult(Out):
    ref: str
    units: int = Field(description="units cancelled")
    released: int = Field(description="allocated units handed back to the queue")
    reallocated: int = Field(description="of those, units the queue took at once")


class CancelOut(Out):
    cancel: CancelResult
    order: OrderOut


class ShipResult(Out):
    ref: str
    units: int
    shipment_id: int = Field(description="the first shipment made")
    complete: bool = Field(description="nothing of the order is left open")
    shipments: list[int] = Field(
        default_factory=list, description="one shipment per location shipped from"
    )


class ShipOut(Out):
    shipment: ShipResult
    order: OrderOut


class CustomerLinkOut(Out):
    url: str
    token: str
    expires_at: Timestamp


class CustomerLineOut(Out):
    line: int
    sku: str
    name: str
    variant: str | None
    quantity: int
    allocated: int
    backordered: int
    shipped: int
    cancelled: int
    status: LineStatus
    eta: Day | None
    promised: Day | None


class CustomerShipmentOut(Out):
    tracking: str | None
    at: Timestamp
    units: int


class CustomerOrderOut(Out):
    ref: str
    display_number: str
    status: LineStatus
    placed_at: Timestamp
    currency: str
    lines: list[CustomerLineOut]
    shipments: list[CustomerShipmentOut]
    can_cancel: bool


class CustomerCancelOut(Out):
    cancel: CancelResult
    order: CustomerOrderOut


class ProductOut(Out):
    sku: str
    name: str
    price: Money
    policy: Policy
    max_per_customer: int | None
    lead_time_days: int | None
    queue: QueueStrategy
    discontinued: bool
    backorder_cap: int | None
    backorder_until: Day | None
    supplier: str | None
    require_known_date: bool = Field(description="refuse backorders without a known date")
    max_lead_days: int | None = Field(description="refuse backorders expected later than this")
    min_on_time_percent: int | None = Field(
        description="refuse backorders while the supplier's on-time record is below this"
    )
    packs: dict[str, int] = Field(
        description="pack sizes: single units in one of each unit (CA case, PL pallet), "
        "smallest first; an order in one of these units is counted in single units by it",
        examples=[{"CA": 12, "PL": 480}],
    )


class StockOut(Out):
    sku: str
    on_hand: int
    allocated: int
    available: int
    backordered: int


class StockAtOut(Out):
    location: str
    on_hand: int
    allocated: int
    available: int


class StockDetailOut(StockOut):
    locations: list[StockAtOut] = Field(description="the stock at each location")


class LocationOut(Out):
    code: str
    name: str
    kind: Literal["own", "3pl", "fba", "store"]
    ships_to: list[str] | None = Field(description="countries it ships to; null: anywhere")
    priority: int = Field(description="lower is sourced first")
    transit_days: int
    accepts_backorders: bool
    active: bool
    default: bool = Field(description="the location stock commands mean when none is named")
    skus: int = Field(description="SKUs with units on hand there")
    on_hand: int
    allocated: int
    orders_url: str | None = Field(
        default=None, description="3pl/fba: where its shipping orders are POSTed; null: none"
    )
    orders_format: Literal["x12-940", "json"] | None = Field(
        default=None, description="the shipping orders' format"
    )


class LocationSavedOut(LocationOut):
    orders_secret: str | None = Field(
        default=None,
        description="the whsec_ secret its shipping orders are signed with: in the answer "
        "that made it only (the first orders_url); null after",
    )


class StockChangeOut(StockOut):
    lines_served: int = Field(description="queue lines that got units")
    units_allocated: int
    units_taken_back: int = Field(description="allocations taken back by a lower count")


class StockChangesOut(Out):
    changes: list[StockChangeOut]


class QueueEntryOut(Out):
    ref: str
    line: int
    backordered: int
    position: int
    placed_at: Timestamp
    customer: str
    tier: Tier
    rank_class: int
    rule: str
    eta: Day | None
    promised: Day | None


class QueueOut(Out):
    sku: str
    strategy: QueueStrategy
    depth: int = Field(description="lines waiting")
    backordered: int = Field(description="units waiting")
    entries: list[QueueEntryOut]


class BackorderOut(Out):
    ref: str
    line: int
    sku: str
    quantity: int
    allocated: int
    backordered: int
    status: Literal["waiting", "partial"]
    placed_at: Timestamp
    age_days: int
    customer: str
    tier: Tier
    value: Money = Field(description="unit price times units waiting")
    currency: str
    eta: Day | None
    promised: Day | None


class BackordersOut(Out):
    items: list[BackorderOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class EventOut(Out):
    id: int
    type: str
    occurred_at: Timestamp
    order_ref: str | None
    sku: str | None
    payload: dict[str, Any]


class ConsumerOut(Out):
    name: str
    position: int = Field(description="the last event id it has handled")
    updated_at: Timestamp
    lag_events: int = Field(description="events written after its position")
    lag_seconds: float = Field(description="age of the oldest event it has not handled")


class DeadLetterOut(Out):
    id: int
    reasons: list[str]


class WarnedOut(Out):
    ref: str | None
    warnings: list[str]


class AppliedOut(Out):
    ref: str
    topic: str | None
    outcome: str = Field(examples=["cancelled 2 units not shipped (shop:customer)"])


class IgnoredOut(Out):
    id: int
    topic: str | None
    outcome: str = Field(examples=["ignored: already cancelled in the shop"])


class FeedOut(Out):
    id: int
    state: str = Field(examples=["accepted"], description="accepted, or duplicate")
    kind: str | None = Field(examples=["snapshot"], description="snapshot, receipt or shipment")
    outcome: str | None = Field(examples=["snapshot as of 2026-12-06T08:00:00+00:00: 2 SKU(s) set"])


class LocationAliasOut(Out):
    location: str = Field(examples=["east"])
    channel: str = Field(examples=["shopify"])
    id: str = Field(examples=["655441491"], description="the sender's own id for the location")


class ParkedOut(Out):
    id: int
    topic: str | None
    waiting_for: list[str] = Field(
        description="what it waits for, in words",
        examples=[["waiting for order 250's body: store/order/created carries only its id"]],
    )


class ParkedRecordOut(Out):
    id: int
    channel: str
    account: str
    external_id: str | None = Field(description="the order it is a part of")
    topic: str | None
    received_at: Timestamp
    age_hours: float
    waiting_for: list[str]


class InStreamOut(Out):
    stream: str = Field(description="the broker's stream that holds the delivery")
    sequence: int = Field(description="its place in the stream")
    duplicate: bool = Field(
        description="the stream held this delivery already (the same message id within the "
        "duplicate window): kept once"
    )


class IntakeOut(Out):
    accepted: list[str] = Field(description="references of the orders placed")
    duplicates: list[str] = Field(description="references already known: nothing placed")
    dead_lettered: list[DeadLetterOut] = Field(description="kept, with every reason")
    pending: list[int] = Field(description="stored, to be processed by the intake worker")
    warnings: list[WarnedOut]
    applied: list[AppliedOut] = Field(
        [], description="a channel's event applied to an order held: a cancellation, an update"
    )
    ignored: list[IgnoredOut] = Field(
        [],
        description="kept, placing nothing: another topic, an order already cancelled or "
        "fulfilled in the shop, an X12 997 or EDIFACT CONTRL read",
    )
    feeds: list[FeedOut] = Field(
        [],
        description="a feed's documents (3PL snapshots, receipts, shipment confirmations): "
        "applied, with what was done in words, or a duplicate of one applied before",
    )
    parked: list[ParkedOut] = Field(
        [],
        description="parts of orders kept, waiting for the whole order: a BigCommerce "
        "webhook (it carries only the id), an order without its products",
    )
    acknowledgement: str | None = Field(
        None,
        description="x12: the 997 functional acknowledgement of the interchange; edifact: "
        "the CONTRL syntax and service report",
    )
    envelope: list[str] = Field(
        [],
        description="x12, edifact: what is wrong with the delivery's envelopes, in words (a "
        "trailer's count or control number that disagrees with what it holds); the messages "
        "that arrived whole are taken all the same, and the acknowledgement says it by code",
        examples=[["interchange IC4711: UNZ counts 5 messages; the interchange has 3"]],
    )
    queued: InStreamOut | None = Field(
        None,
        description="with a broker (BACKORDER_BROKER_URL): the delivery is in its stream, "
        "answered 202; `backorder intake consume` stores and places it",
    )
    op: str | None = Field(
        None,
        description="an Adobe Commerce webhook: `success`, the operation Commerce reads in the "
        "answer (its order goes on, whatever became of the payload here)",
    )


class DeadLetterRecordOut(Out):
    id: int
    channel: str
    account: str
    external_id: str | None
    topic: str | None = Field(None, description="the channel's topic it came under, if any")
    received_at: Timestamp
    age_hours: float
    reasons: list[str]
    value: Money | None = Field(description="the order's value, when it could be read")
    currency: str | None
    tier: str | None
    attempts: int


class RuleOut(Out):
    rule: str
    severity: Literal["error", "warning", "off"]
    set_for: str = Field(description="default, or the scope of the setting in force")
    meaning: str
    currencies: list[str] | None = None
    max_deviation_percent: str | None = None


class RuleSettingOut(Out):
    rule: str
    channel: str | None = Field(description="null: every channel")
    account: str | None = Field(description="null: every account")
    severity: Literal["error", "warning", "off"]
    currencies: list[str] | None = None
    max_deviation_percent: str | None = None


class RulesOut(Out):
    channel: str | None
    account: str | None
    rules: list[RuleOut] = Field(description="the rules in force for this channel and account")
    settings: list[RuleSettingOut] = Field(description="every stored setting")


class WebhookOut(Out):
    id: int
    url: str
    event_types: list[str] = Field(description="empty: every type")
    description: str
    active: bool
    format: Literal["standard", "slack"]
    created_at: Timestamp


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="the whsec_ signing secret, shown this once")


class DeliveryOut(Out):
    id: int
    event_id: int
    type: str
    order_ref: str | None
    channel: Literal["webhook", "email", "sms", "warehouse", "supplier"]
    kind: str | None = Field(
        description="e-mail and SMS: the milestone or alert it tells; warehouse: the format"
    )
    recipient: str
    message_id: str = Field(description="the webhook-id, the same on every attempt")
    provider_id: str | None = Field(description="the provider's id (SMTP Message-ID, SMS sid)")
    folded: list[int] = Field(description="later events of the same order told in this one")
    state: Literal["due", "sending", "sent", "dead", "withdrawn"]
    attempts: int
    last_status: int | None
    last_error: str | None
    sent_at: Timestamp | None
    created_at: Timestamp


class UnsubscribedOut(Out):
    customer: str
    email: Literal["opted out"]


class QueuedOut(Out):
    queued: int = Field(description="messages queued to be sent again")


class RetriedOut(QueuedOut):
    failed: int = Field(description="failed messages queued again, their attempts afresh")
    waiting: int = Field(
        description="messages that were waiting on a retry's backoff, made due now"
    )


class IntakeCounts(Out):
    pending: int
    accepted: int
    duplicate: int
    dead: int
    discarded: int
    parked: int = Field(0, description="parts of orders waiting for the whole order")


class SourceHealthOut(Out):
    channel: str
    account: str
    counts: IntakeCounts
    backlog: int = Field(description="payloads stored and not yet processed")
    error_rate: float = Field(description="dead or discarded, of those processed")
    oldest_waiting_seconds: float
    oldest_parked_seconds: float = Field(
        0.0, description="how long the oldest part of an order has waited for the rest"
    )
    last_accepted_at: Timestamp | None
    ignored: dict[str, int] = Field(
        {},
        description="by topic: payloads taken (accepted) that placed and changed nothing — "
        "another topic, an order already cancelled or fulfilled in the shop, an X12 997",
        examples=[{"products/update": 3, "orders/create": 1}],
    )


class Health(Out):
    status: Literal["ok"]


class ReplicaOut(Out):
    status: str = Field(
        description="streaming; not a standby; unreachable: reads go to the primary"
    )
    lag_seconds: float | None = Field(
        description="age of the last transaction it replayed (0: it replayed all it received)"
    )


class Ready(Out):
    status: Literal["ready"]
    schema_: str | None = Field(alias="schema")
    replica: ReplicaOut | None = Field(None, description="the read replica, when one is set")


class NotReady(Out):
    status: str
    detail: str | None = None
    current: str | None = None
    head: str | None = None


class AlertOut(Out):
    alert_id: int
    kind: Literal[
        "stock_arrived",
        "sold_out_demand",
        "stock_low",
        "costly_backorder",
        "overdue_costly",
        "stockout_projected",
        "risk_high",
        "supply_replanned",
    ]
    audience: list[str]
    state: Literal["open", "resolved", "notice"]
    summary: str
    facts: dict[str, Any]
    sku: str | None
    order_ref: str | None
    resolution: str | None
    opened_at: Timestamp
    resolved_at: Timestamp | None


class PreferencesOut(Out):
    customer: str
    channels: dict[str, Literal["in", "out", "default"]]


class SupplierOut(Out):
    id: str
    name: str
    email: str | None
    contact: str | None
    lead_time_days: int
    orders_completed: int = Field(description="purchase orders received in full")
    orders_on_time: int = Field(description="of those, received by their first expected date")
    on_time_percent: float | None = Field(description="null until one completes")
    auto_approve_limit: str | None = Field(
        None, description="its own limit for approving purchase orders automatically"
    )
    po_format: Literal["x12-850", "email", "webhook", "none"] = Field(
        "none", description="how its purchase orders reach it (none: placed by hand)"
    )
    po_address: str | None = Field(None, description="the URL or e-mail they go to")
    po_secret: str | None = Field(
        None, description="the signing secret, shown once when it is made"
    )


class PerformanceOut(Out):
    """Measured from the closed purchase-order lines first expected inside the window."""

    months: int = Field(description="the window: the last 6 or 12 months")
    lines: int = Field(description="closed lines behind the figures")
    on_time_lines: int = Field(description="received in full by their first expected date")
    on_time_rate: float | None = Field(description="on_time_lines / lines; null without lines")
    late_days_mean: float | None = Field(
        description="days after the first expected date; early is 0"
    )
    late_days_sd: float | None = Field(description="sample standard deviation; null below 2")
    ordered: int
    received: int
    fill_rate: float | None = Field(description="received / ordered")


class SupplierDetailOut(SupplierOut):
    skus: list[str]
    open_purchase_orders: list[str]
    performance: list[PerformanceOut] = Field(description="over all its SKUs, 6 and 12 months")


class SupplierTermsOut(Out):
    supplier: str
    preferred: bool = Field(description="the SKU's supplier, the one ETAs and the review use")
    cost: Money | None = Field(description="unit cost; null when not known")
    lead_time_days: int
    moq: int
    pack: int
    performance: list[PerformanceOut] = Field(description="on this SKU, 6 and 12 months")


class ProductSuppliersOut(Out):
    sku: str
    preferred: str | None
    suppliers: list[SupplierTermsOut]


class PoLineOut(Out):
    sku: str
    ordered: int
    received: int
    cancelled: int
    outstanding: int
    unit_cost: str | None = Field(None, description="the price agreed, when known")
    expected_on: Day
    first_expected_on: Day = Field(description="what the on-time record measures against")
    last_received_at: Timestamp | None


class PurchaseOrderOut(Out):
    po: str
    supplier: str
    location: str | None = Field(description="the location it arrives at")
    state: Literal["open", "received", "cancelled"]
    origin: Literal["manual", "recommendation"] = "manual"
    approval: Literal["pending", "approved", "rejected", "withdrawn"] = Field(
        "approved", description="pending: a draft, not inbound supply until approved"
    )
    approved_by: str | None = Field(None, description="who approved it, or which rule")
    sent_at: Timestamp | None = Field(None, description="when the supplier got it")
    on_time: bool | None
    created_at: Timestamp
    closed_at: Timestamp | None
    lines: list[PoLineOut]


class TransferOut(Out):
    id: int
    sku: str
    from_location: str = Field(description="where the units leave")
    to_location: str = Field(description="where they arrive")
    quantity: int
    received: int = Field(description="units arrived at to_location so far")
    in_transit: int = Field(description="units shipped and not yet received")
    state: Literal["planned", "shipped", "received", "cancelled"]
    expected_on: Day
    created_at: Timestamp
    shipped_at: Timestamp | None
    closed_at: Timestamp | None


class InboundOut(Out):
    po: str | None = Field(description="the purchase order; null for a transfer")
    transfer: int | None = Field(description="the transfer's id; null for a purchase order")
    location: str | None = Field(description="the location it arrives at")
    from_location: str | None = Field(
        description="a transfer not yet shipped: where its units still are"
    )
    expected_on: Day
    units: int = Field(description="units to come; negative: a transfer about to leave")


class SourceOut(Out):
    location: str
    lines: int = Field(description="waiting lines this location can serve")
    units: int = Field(description="units those lines wait for")
    available: int = Field(description="units free there now")
    inbound_units: int = Field(description="units on their way there, in all")
    inbound: list[InboundOut] = Field(
        description="the next purchase orders and transfers arriving there, soonest first"
    )


class NextUnitsOut(Out):
    location: str
    po: str | None = Field(description="the purchase order bringing them; null: none")
    transfer: int | None = Field(description="the transfer bringing them; null: none")
    expected_on: Day | None = Field(description="null: units are free there now")
    units: int


class QueueSourcesOut(Out):
    sku: str
    backordered: int = Field(description="units waiting")
    next: NextUnitsOut | None = Field(
        description="where the queue's next units come from (null: nothing free or on its "
        "way to a location that can serve it)"
    )
    locations: list[SourceOut] = Field(
        description="each location that can serve some of the waiting lines, in sourcing order"
    )


class PromisableOut(Out):
    date: Day
    units: int = Field(description="units a new order could be promised by this date, in all")


class LocationAtpOut(Out):
    location: str
    on_hand: int
    allocated: int
    available: int
    promisable: list[PromisableOut]


class AtpOut(Out):
    sku: str
    today: Day
    location: str | None = Field(description="the location asked about; null: the network")
    on_hand: int
    allocated: int
    available: int
    backordered: int = Field(description="units the network queue waits for")
    inbound: list[InboundOut]
    promisable: list[PromisableOut] = Field(
        description="cumulative units a new order could be promised by each date, once the "
        "queue has been served in rank order"
    )
    locations: list[LocationAtpOut]
    beyond_supply: Day | None = Field(
        description="the date of units beyond inbound supply (today + lead time); null: unknown"
    )
    lead_time_days: int | None
    supplier: str | None
    supplier_on_time_percent: float | None


class SkippedEventOut(Out):
    event_id: int
    type: str
    order_ref: str | None
    sku: str | None
    error: str = Field(description="why its messages could not be planned, and where")
    skipped_at: Timestamp


class ReplannedOut(Out):
    event_id: int
    planned: int = Field(description="messages planned for it now")


class OrderCustomerOut(Out):
    id: str
    name: str
    email: str | None


class OrderSummaryOut(Out):
    ref: str = Field(examples=["web:100"])
    display_number: str = Field(description="the shop's own number, else the channel's id")
    channel: str
    status: LineStatus
    placed_at: Timestamp
    customer: OrderCustomerOut
    lines: int
    units: int = Field(description="units ordered, all lines")
    backordered: int = Field(description="units waiting now")
    skus: list[str] = Field(description="the SKUs of its lines, in line order")


class OrderListOut(Out):
    items: list[OrderSummaryOut] = Field(description="newest first")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class ProductSummaryOut(Out):
    sku: str
    name: str
    price: Money
    policy: Policy
    discontinued: bool
    on_hand: int
    allocated: int
    available: int
    backordered: int
    supplier: str | None


class ProductListOut(Out):
    items: list[ProductSummaryOut] = Field(description="by SKU")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )
