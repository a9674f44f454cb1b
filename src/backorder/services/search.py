"""Lists of orders and products, filtered and paged: one service for the API
(`GET /orders`, `GET /products`), the CLI (`order list`, `product list`) and the dashboard's
search box. Each page is two set-based statements (the page's ids, then their figures), with
keyset paging on the id (orders: newest first) or the SKU (products: A to Z), so a page
costs the same however deep it is. The common filters (SKU, customer, channel, an order
number, since) each have an index (migration 0022)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    union,
)

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import LineQuantities, order_status
from backorder.services.context import Backorder
from backorder.store.tables import order_lines, orders, products

LINE, ORDER, PRODUCT = order_lines.c, orders.c, products.c
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_QUERY = 200
OrderStatus = Literal["open", "backordered", "allocated", "shipped", "cancelled"]
STATUSES: tuple[str, ...] = ("open", "backordered", "allocated", "shipped", "cancelled")


@dataclass(frozen=True)
class OrderFilter:
    """What `order list` narrows to; every part is optional and they all hold together."""

    status: str | None = None
    sku: str | None = None
    customer: str | None = None  # the customer's id or e-mail address
    channel: str | None = None
    since: date | None = None  # placed on or after this day (UTC)
    q: str | None = None  # an order number, a customer's e-mail, a SKU or a product's name


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None  # pass back as `cursor` for the next page; None on the last


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _order_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidRequest(f"{cursor!r} is not a cursor this list gave")
    return int(cursor)


def _has_line(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The order has a line that meets `where` (an index seek on the order's lines)."""
    return exists().where(LINE.order_id == ORDER.id, *where)


def _status(status: str) -> ColumnElement[bool]:
    """The derived status (domain.model.order_status) as a condition: backordered while a
    line waits, allocated while units are ready, shipped once nothing is open and something
    shipped, else cancelled."""
    waits, ready = _has_line(LINE.backordered > 0), _has_line(LINE.allocated > 0)
    sent = _has_line(LINE.shipped > 0)
    conditions: dict[str, ColumnElement[bool]] = {
        "open": or_(waits, ready),
        "backordered": waits,
        "allocated": and_(~waits, ready),
        "shipped": and_(~waits, ~ready, sent),
        "cancelled": and_(~waits, ~ready, ~sent),
    }
    if status not in conditions:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return conditions[status]


def _literal(text: str) -> str:
    """`text` for a LIKE pattern (escape character \\), its wildcards taken as written."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_holds(text: str) -> ColumnElement[bool]:
    """The product's name holds `text`, in any case."""
    return func.lower(PRODUCT.name).like("%" + _literal(text.lower()) + "%", escape="\\")


def _products_named(text: str) -> Any:
    """Ids of the products whose SKU is `text` or whose name holds it (any case)."""
    return select(PRODUCT.id).where(or_(PRODUCT.sku == text, _name_holds(text)))


def _search(text: str) -> ColumnElement[bool]:
    """An order number (the channel's id, the shop's display number with or without its
    `#`, or a whole `CHANNEL:ID` reference), the customer's e-mail, or a SKU / product
    name on one of its lines. Each way of matching is its own index lookup, and the order
    ids they find are put together (a UNION), so no way of matching reads every order."""
    text = text.strip()
    if not text:
        return ~false()
    if len(text) > MAX_QUERY:
        raise InvalidRequest(f"the search is longer than {MAX_QUERY} characters")
    bare = text.lstrip("#") or text
    ways = [
        select(ORDER.id).where(ORDER.external_id.in_(sorted({text, bare}))),
        select(ORDER.id).where(ORDER.display_number.in_(sorted({text, bare, f"#{bare}"}))),
        select(ORDER.id).where(ORDER.customer_email.in_(sorted({text, text.lower()}))),
        select(LINE.order_id).where(LINE.product_id.in_(_products_named(text))),
    ]
    channel, sep, external_id = text.partition(":")
    if sep and channel and external_id:
        ways.append(
            select(ORDER.id).where(ORDER.channel == channel, ORDER.external_id == external_id)
        )
    return ORDER.id.in_(union(*ways))


