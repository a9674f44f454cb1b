"""Reading and writing inbound supply: suppliers, purchase orders and their lines, and the
outlook of a SKU that the expected-date walk needs (purchase orders and transfers, each
with the location it arrives at)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Integer,
    RowMapping,
    Select,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    text,
    union_all,
)

from backorder.domain.network_supply import Waiter
from backorder.domain.supply import Inbound, Outlook, on_time_percent
from backorder.store.repos import QUEUE_ORDER, ProductRow
from backorder.store.tables import (
    locations,
    order_lines,
    orders,
    po_lines,
    product_suppliers,
    products,
    purchase_orders,
    suppliers,
    transfers,
)

OUTSTANDING = po_lines.c.ordered - po_lines.c.received - po_lines.c.cancelled
IS_OPEN = po_lines.c.received + po_lines.c.cancelled < po_lines.c.ordered
# A purchase order awaiting approval (a draft) is not inbound supply: it dates no customer.
APPROVED = purchase_orders.c.approval == "approved"
# in the words of the partial index ix_transfers_open (constants, not parameters), so that
# both planners use it: closed transfers pile up, open ones are few
TRANSFER_OPEN = text("transfers.state IN ('planned', 'shipped')")


def supplier_rows(conn: Connection, ids: Iterable[str]) -> dict[str, RowMapping]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = conn.execute(select(suppliers).where(suppliers.c.id.in_(wanted))).mappings()
    return {row["id"]: row for row in rows}


def supplied_by(conn: Connection, product_ids: Iterable[int]) -> dict[int, RowMapping]:
    """Per product with a supplier: that supplier's row and its terms' lead time for the
    product (`terms_lead_time_days`, None without terms): one query."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    ps = product_suppliers.c
    query = (
        select(
            products.c.id.label("product_id"),
            suppliers,
            ps.lead_time_days.label("terms_lead_time_days"),
        )
        .join(suppliers, suppliers.c.id == products.c.supplier_id)
        .outerjoin(
            product_suppliers,
            (ps.product_id == products.c.id) & (ps.supplier_id == products.c.supplier_id),
        )
        .where(products.c.id.in_(wanted))
    )
    return {row["product_id"]: row for row in conn.execute(query).mappings()}


def stated_lead(own: int | None, supplier: RowMapping | None) -> int | None:
    """A SKU's stated lead time: its own when set, else its preferred supplier's terms for
    it, else that supplier's default; None when stated nowhere."""
    if own is not None:
        return own
    if supplier is None:
        return None
    terms = supplier["terms_lead_time_days"]
    return int(terms if terms is not None else supplier["lead_time_days"])


def outlooks(conn: Connection, rows: Iterable[ProductRow], today: date) -> dict[int, Outlook]:
    """Per product id: its open inbound supply, soonest first, its stated lead time and its
    supplier's on-time record."""
    rows = list(rows)
    if not rows:
        return {}
    inbound = inbound_supply(conn, [row.id for row in rows])
    known = supplied_by(conn, (row.id for row in rows if row.product.supplier))
    result = {}
    for row in rows:
        supplier = known.get(row.id)
        lead = stated_lead(row.product.lead_time_days, supplier)
        record = (
            on_time_percent(supplier["orders_completed"], supplier["orders_on_time"])
            if supplier is not None
            else None
        )
        result[row.id] = Outlook(today, tuple(inbound[row.id]), lead, record)
    return result


