"""GET /api/v1/reports/weekly: the weekly report as JSON, HTML, CSV or PDF."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from backorder.api.kpis import KpisOut
from backorder.api.responses import Day, Out, Timestamp
from backorder.api.review import IncidentOut, TaskOut
from backorder.api.routes import ERRORS, App, Reader
from backorder.report.render import MEDIA_TYPES, render
from backorder.services.report import weekly_report

router = APIRouter(prefix="/api/v1")


class ReportDayOut(Out):
    day: Day
    new_lines: int = Field(description="lines that began to wait")
    filled_lines: int = Field(description="lines whose last waiting unit was allocated")
    cancelled_lines: int = Field(description="lines with units cancelled while waiting")
    cancelled_units: int
    overdue_lines: int | None = Field(description="as the daily review found them; null: no review")
    value_at_risk: str | None


class TopSkuOut(Out):
    sku: str
    name: str
    supplier: str | None
    currency: str
    lines: int
    units: int
    value: str
    waiting_since: Timestamp | None = Field(description="when the longest-waiting line began")
    next_eta: Day | None = Field(description="the soonest expected date of its waiting lines")
    overdue_lines: int


class TopSupplierOut(Out):
    supplier: str | None = Field(description="null: SKUs without a supplier")
    name: str | None
    currency: str
    skus: int
    lines: int
    units: int
    value: str


class WeeklyReportOut(Out):
    week: str = Field(description="ISO week, e.g. 2026-W47")
    from_: Day = Field(alias="from")
    to: Day
    generated_at: Timestamp = Field(description="money waiting, aging and tasks: as of then")
    days: list[ReportDayOut]
    kpis: KpisOut = Field(description="the week's KPIs against their targets")
    top_skus: list[TopSkuOut] = Field(description="most money waiting first, per currency")
    top_suppliers: list[TopSupplierOut]
    tasks: list[TaskOut] = Field(description="open tasks")
    incidents: list[IncidentOut] = Field(description="the week's incident log")


OTHER_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report; JSON by default",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **ERRORS,
}


@router.get(
    "/reports/weekly",
    tags=["kpis"],
    response_model=WeeklyReportOut,
    response_model_by_alias=True,
    responses=OTHER_FORMATS,
)
def get_weekly_report(
    app: App,
    _: Reader,
    week: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}-W[0-9]{2}$",
            description="ISO week, e.g. 2026-W47 (default: last complete week)",
        ),
    ] = None,
    fmt: Annotated[
        Literal["json", "html", "csv", "pdf"], Query(alias="format", description="default: json")
    ] = "json",
) -> Any:
    """The weekly report: new and resolved backorders per day, the daily review's overdue
    figures, the week's KPIs against their targets, aging, revenue at risk, the SKUs and
    suppliers with the most money waiting, open tasks and the week's incidents."""
    report = weekly_report(app, week)
    if fmt == "json":
        return report
    return Response(render(report, fmt), media_type=MEDIA_TYPES[fmt])
