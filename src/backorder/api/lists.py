"""Lists of orders and products, filtered and paged (services/search.py), for a viewer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from backorder.api.responses import OrderListOut, ProductListOut
from backorder.api.review import DayQuery
from backorder.api.routes import ERRORS, App, OrderReader, Reader
from backorder.services.search import MAX_LIMIT, MAX_QUERY, OrderFilter, list_orders, list_products

router = APIRouter(prefix="/api/v1")

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"a page's size (at most {MAX_LIMIT})")
]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Cursor = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=PRINTABLE,
        description="`next_cursor` of the page before; none: the first page",
    ),
]
Search = Annotated[str | None, Query(max_length=MAX_QUERY, pattern=PRINTABLE)]
Name = Annotated[str | None, Query(min_length=1, max_length=320, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get("/orders", tags=["orders"], response_model=OrderListOut, responses=ERRORS)
def get_orders(
    app: App,
    _: OrderReader,
    status: Annotated[
        Literal["open", "backordered", "allocated", "shipped", "cancelled"] | None, Query()
    ] = None,
    sku: Name = None,
    customer: Annotated[Name, Query(description="the customer's id or e-mail address")] = None,
    channel: Name = None,
    since: Annotated[
        DayQuery | None, Query(description="placed on or after this day (UTC), YYYY-MM-DD")
    ] = None,
    q: Annotated[
        Search,
        Query(
            description="an order number (`#9001`, `web:100`), a customer's e-mail, a SKU or "
            "part of a product's name"
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Orders that meet every filter given, newest first, a page at a time."""
    chosen = OrderFilter(status, sku, customer, channel, since, q)
    return asdict(list_orders(app, chosen, limit, cursor))


@router.get("/products", tags=["catalogue"], response_model=ProductListOut, responses=ERRORS)
def get_products(
    app: App,
    _: Reader,
    q: Annotated[Search, Query(description="the start of a SKU or part of a name")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Products by SKU, with their stock, a page at a time."""
    return asdict(list_products(app, q, limit, cursor))
