"""GET /api/v1/projections/{sku} and GET /api/v1/shortages: a SKU's projected stock by week
with its safety stock, and the SKUs projected to stock out within some weeks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from backorder.api.responses import Day, Out, Timestamp
from backorder.api.routes import ERRORS, App, Reader, SkuPath
from backorder.services.foresight_plan import MAX_WEEKS
from backorder.services.shortages import MAX_LISTED, projection, shortages

router = APIRouter(prefix="/api/v1")

Weeks = Annotated[int | None, Query(ge=1, le=MAX_WEEKS, description="weeks ahead")]


class ShortageOut(Out):
    sku: str
    name: str
    week: Day = Field(description="the first week (its Monday) projected below zero")
    units_short: int = Field(description="how far below zero it goes that week")
    order_by: Day = Field(description="the last day to order that prevents it (lead time)")
    late: bool = Field(description="order_by is past: only expediting helps")
    safety_stock: int | None
    reorder_point: int | None
    risk: float | None = Field(description="backorder risk (8 weeks), where scored")


class ShortagesOut(Out):
    as_of: Timestamp
    weeks: int
    count: int = Field(description="how many SKUs, listed or not (see limit)")
    planned_at: Timestamp | None = Field(description="when the plan was last refreshed")
    shortages: list[ShortageOut]


class ForecastSummary(Out):
    method: str
    demand_class: str
    computed_at: Timestamp
    history_periods: int
    backtest_mase: float | None


class StockNow(Out):
    on_hand: int
    allocated: int
    waiting: int = Field(description="units on backorder (the network queue)")
    start: int = Field(description="on hand - allocated - waiting: where the projection starts")


class SafetyStockOut(Out):
    safety_stock: int
    reorder_point: int
    abc_class: Literal["A", "B", "C"]
    service_level: float
    z: float
    method: Literal["normal", "quantile", "none"]
    lead_time_days: float
    lead_time_sd_days: float
    lead_time_source: Literal["history", "product", "supplier", "assumed"]
    lead_time_lines: int = Field(description="received purchase-order lines measured")
    mean_demand: float = Field(description="d-bar, units per week")
    demand_sd: float = Field(description="sigma_d per week, from forecast errors")
    lead_time_demand: float
    lead_time_demand_sd: float


class WeekOut(Out):
    week: Day
    demand: float = Field(description="forecast units")
    lo80: float
    hi80: float
    inbound: int = Field(description="open purchase-order units expected that week")
    available: float = Field(description="projected at the end of the week")


class StockoutOut(Out):
    week: Day
    units_short: int
    arrive_by: Day = Field(description="supply arriving by then prevents it")
    order_by: Day
    late: bool


class HistoryWeek(Out):
    week: Day
    units: int = Field(description="units ordered that week (demand)")


class RiskOut(Out):
    probability: float
    scored_at: Timestamp
    reasons: Any


class ProjectionOut(Out):
    sku: str
    location: str | None
    as_of: Timestamp
    forecast: ForecastSummary | None = Field(description="null: no forecast stored yet")
    stock: StockNow
    safety_stock: SafetyStockOut | None
    weeks: list[WeekOut]
    stockout: StockoutOut | None
    below_safety_week: Day | None
    history: list[HistoryWeek]
    risk: RiskOut | None


@router.get("/shortages", tags=["foresight"], response_model=ShortagesOut, responses=ERRORS)
def get_shortages(
    app: App,
    _: Reader,
    weeks: Weeks = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> dict[str, Any]:
    """The SKUs projected to stock out within `weeks` (default BACKORDER_SHORTAGE_WEEKS),
    soonest first, as the last plan refresh found them."""
    return shortages(app, weeks, limit)


@router.get(
    "/projections/{sku}", tags=["foresight"], response_model=ProjectionOut, responses=ERRORS
)
def get_projection(
    sku: SkuPath,
    app: App,
    _: Reader,
    weeks: Weeks = None,
    location: Annotated[
        str | None, Query(max_length=32, pattern=r"^[^\x00-\x20\x7f]+$", description="code")
    ] = None,
) -> dict[str, Any]:
    """A SKU's projected stock by week from its stored forecast, today's stock and open
    purchase orders; its safety stock and reorder point with every input; the projected
    stockout and the last day to order; its demand of the last 26 weeks."""
    return projection(app, sku, location, weeks)
