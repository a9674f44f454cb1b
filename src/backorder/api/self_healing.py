"""GET /api/v1/replenishment/options/{sku}: the waiting lines of a SKU its supply as it stands
misses the promised dates of, and the ways out (expedite the slipped purchase order, another
supplier, a transfer), each with the date it gives each of those orders."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from backorder.api.responses import Day, Money, Out
from backorder.api.routes import ERRORS, App, SkuPath, Stocker
from backorder.services.self_healing import slip_options

router = APIRouter(prefix="/api/v1")


class MissedOut(Out):
    order: str
    line_id: int
    units: int
    promised: Day = Field(description="the first date the customer was given")
    no_action: Day | None = Field(description="its date if nothing is done (null: unknown)")


class OptionOrderOut(Out):
    order: str
    line_id: int
    promised: Day
    no_action: Day | None
    with_option: Day | None = Field(description="its date with this option")
    at_p90: Day | None = Field(
        default=None, description="expedite: its date if the supplier is late by its p90"
    )


class SlipOptionOut(Out):
    kind: Literal["expedite", "purchase", "transfer"]
    source: str = Field(description="the purchase order, supplier id or location code")
    name: str
    units: int
    arrive_on: Day = Field(description="expedite: the date it must arrive by; else expected")
    keeps: int = Field(description="affected orders whose promised dates it keeps")
    cost: Money | None = Field(description="purchase or transfer: units x unit cost")
    expected_cost: Money | None = Field(description="cost plus the backorders it leaves, weighed")
    expected_short: float | None = Field(description="units expected still to wait")
    orders: list[OptionOrderOut]
    p90: Day | None = Field(default=None, description="expedite: arrival at its p90 lateness")
    p90_keeps: int | None = Field(default=None, description="expedite: orders kept then")


class SlipOptionsOut(Out):
    sku: str
    as_of: Day
    purchase_order: str | None = Field(description="the purchase order that slipped")
    currency: str
    shortfall: int = Field(description="units the orders that miss their dates wait for")
    need_by: Day | None = Field(description="the earliest missed promise (today at the soonest)")
    orders: list[MissedOut]
    options: list[SlipOptionOut] = Field(description="expedite first, then cheapest expected")
    sentences: list[str] = Field(description="the options in words")
    recommendation: int | None = Field(description="the proposed slip recommendation, if any")


@router.get(
    "/replenishment/options/{sku}",
    tags=["supply"],
    response_model=SlipOptionsOut,
    responses=ERRORS,
)
def get_slip_options(sku: SkuPath, app: App, _: Stocker) -> dict[str, Any]:
    """When the SKU's supply has slipped: the orders that now miss their promised dates and
    the ways out, each with the date it gives each order. Computed now; stores nothing (a
    slip recorded by a purchase-order change or the daily review is stored as a
    recommendation)."""
    return slip_options(app, sku)
