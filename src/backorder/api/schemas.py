"""Request bodies of the API (responses use the same field names as the CLI's --json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from backorder.canonical import ADDRESS, TOKEN, VISIBLE, Day, Flag, MoneyIn, Sku, number_only
from backorder.domain.model import Policy, QueueStrategy
from backorder.domain.units import MAX_PACK, UNIT_CODE
from backorder.intake import ACCOUNT, ADAPTERS
from backorder.intake.rules import Severity
from backorder.services.packs import MAX_PACKS

# Ids and positions stay within what a JSON number holds exactly (JavaScript's
# Number.MAX_SAFE_INTEGER), so every client and schema validator reads the same value.
MAX_SAFE_INTEGER = 2**53 - 1
Count = Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(number_only)]
Units = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(number_only)]
LineNo = Annotated[int, Field(ge=1, le=100_000), BeforeValidator(number_only)]
Text = Annotated[str, StringConstraints(max_length=200)]
ProductName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE)]
SupplierId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN)]
PoRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN)]
WholePercent = Annotated[int, Field(ge=0, le=100), BeforeValidator(number_only)]
LeadDays = Annotated[int, Field(ge=0, le=3650), BeforeValidator(number_only)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=ADDRESS)]
# A pack size: one `unit` (CA case, PL pallet) holds so many single units. A single unit's own
# code (EA, PCE, C62...) has no pack size: the business refuses it in words.
PackUnit = Annotated[str, StringConstraints(pattern=UNIT_CODE.pattern)]
PackSize = Annotated[int, Field(ge=2, le=MAX_PACK), BeforeValidator(number_only)]
# the keys are unit codes and nothing else (patternProperties alone would allow any key)
ONLY_UNIT_CODES: dict[str, Any] = {"additionalProperties": False}
PACKS_HELP = (
    "pack sizes by unit: single units in one CA (case), PL (pallet)...; orders in these "
    "units are counted in single units by them. Stock and queues stay in single units"
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelIn(Body):
    line: LineNo | None = None
    qty: Units | None = None
    reason: Text | None = None


class ShipIn(Body):
    tracking: Annotated[str, StringConstraints(max_length=128)] | None = None
    location: LocationCode | None = Field(
        default=None,
        description="ship what this location holds for the order; none: every location "
        "holding some, one shipment each with the tracking given",
    )


class ProductIn(Body):
    sku: Sku
    name: ProductName
    price: MoneyIn
    policy: Policy = Policy.ALLOW
    max_per_customer: Count | None = None
    lead_time_days: LeadDays | None = None
    queue: QueueStrategy | None = None
    discontinued: Flag = False
    backorder_cap: Count | None = None
    backorder_until: Day | None = None
    supplier: SupplierId | None = None
    require_known_date: Flag = False
    max_lead_days: Count | None = None
    min_on_time_percent: WholePercent | None = None
    packs: Annotated[
        dict[PackUnit, PackSize],
        Field(
            max_length=MAX_PACKS,
            description=PACKS_HELP,
            examples=[{"CA": 12, "PL": 480}],
            json_schema_extra=ONLY_UNIT_CODES,
        ),
    ] = {}


class ProductPatch(Body):
    """Fields to change (at least one); an explicit null clears an optional limit. The
    required fields cannot be cleared, so null is not theirs to take."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: ProductName | SkipJsonSchema[None] = None
    price: MoneyIn | SkipJsonSchema[None] = None
    policy: Policy | SkipJsonSchema[None] = None
    max_per_customer: Count | None = None
    lead_time_days: LeadDays | None = None
    queue: QueueStrategy | SkipJsonSchema[None] = None
    discontinued: Flag | SkipJsonSchema[None] = None
    backorder_cap: Count | None = None
    backorder_until: Day | None = None
    supplier: SupplierId | None = None
    require_known_date: Flag | SkipJsonSchema[None] = None
    max_lead_days: Count | None = None
    min_on_time_percent: WholePercent | None = None
    packs: (
        Annotated[
            dict[PackUnit, PackSize | None],
            Field(
                max_length=MAX_PACKS,
                description=PACKS_HELP + "; a unit given null loses its pack size, a unit "
                "left out keeps it",
                examples=[{"CA": 24}],  # (the OpenAPI document drops a null example)
                json_schema_extra=ONLY_UNIT_CODES,
            ),
        ]
        | SkipJsonSchema[None]
    ) = None


LocationCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$"),
    Field(description="a location's code", examples=["main"]),
]


class StockLevelIn(Body):
    on_hand: Count
    ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class ReceiptIn(Body):
    qty: Units
    ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class StockLevelItem(StockLevelIn):
    sku: Sku


class ReceiptItem(ReceiptIn):
    sku: Sku


AtLocation = Annotated[
    LocationCode | None,
    Field(description="the location counted or received at; none: the default location"),
]


class StockLevelAtIn(StockLevelIn):
    location: AtLocation = None


class ReceiptAtIn(ReceiptIn):
    location: AtLocation = None


class StockLevelsIn(Body):
    levels: Annotated[list[StockLevelItem], Field(min_length=1, max_length=10_000)]
    location: AtLocation = None


