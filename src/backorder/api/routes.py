"""Routes under /api/v1. Handlers translate HTTP to use cases and nothing more."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from backorder.api.auth import backorder_of, need
from backorder.api.schemas import (
    CancelIn,
    ProductIn,
    ProductPatch,
    ReceiptIn,
    ReceiptsIn,
    ShipIn,
    StockLevelIn,
    StockLevelsIn,
)
from backorder.canonical import OrderIn
from backorder.domain.access import Permission, Role
from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.domain.model import Policy, Product, Tier
from backorder.services.context import Backorder
from backorder.services.customer_links import customer_cancel, customer_view, mint_link
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product, update_product
from backorder.services.stock import (
    receive_stock,
    receive_stock_many,
    set_stock,
    set_stock_many,
)
from backorder.services.views import (
    BackorderFilter,
    backorders_view,
    events_view,
    order_view,
    product_view,
    queue_view,
    stock_view,
)

router = APIRouter(prefix="/api/v1")

App = Annotated[Backorder, Depends(backorder_of)]
Reader = Annotated[Role, Depends(need(Permission.READ))]
OrderReader = Annotated[Role, Depends(need(Permission.READ_ORDERS))]
Placer = Annotated[Role, Depends(need(Permission.PLACE_ORDERS))]
OrderChanger = Annotated[Role, Depends(need(Permission.CHANGE_ORDERS))]
Stocker = Annotated[Role, Depends(need(Permission.STOCK))]
Cataloguer = Annotated[Role, Depends(need(Permission.CATALOG))]
LinkMaker = Annotated[Role, Depends(need(Permission.CUSTOMER_LINKS))]
Ref = Annotated[str, "CHANNEL:EXTERNAL_ID"]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown or revoked one (problem+json)"},
    403: {"description": "The key's role may not do this (problem+json)"},
    404: {"description": "Unknown order or SKU (problem+json)"},
    422: {"description": "Invalid request, with the field errors (problem+json)"},
}


@router.post(
    "/orders",
    status_code=201,
    tags=["orders"],
    responses=ERRORS
    | {200: {"description": "The reference was known: the existing order, nothing changed"}},
)
def post_order(body: OrderIn, app: App, _: Placer, response: Response) -> dict[str, Any]:
    """Place a canonical order; split against stock at once."""
    request = body.to_request()
    try:
        placed = place_order(app, request)
    except UnknownSku as error:
        raise InvalidRequest(f"{error}; the order was not placed") from None
    if not placed.created:
        response.status_code = 200
    return order_view(app, placed.ref)


@router.get("/orders/{ref}", tags=["orders"], responses=ERRORS)
def get_order(ref: Ref, app: App, _: OrderReader) -> dict[str, Any]:
    """An order, its lines, and why each line got stock when it did."""
    return order_view(app, ref)


@router.post(
    "/orders/{ref}/cancel",
    tags=["orders"],
    responses=ERRORS | {409: {"description": "Nothing (or not that much) is left open to cancel"}},
)
def post_cancel(ref: Ref, body: CancelIn, app: App, _: OrderChanger) -> dict[str, Any]:
    """Cancel the whole order, a line, or part of a line, before shipment."""
    result = cancel_order(app, ref, body.line, body.qty, body.reason)
    return {"cancel": asdict(result), "order": order_view(app, ref)}


@router.post(
    "/orders/{ref}/ship",
    tags=["orders"],
    responses=ERRORS
    | {409: {"description": "Nothing allocated, or a ship-complete order still waits"}},
)
def post_ship(ref: Ref, body: ShipIn, app: App, _: OrderChanger) -> dict[str, Any]:
    """Ship the order's allocated units."""
    result = ship_order(app, ref, body.tracking)
    return {"shipment": asdict(result), "order": order_view(app, ref)}


@router.post("/orders/{ref}/customer-link", tags=["customers"], responses=ERRORS)
def post_customer_link(ref: Ref, app: App, _: LinkMaker) -> dict[str, Any]:
    """A signed, expiring link that lets the customer see and cancel this order."""
    link = mint_link(app, ref)
    return {"url": link.url, "token": link.token, "expires_at": link.expires_at.isoformat()}


Token = Annotated[str, Query(min_length=1, max_length=1000, description="from the link")]
CUSTOMER_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Forged, expired, or for another order (problem+json)"},
    404: ERRORS[404],
    422: ERRORS[422],
}


@router.get("/customer/orders/{ref}", tags=["customers"], responses=CUSTOMER_ERRORS)
def get_customer_order(ref: Ref, token: Token, app: App) -> dict[str, Any]:
    """The customer's own order, with expected dates (authenticated by the link's token)."""
    return customer_view(app, ref, token)