def _inbound_query() -> Any:
    """Open purchase-order lines and open transfers of some products (`ids`), soonest
    first: one statement, built once."""
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    none = cast(null(), Integer)
    pos = (
        select(
            po_lines.c.product_id,
            po_lines.c.expected_on,
            literal(0).label("kind"),
            po_lines.c.id.label("seq"),
            purchase_orders.c.ref,
            purchase_orders.c.location_id,
            OUTSTANDING.label("units"),
            none.label("transfer"),
            none.label("source"),
        )
        .select_from(po_lines.join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id))
        .where(po_lines.c.product_id.in_(ids), IS_OPEN, APPROVED)
    )
    moving = select(
        transfers.c.product_id,
        transfers.c.expected_on,
        literal(1).label("kind"),
        transfers.c.id.label("seq"),
        literal("").label("ref"),
        transfers.c.to_location_id.label("location_id"),
        (transfers.c.quantity - transfers.c.received).label("units"),
        transfers.c.id.label("transfer"),
        # a transfer not yet shipped: its units still sit at its source
        case((transfers.c.state == "planned", transfers.c.from_location_id)).label("source"),
    ).where(transfers.c.product_id.in_(ids), TRANSFER_OPEN)
    both = union_all(pos, moving).subquery()
    return select(both).order_by(both.c.product_id, both.c.expected_on, both.c.kind, both.c.seq)


_INBOUND = _inbound_query()


def inbound_supply(conn: Connection, product_ids: list[int]) -> dict[int, list[Inbound]]:
    """Per product id: what its open purchase orders and open transfers are still to
    deliver, where and when, soonest first (purchase orders before transfers on a day).
    One round trip for both."""
    inbound: dict[int, list[Inbound]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return inbound
    for row in conn.execute(_INBOUND, {"ids": list(product_ids)}).mappings():
        inbound[row["product_id"]].append(
            Inbound(
                row["ref"],
                row["expected_on"],
                int(row["units"]),
                row["location_id"],
                transfer=row["transfer"],
                source=row["source"],
            )
        )
    return inbound


# a purchase order's row with the code of the location it arrives at
PO_LOCATION = (
    select(locations.c.code)
    .where(locations.c.id == purchase_orders.c.location_id)
    .scalar_subquery()
    .label("location")
)


def po_select() -> Select[Any]:
    return select(purchase_orders, PO_LOCATION)


def waiting_lines(conn: Connection, product_id: int) -> list[Waiter]:
    """The SKU's whole queue in rank order, each line with the country it ships to."""
    query = (
        select(order_lines.c.id, order_lines.c.backordered, orders.c.ship_country)
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(order_lines.c.product_id == product_id, order_lines.c.backordered > 0)
        .order_by(*QUEUE_ORDER)
    )
    return [Waiter(int(i), int(units), country) for i, units, country in conn.execute(query)]


def po_row(conn: Connection, ref: str, lock: bool = False) -> RowMapping | None:
    query = po_select().where(purchase_orders.c.ref == ref)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def po_line_rows(conn: Connection, po_id: int) -> list[dict[str, Any]]:
    query = (
        select(po_lines, products.c.sku)
        .select_from(po_lines.join(products, products.c.id == po_lines.c.product_id))
        .where(po_lines.c.po_id == po_id)
        .order_by(po_lines.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def record_supplier(
    conn: Connection, product_id: int, supplier_id: str | None, now: datetime
) -> None:
    """The SKU's (preferred) supplier is one of its suppliers: give it a terms row when it
    has none (cost unknown; the lead time the SKU already uses: its own, else the
    supplier's)."""
    if supplier_id is None:
        return
    exists = conn.execute(
        select(product_suppliers.c.product_id).where(
            product_suppliers.c.product_id == product_id,
            product_suppliers.c.supplier_id == supplier_id,
        )
    ).first()
    if exists is not None:
        return
    lead = conn.execute(
        select(func.coalesce(products.c.lead_time_days, suppliers.c.lead_time_days))
        .select_from(products.join(suppliers, suppliers.c.id == supplier_id))
        .where(products.c.id == product_id)
    ).scalar_one()
    conn.execute(
        insert(product_suppliers).values(
            product_id=product_id,
            supplier_id=supplier_id,
            cost=None,
            lead_time_days=lead,
            created_at=now,
            updated_at=now,
        )
    )
