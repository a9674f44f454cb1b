"""Reading recommendations: the list (by state, SKU and location, soonest need first, a page
at a time) and one by id, each with its reasons and facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownRecommendation
from backorder.services.context import Backorder
from backorder.store.tables import (
    RECOMMENDATION_STATES,
    locations,
    products,
    purchase_orders,
    recommendations,
    suppliers,
)

R = recommendations.c
CENT = Decimal("0.01")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
AT = locations.alias("at")
SOURCE = locations.alias("source")

SELECT = (
    select(
        recommendations,
        products.c.sku,
        AT.c.code.label("location"),
        SOURCE.c.code.label("from_location"),
        suppliers.c.name.label("supplier_name"),
        purchase_orders.c.ref.label("po"),
    )
    .join(products, products.c.id == R.product_id)
    .outerjoin(AT, AT.c.id == R.location_id)
    .outerjoin(SOURCE, SOURCE.c.id == R.from_location_id)
    .outerjoin(suppliers, suppliers.c.id == R.supplier_id)
    .outerjoin(purchase_orders, purchase_orders.c.id == R.po_id)
)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def view_of(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "key": row["key"],
        "sku": row["sku"],
        "location": row["location"],
        "state": row["state"],
        "kind": row["kind"],
        "cause": row["cause"],
        "supplier": row["supplier_id"],
        "supplier_name": row["supplier_name"],
        "from_location": row["from_location"],
        "quantity": row["quantity"],
        "unit_cost": str(row["unit_cost"]),
        "currency": row["currency"],
        "expected_cost": str(Decimal(row["expected_cost"]).quantize(CENT)),
        "expected_short": round(float(row["expected_short"]), 3),
        "need_by": _day(row["need_by"]),
        "order_by": _day(row["order_by"]),
        "arrive_on": _day(row["arrive_on"]),
        "arrive_p90": _day(row["arrive_p90"]),
        "reasons": list(row["reasons"]),
        "facts": row["facts"],
        "computed_at": row["computed_at"].isoformat(),
        "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        "decided_by": row["decided_by"],
        "note": row["note"],
        "po": row["po"],
        "transfer_id": row["transfer_id"],
    }


def _after(cursor: str) -> ColumnElement[bool]:
    """Past the cursor `YYYY-MM-DD.ID` (need date, id) a page ended on."""
    day, _, ident = cursor.partition(".")
    try:
        need_by, after = date.fromisoformat(day), int(ident)
    except ValueError:
        raise InvalidRequest(f"{cursor!r} is not a cursor this list gave") from None
    return or_(R.need_by > need_by, and_(R.need_by == need_by, R.id > after))


@dataclass(frozen=True)
class Wanted:
    """Which recommendations a list shows: a state, some SKUs (None: all), a location's code
    ("network" for the network's own lines; None: anywhere)."""

    state: str = "proposed"
    skus: Sequence[str] | None = None
    location: str | None = None


def listing(
    app: Backorder,
    wanted: Wanted | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The recommendations `wanted` names (default: every proposed one), soonest need first,
    a page at a time."""
    wanted = wanted or Wanted()
    state, skus, location = wanted.state, wanted.skus, wanted.location
    if state not in RECOMMENDATION_STATES:
        raise InvalidRequest(f"state is one of {', '.join(RECOMMENDATION_STATES)} (not {state!r})")
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, not {size}")
    where: list[ColumnElement[bool]] = [R.state == state]
    if skus is not None:
        where.append(products.c.sku.in_(sorted(set(skus))))
    if cursor:
        where.append(_after(cursor))
    with app.db.read() as uow:
        conn = uow.connection
        if location == "network":
            where.append(R.location_id.is_(None))
        elif location is not None:
            found = conn.execute(select(locations.c.id).where(locations.c.code == location))
            location_id = found.scalar()
            if location_id is None:
                raise UnknownLocation(location)
            where.append(R.location_id == location_id)
        rows = (
            conn.execute(SELECT.where(*where).order_by(R.need_by, R.id).limit(size + 1))
            .mappings()
            .all()
        )
    items = [view_of(row) for row in rows[:size]]
    last = items[-1] if items else None
    more = len(rows) > size and last is not None
    return {
        "items": items,
        "next_cursor": f"{last['need_by']}.{last['id']}" if more and last else None,
    }


def one(app: Backorder, recommendation: int) -> dict[str, Any]:
    with app.db.read() as uow:
        row = uow.connection.execute(SELECT.where(R.id == recommendation)).mappings().first()
    if row is None:
        raise UnknownRecommendation(recommendation)
    return view_of(row)
