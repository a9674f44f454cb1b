"""Request bodies of the API (responses use the same field names as the CLI's --json)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backorder.domain.model import Policy, QueueStrategy

Sku = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^\S+$")
]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Price = Annotated[Decimal, Field(ge=0, lt=10_000_000_000, decimal_places=4)]
Text = Annotated[str, StringConstraints(max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelIn(Body):
    line: Annotated[int, Field(ge=1, le=100_000)] | None = None
    qty: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    reason: Text | None = None


class ShipIn(Body):
    tracking: Annotated[str, StringConstraints(max_length=128)] | None = None


class ProductIn(Body):
    sku: Sku
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    price: Price
    policy: Policy = Policy.ALLOW
    max_per_customer: Count | None = None
    lead_time_days: Count | None = None
    queue: QueueStrategy | None = None
    discontinued: bool = False
    backorder_cap: Count | None = None
    backorder_until: date | None = None


class ProductPatch(Body):
    """Fields to change; an explicit null clears an optional limit."""

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    price: Price | None = None
    policy: Policy | None = None
    max_per_customer: Count | None = None
    lead_time_days: Count | None = None
    queue: QueueStrategy | None = None
    discontinued: bool | None = None
    backorder_cap: Count | None = None
    backorder_until: date | None = None


class StockLevelIn(Body):
    on_hand: Count
    ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class ReceiptIn(Body):
    qty: Annotated[int, Field(ge=1, le=2**31 - 1)]
    ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class StockLevelItem(StockLevelIn):
    sku: Sku


class ReceiptItem(ReceiptIn):
    sku: Sku


class StockLevelsIn(Body):
    levels: Annotated[list[StockLevelItem], Field(min_length=1, max_length=10_000)]


class ReceiptsIn(Body):
    receipts: Annotated[list[ReceiptItem], Field(min_length=1, max_length=10_000)]
