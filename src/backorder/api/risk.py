"""Routes for backorder risk: our SKUs highest risk first, and one SKU's score, each with
its top reasons (from the latest scoring by the active model)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from backorder.api.responses import Out
from backorder.api.routes import ERRORS, App, Reader, SkuPath
from backorder.services import risk

router = APIRouter(prefix="/api/v1")


class RiskOut(Out):
    sku: str
    name: str
    probability: float = Field(ge=0, le=1, description="of going on backorder within 8 weeks")
    reasons: list[str] = Field(description="what raises the score most, in words")
    features: dict[str, float | None] = Field(
        description="the model's inputs (product-backorders names; null: unknown)"
    )
    model_version: int
    scored_at: str


@router.get("/risk", tags=["foresight"], response_model=list[RiskOut], responses=ERRORS)
def get_risk(
    app: App, _: Reader, top: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[dict[str, Any]]:
    """Our SKUs, highest backorder risk first, with their reasons. 404 while no model has
    been trained (`backorder risk train`)."""
    return risk.risk_list(app, top)


@router.get("/risk/{sku}", tags=["foresight"], response_model=RiskOut, responses=ERRORS)
def get_sku_risk(sku: SkuPath, app: App, _: Reader) -> dict[str, Any]:
    """One SKU's backorder risk and its reasons."""
    return risk.risk_of(app, sku)
