"""GET /api/v1/kpis: the KPIs of a period, overall and by SKU, channel, supplier or tier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from backorder.api.responses import Day, Out, Timestamp
from backorder.api.review import DayQuery
from backorder.api.routes import ERRORS, App, Reader
from backorder.services.kpis import DEFAULT_GROUPS, MAX_GROUPS, MAX_OFFSET, Dimension, Page, kpis

router = APIRouter(prefix="/api/v1")

Money = dict[str, str]  # currency -> amount


class Judged(Out):
    target: float | None = Field(description="the target (a setting); null: none")
    meets: bool | None = Field(description="whether the value meets the target; null: no figure")


class BackorderRate(Judged):
    value: float | None = Field(description="share of orders placed with any line that waited")
    lines: float | None = Field(description="share of lines placed that waited")
    orders_placed: int
    backordered_orders: int
    lines_placed: int
    backordered_lines: int


class ConversionRate(Judged):
    value: float | None = Field(description="share of ended backordered units that were allocated")
    converted_units: int
    ended_units: int


class Durations(Judged):
    value: float | None = Field(description="the mean")
    unit: str = Field(description="days")
    median: float | None
    p90: float | None


class BackorderDuration(Durations):
    lines: int = Field(description="lines whose last waiting unit was allocated in the period")


class FillTime(Durations):
    orders: int = Field(description="orders with a backorder completed by a shipment of the period")


class CancelRate(Judged):
    value: float | None = Field(description="share of ended backordered units cancelled")
    cancelled_units: int
    ended_units: int
    reasons: dict[str, int] = Field(description="units cancelled while waiting, by reason")


class FulfillmentAccuracy(Judged):
    value: float | None = Field(
        description="share of shipment lines that shipped exactly what was allocated"
    )
    shipped_lines: int
    matching_lines: int


class Waiting(Judged):
    value: Money = Field(description="value of the units waiting, per currency")
    lines: int
    units: int


class AgingBucket(Out):
    days: str = Field(description="0-7, 8-14, 15-30 or over 30 days since the line first waited")
    lines: int
    units: int
    by_currency: Money


class Aging(Judged):
    value: list[AgingBucket]


class PromiseAccuracy(Judged):
    value: float | None = Field(description="share of past promised dates kept")
    kept: int
    lines: int


class KpisOut(Out):
    backorder_rate: BackorderRate
    conversion_rate: ConversionRate
    average_backorder_duration: BackorderDuration
    fill_time: FillTime
    cancel_rate: CancelRate
    fulfillment_accuracy: FulfillmentAccuracy
    money_on_backorder: Waiting
    revenue_at_risk: Waiting = Field(description="the waiting value whose promised date passed")
    aging: Aging
    promise_accuracy: PromiseAccuracy


class GroupOut(Out):
    key: str = Field(
        description='the SKU, channel, supplier ("(none)": none), tier or location code'
    )
    kpis: KpisOut


class KpiReportOut(Out):
    from_: Day = Field(alias="from", description="the period's first day")
    to: Day = Field(description="the period's last day")
    as_of: Timestamp = Field(description="money, revenue at risk and aging are as of now")
    by: Dimension | None
    kpis: KpisOut
    group_count: int = Field(description="how many groups there are (0 without `by`)")
    limit: int = Field(description="at most this many groups are listed")
    offset: int = Field(description="after skipping this many")
    groups: list[GroupOut] = Field(description="per group, most units waiting first (a page)")


@router.get(
    "/kpis",
    tags=["kpis"],
    response_model=KpiReportOut,
    response_model_by_alias=True,
    responses=ERRORS,
)
def get_kpis(
    app: App,
    _: Reader,
    first: Annotated[
        DayQuery | None, Query(alias="from", description="first day (default: 29 days ago)")
    ] = None,
    last: Annotated[
        DayQuery | None, Query(alias="to", description="last day (default: today)")
    ] = None,
    by: Annotated[
        Dimension | None,
        Query(
            description="also per sku, channel, supplier, tier or location (by location: the "
            "backorder rate of what it sourced at intake, the waits it filled, the fill time "
            "of orders it shipped and its shipments' accuracy; the rest is for everything)"
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_GROUPS, description="groups to list, most units waiting first")
    ] = DEFAULT_GROUPS,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="groups to skip")] = 0,
) -> dict[str, Any]:
    """The KPIs of a period (both days included, UTC), each with its target and whether it
    meets it; with `by`, a page of the groups. The README's "KPIs" section defines each."""
    return kpis(app, first, last, by, Page(limit, offset))
