"""Routes deciding restock recommendations and approving the draft purchase orders they
make. The decision records the API key's name as who took it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field, StringConstraints

from backorder.api.auth import bearer, need
from backorder.api.paths import Segment
from backorder.api.responses import Out, PurchaseOrderOut
from backorder.api.routes import CONFLICT, ERRORS, App, _problem
from backorder.api.schemas import Body
from backorder.domain.access import Permission, Role
from backorder.services import po_approval, replenishment_decisions, supply
from backorder.services.apikeys import key_name

router = APIRouter(prefix="/api/v1")

Purchaser = Annotated[Role, Depends(need(Permission.PURCHASE))]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecPath = Annotated[int, Path(ge=1, le=2**62, description="the recommendation's id")]
PoPath = Annotated[
    str,
    Path(pattern=r"^[^\x00-\x20\x7f]+$", max_length=64, description="the purchase order"),
    Segment,
]
Note = Annotated[str, StringConstraints(max_length=2000)]
DECIDED: dict[int | str, dict[str, Any]] = {CONFLICT: _problem("It is decided already")}


def _actor(app: Any, credentials: HTTPAuthorizationCredentials | None) -> str:
    name = key_name(app, credentials.credentials) if credentials else None
    return name or "api"


class AcceptIn(Body):
    quantity: int | None = Field(
        None, ge=1, le=2**31 - 1, description="units to order instead (rounded to MOQ, pack)"
    )
    supplier: str | None = Field(
        None, max_length=64, description="another of the SKU's suppliers to order from"
    )


class NoteIn(Body):
    note: Note | None = None


class DraftPoOut(Out):
    po: str
    supplier: str
    location: str | None
    state: str
    origin: str
    approval: str
    approved_by: str | None
    sent_at: str | None
    value: str | None = Field(description="units x price; null when a price is unknown")
    currency: str
    lines: list[dict[str, Any]]


class DecisionOut(Out):
    id: int
    state: str = Field(description="accepted or rejected")
    decided_by: str
    kind: str | None = None
    quantity: int | None = None
    changes: list[str] = Field(default_factory=list, description="what the decision changed")
    purchase_order: DraftPoOut | None = None
    transfer: int | None = None
    note: str | None = None


@router.post(
    "/replenishment/{recommendation}/accept",
    tags=["replenishment"],
    response_model=DecisionOut,
    responses=ERRORS | DECIDED,
)
def post_accept(
    recommendation: RecPath,
    app: App,
    _: Purchaser,
    credentials: Credentials,
    body: AcceptIn | None = None,
) -> dict[str, Any]:
    """Accept a proposed recommendation, as it is or changed (quantity and/or supplier,
    re-rounded to that supplier's MOQ and pack): a purchase becomes a draft purchase order
    (approved by the policy, or awaiting a person), a transfer a planned transfer."""
    change = replenishment_decisions.Change(
        body.quantity if body else None, body.supplier if body else None
    )
    actor = _actor(app, credentials)
    return replenishment_decisions.accept(app, recommendation, actor, change)


@router.post(
    "/replenishment/{recommendation}/reject",
    tags=["replenishment"],
    response_model=DecisionOut,
    responses=ERRORS | DECIDED,
)
def post_reject(
    recommendation: RecPath,
    app: App,
    _: Purchaser,
    credentials: Credentials,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """Reject a proposed recommendation, with a note."""
    note = body.note if body else None
    return replenishment_decisions.reject(app, recommendation, _actor(app, credentials), note)


@router.post(
    "/purchase-orders/{po}/approve",
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS | DECIDED,
)
def post_approve(po: PoPath, app: App, _: Purchaser, credentials: Credentials) -> dict[str, Any]:
    """Approve a draft purchase order: it becomes inbound supply and goes to its supplier."""
    po_approval.approve(app, po, _actor(app, credentials))
    return supply.get_purchase_order(app, po)


@router.post(
    "/purchase-orders/{po}/reject",
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS | DECIDED,
)
def post_reject_po(
    po: PoPath, app: App, _: Purchaser, credentials: Credentials, body: NoteIn | None = None
) -> dict[str, Any]:
    """Reject a draft purchase order: cancelled, never sent."""
    po_approval.reject(app, po, _actor(app, credentials), body.note if body else None)
    return supply.get_purchase_order(app, po)
