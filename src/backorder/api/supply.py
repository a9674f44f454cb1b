"""Routes for inbound supply: suppliers, purchase orders, and what can be promised."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from backorder.api.auth import need
from backorder.api.paths import Segment
from backorder.api.responses import AtpOut, PurchaseOrderOut, SupplierDetailOut, SupplierOut
from backorder.api.routes import CONFLICT, ERRORS, App, Cataloguer, SkuPath, Stocker, _problem
from backorder.api.schemas import (
    PoRedateIn,
    PoReduceIn,
    PurchaseOrderIn,
    SupplierIn,
    SupplierPatch,
)
from backorder.domain.access import Permission, Role
from backorder.domain.errors import InvalidRequest
from backorder.services import atp, supply

router = APIRouter(prefix="/api/v1")

Promiser = Annotated[Role, Depends(need(Permission.PROMISE))]
SupplierPath = Annotated[
    str,
    Path(pattern=r"^[^\x00-\x20\x7f]+$", max_length=64, description="the supplier's id"),
    Segment,
]
PoPath = Annotated[
    str,
    Path(pattern=r"^[^\x00-\x20\x7f]+$", max_length=64, description="the purchase order"),
    Segment,
]
EXISTS: dict[int | str, dict[str, Any]] = {CONFLICT: _problem("It exists already")}


@router.post(
    "/suppliers",
    status_code=201,
    tags=["supply"],
    response_model=SupplierOut,
    responses=ERRORS | EXISTS,
)
def post_supplier(body: SupplierIn, app: App, _: Cataloguer) -> dict[str, Any]:
    """Add a supplier with its default lead time."""
    return supply.add_supplier(
        app,
        supply.SupplierIn(body.id, body.name, body.lead_time_days, body.email, body.contact),
    )


@router.get("/suppliers", tags=["supply"], response_model=list[SupplierOut], responses=ERRORS)
def get_suppliers(app: App, _: Stocker) -> list[dict[str, Any]]:
    """Every supplier with its lead time and on-time record."""
    return supply.list_suppliers(app)


@router.get(
    "/suppliers/{supplier}", tags=["supply"], response_model=SupplierDetailOut, responses=ERRORS
)
def get_supplier(supplier: SupplierPath, app: App, _: Stocker) -> dict[str, Any]:
    """A supplier, its SKUs and its open purchase orders."""
    return supply.get_supplier(app, supplier)


@router.patch(
    "/suppliers/{supplier}", tags=["supply"], response_model=SupplierOut, responses=ERRORS
)
def patch_supplier(
    supplier: SupplierPath, body: SupplierPatch, app: App, _: Cataloguer
) -> dict[str, Any]:
    """Change a supplier; a new lead time re-dates the waiting lines beyond inbound supply."""
    given = body.model_dump(exclude_unset=True)
    for required in ("name", "lead_time_days", "po_format"):
        if required in given and given[required] is None:
            raise InvalidRequest(f"{required} cannot be cleared")
    return supply.update_supplier(app, supplier, given)


@router.post(
    "/purchase-orders",
    status_code=201,
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS | EXISTS,
)
def post_purchase_order(body: PurchaseOrderIn, app: App, _: Stocker) -> dict[str, Any]:
    """Record inbound supply arriving at a location (`location`; left out: the default
    one); the waiting lines of its SKUs are dated against it at once. A receipt whose
    `ref` is this purchase order counts against it and arrives at its location."""
    lines = [supply.PoLineIn(line.sku, line.quantity, line.expected_on) for line in body.lines]
    return supply.add_purchase_order(app, body.po, body.supplier, lines, body.location)


@router.get(
    "/purchase-orders",
    tags=["supply"],
    response_model=list[PurchaseOrderOut],
    responses=ERRORS,
)
def get_purchase_orders(
    app: App,
    _: Stocker,
    state: Annotated[Literal["open", "received", "cancelled"] | None, Query()] = None,
    sku: Annotated[str | None, Query(pattern=r"^[^\x00-\x20\x7f]+$", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Purchase orders, newest first."""
    return supply.list_purchase_orders(app, state, sku, limit)


@router.get(
    "/purchase-orders/{po}", tags=["supply"], response_model=PurchaseOrderOut, responses=ERRORS
)
def get_purchase_order(po: PoPath, app: App, _: Stocker) -> dict[str, Any]:
    """A purchase order, line by line: ordered, received, cancelled, outstanding, dates."""
    return supply.get_purchase_order(app, po)


@router.post(
    "/purchase-orders/{po}/redate",
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS,
)
def post_redate(po: PoPath, body: PoRedateIn, app: App, _: Stocker) -> dict[str, Any]:
    """The supplier expects a line on another date."""
    return supply.redate_purchase_order(app, po, body.sku, body.expected_on)


@router.post(
    "/purchase-orders/{po}/reduce",
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS,
)
def post_reduce(po: PoPath, body: PoReduceIn, app: App, _: Stocker) -> dict[str, Any]:
    """The supplier will deliver only `quantity` units of a line in all."""
    return supply.reduce_purchase_order(app, po, body.sku, body.quantity)


@router.post(
    "/purchase-orders/{po}/cancel",
    tags=["supply"],
    response_model=PurchaseOrderOut,
    responses=ERRORS,
)
def post_cancel_purchase_order(po: PoPath, app: App, _: Stocker) -> dict[str, Any]:
    """Nothing more will come of this purchase order."""
    return supply.cancel_purchase_order(app, po)


@router.get("/atp/{sku}", tags=["supply"], response_model=AtpOut, responses=ERRORS)
def get_atp(
    sku: SkuPath,
    app: App,
    _: Promiser,
    location: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
            description="one location's figures; left out: the network's",
        ),
    ] = None,
) -> dict[str, Any]:
    """Available to promise, for the network or one location: on hand, allocated,
    available, inbound supply by expected date (purchase orders and transfers arriving
    there, transfers about to leave), and how many units a new order could be promised by
    each date once the waiting queue is served in rank order; and the date of anything
    beyond inbound supply."""
    return atp.atp(app, sku, location)
