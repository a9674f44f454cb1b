"""What the dashboard's replenishment page shows: the proposed recommendations (with the
suppliers each SKU could be ordered from instead) and the draft purchase orders awaiting
approval. Read with a few queries of its own."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from backorder.services.context import Backorder
from backorder.services.po_approval import summary
from backorder.store.tables import (
    locations,
    product_suppliers,
    products,
    purchase_orders,
    recommendations,
    suppliers,
)

MAX_SHOWN = 200


def board(app: Backorder) -> dict[str, Any]:
    rec = recommendations.c
    where = locations.alias("at")
    source = locations.alias("source")
    query = (
        select(
            rec.id,
            rec.kind,
            rec.product_id,
            products.c.sku,
            products.c.name,
            where.c.code.label("location"),
            source.c.code.label("from_location"),
            rec.supplier_id,
            suppliers.c.name.label("supplier_name"),
            rec.quantity,
            rec.unit_cost,
            rec.currency,
            rec.need_by,
            rec.arrive_on,
            rec.expected_short,
            rec.expected_cost,
            rec.reasons,
        )
        .join(products, products.c.id == rec.product_id)
        .outerjoin(where, where.c.id == rec.location_id)
        .outerjoin(source, source.c.id == rec.from_location_id)
        .outerjoin(suppliers, suppliers.c.id == rec.supplier_id)
        .where(rec.state == "proposed")
        .order_by(rec.need_by, rec.id)
        .limit(MAX_SHOWN)
    )
    with app.db.read() as uow:
        conn = uow.connection
        rows = [dict(row) for row in conn.execute(query).mappings()]
        choices: dict[int, list[tuple[str, str]]] = defaultdict(list)
        terms = (
            select(product_suppliers.c.product_id, suppliers.c.id, suppliers.c.name)
            .join(suppliers, suppliers.c.id == product_suppliers.c.supplier_id)
            .where(product_suppliers.c.product_id.in_({row["product_id"] for row in rows}))
            .order_by(suppliers.c.id)
        )
        for product_id, supplier_id, name in conn.execute(terms):
            choices[product_id].append((supplier_id, name))
        refs = conn.execute(
            select(purchase_orders.c.ref)
            .where(purchase_orders.c.approval == "pending", purchase_orders.c.state == "open")
            .order_by(purchase_orders.c.id)
            .limit(MAX_SHOWN)
        ).scalars()
        drafts = [summary(conn, ref) for ref in refs]
    for row in rows:
        row["suppliers"] = choices.get(row["product_id"], [])
        row["cost"] = row["quantity"] * row["unit_cost"]
    return {"recommendations": rows, "drafts": drafts}
