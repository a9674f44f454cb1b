"""GET /api/v1/demand/{sku} and /api/v1/forecasts/{sku}: a SKU's demand per period, and its
forecast per week with the method, its demand class and its back-tested error. Reading a
stored forecast needs no extra; computing one (none stored yet) needs the forecast extra,
and without it the answer is a 503 problem naming the install command."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from backorder.api.responses import Day, Out, Timestamp
from backorder.api.routes import ERRORS, App, Reader, SkuPath, _problem
from backorder.domain.demand import DemandClass
from backorder.services.demand import MAX_LAST, demand_view
from backorder.services.forecast_views import forecast_view
from backorder.services.forecasts import MAX_HORIZON

router = APIRouter(prefix="/api/v1")

LocationQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="a location's code (default: the whole network)",
    ),
]


class DemandPeriodOut(Out):
    period: str = Field(description="2026-11-03, 2026-W45 or 2026-11", examples=["2026-W45"])
    start: Day
    ordered: int = Field(description="units ordered (shipped, allocated, waiting or cancelled)")
    imported: float = Field(description="imported history counted here (before the first order)")
    units: float = Field(description="the demand: ordered + imported")


class DemandOut(Out):
    sku: str
    by: Literal["day", "week", "month"]
    location: str | None = Field(description="the location; null: the whole network")
    first_order: Day | None = Field(description="the UTC day of the SKU's first order")
    current: str = Field(description="the period still under way (the last one listed)")
    total: float
    periods: list[DemandPeriodOut] = Field(description="oldest first, up to the current one")


class ForecastPeriodOut(Out):
    week: str = Field(examples=["2026-W50"])
    start: Day = Field(description="the week's Monday")
    point: float = Field(description="expected units")
    lo80: float = Field(description="80 % interval, low end")
    hi80: float
    lo95: float = Field(description="95 % interval, low end")
    hi95: float


class ForecastOut(Out):
    sku: str
    location: str | None = Field(description="the location; null: the whole network")
    stored: bool = Field(description="false: none was stored (or not this far), computed now")
    computed_at: Timestamp
    method: str = Field(description="the method the demand class chose", examples=["croston_sba"])
    demand_class: DemandClass = Field(description="Syntetos-Boylan class by ADI and CV²")
    adi: float | None = Field(description="average demand interval (weeks per week with demand)")
    cv2: float | None = Field(description="squared coefficient of variation of demand sizes")
    history_weeks: int = Field(description="weeks of history it learnt from")
    backtest_mae: float | None = Field(description="mean absolute error on held-out weeks")
    backtest_mase: float | None = Field(description="that error over the naive one-step error")
    mean_demand: float = Field(description="mean units a week over the history")
    error_sd: float = Field(description="spread of one-week forecast errors")
    service_level: float | None
    safety_stock: int | None
    reorder_point: int | None
    inputs: dict[str, Any] = Field(description="what it was made from")
    periods: list[ForecastPeriodOut]


NO_FORECAST: dict[int | str, dict[str, Any]] = {
    500: _problem("The forecaster failed on the SKU's history"),
    503: _problem(
        "The database did not answer, or forecasting is not installed (the detail "
        "names the install command)"
    ),
}


@router.get("/demand/{sku}", tags=["forecasts"], response_model=DemandOut, responses=ERRORS)
def get_demand(
    sku: SkuPath,
    app: App,
    _: Reader,
    by: Annotated[Literal["day", "week", "month"], Query(description="the periods")] = "week",
    location: LocationQuery = None,
    last: Annotated[
        int | None,
        Query(ge=1, le=MAX_LAST, description="periods up to now (default 90, 104 or 36)"),
    ] = None,
) -> dict[str, Any]:
    """A SKU's demand per day, ISO week or month: units ordered (demand, not sales: what
    waited or was cancelled counts) and imported history, the network's or a location's."""
    return demand_view(app, sku, by, location, last)


@router.get(
    "/forecasts/{sku}",
    tags=["forecasts"],
    response_model=ForecastOut,
    responses=ERRORS | NO_FORECAST,
)
def get_forecast(
    sku: SkuPath,
    app: App,
    _: Reader,
    location: LocationQuery = None,
    horizon: Annotated[
        int | None, Query(ge=1, le=MAX_HORIZON, description="weeks ahead (default: all stored)")
    ] = None,
    stored_only: Annotated[
        bool,
        Query(description="only the stored forecast: none stored is a 404 no-forecast-stored"),
    ] = False,
) -> dict[str, Any]:
    """A SKU's demand forecast per week with its 80 % and 95 % intervals, the method its
    demand class chose and its back-tested error. The stored one (recomputed nightly); when
    none is stored, one computed now (`stored: false`), unless `stored_only`. 404 for an
    unknown SKU or one without any demand yet."""
    return forecast_view(app, sku, location, horizon, stored_only)
