"""GET /api/v1/replenishment and GET /api/v1/replenishment/{id}: restock recommendations
(a proposed purchase or transfer per SKU and location, with why in words)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from backorder.api.lists import Cursor
from backorder.api.responses import Day, Money, Out, Timestamp
from backorder.api.routes import ERRORS, App, Reader
from backorder.services.replenishment.views import MAX_LIMIT, Wanted, listing, one

router = APIRouter(prefix="/api/v1")

State = Literal["proposed", "accepted", "rejected", "superseded"]
Code = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x20\x7f]+$")]
RecommendationPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="the recommendation's id")]


class RecommendationOut(Out):
    id: int
    key: str = Field(description='"SKU", or "SKU@LOCATION" for a location\'s own need')
    sku: str
    location: str | None = Field(description="where it is needed; null: the network")
    state: State
    kind: Literal["purchase", "transfer"]
    cause: Literal["stockout", "reorder_point", "slip"]
    supplier: str | None = Field(description="a purchase: the supplier chosen")
    supplier_name: str | None
    from_location: str | None = Field(description="a transfer: the location it comes from")
    quantity: int = Field(description="rounded to the supplier's minimum order and pack")
    unit_cost: Money
    currency: str
    expected_cost: Money = Field(
        description="units x unit cost + expected units on backorder x price x cost share"
    )
    expected_short: float = Field(description="units expected to wait even so")
    need_by: Day = Field(description="the date stock is needed")
    order_by: Day | None = Field(description="the last day to order on the stated lead time")
    arrive_on: Day = Field(description="expected (lead time + median lateness)")
    arrive_p90: Day = Field(description="nine in ten of the supplier's lines came by then")
    reasons: list[str] = Field(description="why, in words, with the numbers")
    facts: dict[str, Any] = Field(description="the need and every option weighed")
    computed_at: Timestamp
    decided_at: Timestamp | None
    decided_by: str | None
    note: str | None
    po: str | None = Field(description="accepted: the purchase order it became")
    transfer_id: int | None = Field(description="accepted: the transfer it became")


class RecommendationListOut(Out):
    items: list[RecommendationOut] = Field(description="soonest need first")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


@router.get(
    "/replenishment",
    tags=["foresight"],
    response_model=RecommendationListOut,
    responses=ERRORS,
)
def get_recommendations(
    app: App,
    _: Reader,
    state: Annotated[State, Query()] = "proposed",
    sku: Code = None,
    location: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[^\x00-\x20\x7f]+$",
            description="a location's code, or \"network\" for the network's own lines",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Restock recommendations in a state (default proposed), soonest need first, a page at
    a time; the worker re-plans them after every plan refresh."""
    return listing(app, Wanted(state, [sku] if sku else None, location), limit, cursor)


@router.get(
    "/replenishment/{recommendation}",
    tags=["foresight"],
    response_model=RecommendationOut,
    responses=ERRORS,
)
def get_recommendation(recommendation: RecommendationPath, app: App, _: Reader) -> dict[str, Any]:
    """One recommendation, whatever its state, with its reasons and the facts weighed."""
    return one(app, recommendation)