class ReceiptsIn(Body):
    receipts: Annotated[list[ReceiptItem], Field(min_length=1, max_length=10_000)]
    location: AtLocation = None


OrdersUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^https?://")]
OrdersFormat = Literal["x12-940", "json"]


class LocationIn(Body):
    code: LocationCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["own", "3pl", "fba", "store"]
    ships_to: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]] | None,
        Field(
            min_length=1,
            max_length=250,
            description="ISO 3166-1 alpha-2 countries it ships to; none: anywhere",
        ),
    ] = None
    priority: Annotated[int, Field(ge=0, le=1_000_000, description="lower is sourced first")] = 100
    transit_days: Annotated[int, Field(ge=0, le=365)] = 0
    accepts_backorders: bool = Field(
        default=True, description="its receipts serve the queue of waiting lines"
    )
    orders_url: OrdersUrl | None = Field(
        default=None,
        description="3pl/fba only: where its shipping orders (X12 940 or JSON) are POSTed; "
        "the answer carries the signing secret, once",
    )
    orders_format: OrdersFormat | None = Field(
        default=None, description="the shipping orders' format (with a URL: x12-940 unless told)"
    )


class LocationPatch(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    kind: Literal["own", "3pl", "fba", "store"] | None = None
    ships_to: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]] | None,
        Field(min_length=1, max_length=250, description="null: ships anywhere"),
    ] = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    transit_days: Annotated[int, Field(ge=0, le=365)] | None = None
    accepts_backorders: bool | None = None
    active: bool | None = Field(
        default=None, description="false: deactivate (refused while it holds allocated units)"
    )
    orders_url: OrdersUrl | None = Field(
        default=None,
        description="3pl/fba only: where its shipping orders are POSTed (null: send none); "
        "the first URL makes a signing secret, in this answer only",
    )
    orders_format: OrdersFormat | None = Field(
        default=None, description="the shipping orders' format"
    )


class PositionIn(Body):
    position: Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER), BeforeValidator(number_only)]


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Percent = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,5}(\.[0-9]{1,2})?$"),
    Field(description='a decimal string, e.g. "50" or "12.5"', examples=["50"]),
]


class RuleSettingIn(Body):
    """A rule's severity for every channel or one (`channel`), every account or one
    (`account`), with the rule's option: `currencies` for `currency`, `max_deviation_percent`
    for `price_deviation`."""

    severity: Severity
    channel: (
        Annotated[str, StringConstraints(pattern="^(" + "|".join(sorted(ADAPTERS)) + ")$")] | None
    ) = None
    account: Annotated[str, StringConstraints(pattern=ACCOUNT.pattern)] | None = None
    currencies: Annotated[list[Currency], Field(min_length=1, max_length=300)] | None = None
    max_deviation_percent: Percent | None = None


class DiscardIn(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=VISIBLE)]


class WebhookIn(Body):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^https?://")]
    event_types: Annotated[list[str], Field(max_length=100)] | None = Field(
        None, description="event types to send (default: every type)"
    )
    description: Annotated[str, StringConstraints(max_length=200)] = ""
    format: Literal["standard", "slack"] = Field(
        "standard",
        description='standard: the event as JSON, signed; slack: {"text": …} for Slack or '
        "Teams incoming webhooks",
    )


class PreferenceIn(Body):
    opted_out: Flag = Field(description="true: no messages on this channel; false: yes please")


class SupplierIn(Body):
    id: SupplierId
    name: ProductName
    lead_time_days: LeadDays
    email: Email | None = None
    contact: Text | None = None


class SupplierPatch(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: ProductName | SkipJsonSchema[None] = None
    lead_time_days: LeadDays | SkipJsonSchema[None] = None
    email: Email | None = None
    contact: Text | None = None
    auto_approve_limit: MoneyIn | None = None
    po_format: Literal["x12-850", "email", "webhook", "none"] | SkipJsonSchema[None] = None
    po_address: Annotated[str, StringConstraints(max_length=2000)] | None = None


class PoLineIn(Body):
    sku: Sku
    quantity: Units
    expected_on: Day


class PurchaseOrderIn(Body):
    po: PoRef
    supplier: SupplierId
    lines: Annotated[list[PoLineIn], Field(min_length=1, max_length=1000)]
    location: Annotated[
        LocationCode | None,
        Field(description="the location it arrives at; none: the default location"),
    ] = None


class TransferIn(Body):
    sku: Sku
    quantity: Units
    from_location: Annotated[LocationCode, Field(description="where the units leave")]
    to_location: Annotated[LocationCode, Field(description="where they arrive")]
    expected_on: Annotated[Day, Field(description="when they are expected to arrive")]


class TransferReceiptIn(Body):
    units: Annotated[
        Units | None, Field(description="units that arrived; none: all in transit")
    ] = None


class PoRedateIn(Body):
    sku: Sku
    expected_on: Day


class PoReduceIn(Body):
    sku: Sku
    quantity: Count = Field(description="what the supplier will deliver of the line in all")