@router.post(
    "/customer/orders/{ref}/cancel",
    tags=["customers"],
    responses=CUSTOMER_ERRORS | {409: {"description": "Nothing left to cancel"}},
)
def post_customer_cancel(ref: Ref, token: Token, app: App) -> dict[str, Any]:
    """The customer cancels everything that has not shipped."""
    result = customer_cancel(app, ref, token)
    return {"cancel": asdict(result), "order": customer_view(app, ref, token)}


@router.post(
    "/products",
    status_code=201,
    tags=["catalogue"],
    responses=ERRORS | {409: {"description": "The SKU exists"}},
)
def post_product(body: ProductIn, app: App, _: Cataloguer) -> dict[str, Any]:
    """Add a product with its backorder policy."""
    add_product(
        app,
        Product(
            sku=body.sku,
            name=body.name,
            unit_price=body.price,
            policy=body.policy,
            queue=body.queue or app.settings.default_queue,
            lead_time_days=body.lead_time_days,
            max_per_customer=body.max_per_customer,
            discontinued=body.discontinued,
            backorder_cap=body.backorder_cap,
            backorder_until=body.backorder_until,
        ),
    )
    return product_view(app, body.sku)


@router.get("/products/{sku}", tags=["catalogue"], responses=ERRORS)
def get_product(sku: str, app: App, _: Reader) -> dict[str, Any]:
    return product_view(app, sku)


@router.patch("/products/{sku}", tags=["catalogue"], responses=ERRORS)
def patch_product(sku: str, body: ProductPatch, app: App, _: Cataloguer) -> dict[str, Any]:
    """Change fields; an explicit null clears an optional limit."""
    given = body.model_dump(exclude_unset=True)
    for required in ("name", "price", "policy", "queue", "discontinued"):
        if required in given and given[required] is None:
            raise InvalidRequest(f"{required} cannot be cleared")
    if "price" in given:
        given["unit_price"] = given.pop("price")
    if "policy" in given:
        given["policy"] = Policy(given["policy"])
    if not given:
        raise InvalidRequest("nothing to change")
    update_product(app, sku, given)
    return product_view(app, sku)


@router.put("/stock", tags=["stock"], responses=ERRORS)
def put_stock_levels(body: StockLevelsIn, app: App, _: Stocker) -> dict[str, Any]:
    """Set many counted levels in one transaction (ERP/WMS sync): all or nothing."""
    levels = [(item.sku, item.on_hand, item.ref) for item in body.levels]
    return {"changes": [asdict(change) for change in set_stock_many(app, levels)]}


@router.post("/stock/receipts", tags=["stock"], responses=ERRORS)
def post_receipts(body: ReceiptsIn, app: App, _: Stocker) -> dict[str, Any]:
    """Receive stock for many SKUs in one transaction: all or nothing."""
    receipts = [(item.sku, item.qty, item.ref) for item in body.receipts]
    return {"changes": [asdict(change) for change in receive_stock_many(app, receipts)]}


@router.get("/stock/{sku}", tags=["stock"], responses=ERRORS)
def get_stock(sku: str, app: App, _: Reader) -> dict[str, Any]:
    return stock_view(app, sku)


@router.put("/stock/{sku}", tags=["stock"], responses=ERRORS)
def put_stock(sku: str, body: StockLevelIn, app: App, _: Stocker) -> dict[str, Any]:
    """Set on hand to a counted level (ERP/WMS sync)."""
    return asdict(set_stock(app, sku, body.on_hand, body.ref))


@router.post("/stock/{sku}/receipts", tags=["stock"], responses=ERRORS)
def post_receipt(sku: str, body: ReceiptIn, app: App, _: Stocker) -> dict[str, Any]:
    """Receive stock; the queue is served in rank order."""
    return asdict(receive_stock(app, sku, body.qty, body.ref))


@router.get("/queues/{sku}", tags=["stock"], responses=ERRORS)
def get_queue(
    sku: str, app: App, _: Reader, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> dict[str, Any]:
    """The backorder queue of a SKU, head first."""
    return queue_view(app, sku, limit)


@router.get("/backorders", tags=["orders"], responses=ERRORS)
def get_backorders(
    app: App,
    _: OrderReader,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    tier: Tier | None = None,
    status: Annotated[Literal["waiting", "partial"] | None, Query()] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="next_after of the last page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Waiting lines across SKUs, filtered, oldest intake first; page with `after`."""
    wanted = BackorderFilter(sku, tier.value if tier else None, status, min_age_days)
    return backorders_view(app, wanted, after, limit)


@router.get("/events", tags=["events"], responses=ERRORS)
def get_events(
    app: App,
    _: Reader,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The outbox in id order; poll with `after` = the last id seen."""
    return events_view(app, after, limit)