def _order_where(chosen: OrderFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if chosen.status:
        where.append(_status(chosen.status))
    if chosen.sku:
        product = select(PRODUCT.id).where(PRODUCT.sku == chosen.sku).scalar_subquery()
        where.append(ORDER.id.in_(select(LINE.order_id).where(LINE.product_id == product)))
    if chosen.customer:
        where.append(
            or_(
                ORDER.customer_id == chosen.customer,
                ORDER.customer_email.in_(sorted({chosen.customer, chosen.customer.lower()})),
            )
        )
    if chosen.channel:
        where.append(ORDER.channel == chosen.channel)
    if chosen.since:
        where.append(ORDER.placed_at >= datetime.combine(chosen.since, time(), UTC))
    if chosen.q:
        where.append(_search(chosen.q))
    return where


def page_query(chosen: OrderFilter, size: int, after: int | None = None) -> Select[Any]:
    """The ids of a page of orders that meet every filter, newest first, after the id
    `after` (keyset paging)."""
    where = _order_where(chosen)
    if after is not None:
        where.append(ORDER.id < after)
    return select(ORDER.id).where(*where).order_by(ORDER.id.desc()).limit(size)


def list_orders(
    app: Backorder, chosen: OrderFilter, limit: int | None = None, cursor: str | None = None
) -> Page:
    """Orders that meet every filter, newest first, `limit` to a page (at most MAX_LIMIT),
    each with its status, customer, lines and what waits."""
    size, after = _limit(limit), _order_cursor(cursor)
    with app.db.read() as uow:
        conn = uow.connection
        rows = conn.execute(page_query(chosen, size + 1, after)).scalars()
        ids = list(rows)
        page = ids[:size]
        figures = {
            row.id: row
            for row in conn.execute(
                select(
                    ORDER.id,
                    ORDER.channel,
                    ORDER.external_id,
                    ORDER.display_number,
                    ORDER.placed_at,
                    ORDER.customer_id,
                    ORDER.customer_name,
                    ORDER.customer_email,
                    func.count(LINE.id).label("lines"),
                    func.coalesce(func.sum(LINE.quantity), 0).label("units"),
                    func.coalesce(func.sum(LINE.backordered), 0).label("backordered"),
                    func.coalesce(func.sum(LINE.allocated), 0).label("allocated"),
                    func.coalesce(func.sum(LINE.shipped), 0).label("shipped"),
                )
                .select_from(orders.outerjoin(order_lines, LINE.order_id == ORDER.id))
                .where(ORDER.id.in_(page))
                .group_by(ORDER.id)
            )
        }
        skus: dict[int, list[str]] = {i: [] for i in page}
        for order_id, sku in conn.execute(
            select(LINE.order_id, PRODUCT.sku)
            .join(products, PRODUCT.id == LINE.product_id)
            .where(LINE.order_id.in_(page))
            .order_by(LINE.order_id, LINE.line_no)
        ):
            if sku not in skus[order_id]:
                skus[order_id].append(sku)
    items = [_order_item(figures[i], skus[i]) for i in page]
    return Page(items, str(page[-1]) if len(ids) > size else None)


def _order_item(row: Any, skus: list[str]) -> dict[str, Any]:
    # Any line waiting, ready or shipped is the same as the order's totals waiting, ready or
    # shipped: the totals take the status the domain gives the order.
    totals = LineQuantities(
        int(row.units), int(row.allocated), int(row.backordered), int(row.shipped)
    )
    status = order_status([totals])
    ref = f"{row.channel}:{row.external_id}"
    return {
        "ref": ref,
        "display_number": row.display_number or row.external_id,
        "channel": row.channel,
        "status": status,
        "placed_at": row.placed_at.isoformat(),
        "customer": {"id": row.customer_id, "name": row.customer_name, "email": row.customer_email},
        "lines": int(row.lines),
        "units": int(row.units),
        "backordered": int(row.backordered),
        "skus": skus,
    }


def list_products(
    app: Backorder, q: str | None = None, limit: int | None = None, cursor: str | None = None
) -> Page:
    """Products whose SKU starts with `q` or whose name holds it (any case), by SKU, with
    their stock figures."""
    size = _limit(limit)
    where: list[ColumnElement[bool]] = []
    if q and q.strip():
        text = q.strip()
        if len(text) > MAX_QUERY:
            raise InvalidRequest(f"the search is longer than {MAX_QUERY} characters")
        where.append(or_(PRODUCT.sku.like(_literal(text) + "%", escape="\\"), _name_holds(text)))
    if cursor:
        if len(cursor) > 64:
            raise InvalidRequest(f"{cursor!r} is not a cursor this list gave")
        where.append(PRODUCT.sku > cursor)
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(
                PRODUCT.sku,
                PRODUCT.name,
                PRODUCT.unit_price,
                PRODUCT.policy,
                PRODUCT.discontinued,
                PRODUCT.on_hand,
                PRODUCT.allocated,
                PRODUCT.backordered,
                PRODUCT.supplier_id,
            )
            .where(*where)
            .order_by(PRODUCT.sku)
            .limit(size + 1)
        ).all()
    items = [
        {
            "sku": row.sku,
            "name": row.name,
            "price": str(row.unit_price),
            "policy": row.policy,
            "discontinued": bool(row.discontinued),
            "on_hand": row.on_hand,
            "allocated": row.allocated,
            "available": row.on_hand - row.allocated,
            "backordered": row.backordered,
            "supplier": row.supplier_id,
        }
        for row in rows[:size]
    ]
    return Page(items, items[-1]["sku"] if len(rows) > size else None)
