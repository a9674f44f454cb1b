"""The demo looks ahead: it brings in the store's sales from before it opened, forecasts
every SKU, plans safety stock and projected stock, lists the coming shortages, and plans
the restock orders that prevent them (with the store's buying prices, and a second supplier
for the outdoor and kitchen ranges). The forecasts need the `forecast` extra; without it
the demo says how to add them."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select, update

from backorder import foresight
from backorder.demo.history import history_file
from backorder.demo.purchasing import LEAD, supplier_of
from backorder.services.context import Backorder
from backorder.services.demand import import_history
from backorder.services.forecasts import recompute
from backorder.services.foresight_plan import refresh
from backorder.services.replenishment import plan as replenish
from backorder.services.replenishment.views import listing
from backorder.services.shortages import shortages
from backorder.store.tables import product_suppliers, products

WEEKS_AHEAD = 8
SHOWN = 5  # recommendations printed
COST = Decimal("0.55")  # what the store pays its usual supplier, as a share of the price
CENT = Decimal("0.01")
# A second supplier for a range: who, at what price against the usual one, how many days.
SECOND = {"CASCADE": ("TRAILSIDE", Decimal("1.06"), 6), "HEARTH": ("BREWLINE", Decimal("1.04"), 5)}


def buying_prices(app: Backorder) -> None:
    """The store's buying terms: each SKU's usual supplier at 55 % of its price, and a
    quicker, dearer second supplier for the outdoor and kitchen ranges (one transaction)."""
    with app.db.write() as uow:
        conn = uow.connection
        now = app.now()
        rows = conn.execute(select(products.c.id, products.c.sku, products.c.unit_price)).all()
        for product_id, sku, price in rows:
            usual = supplier_of(sku)
            cost = (price * COST).quantize(CENT, rounding=ROUND_HALF_UP)
            conn.execute(
                update(product_suppliers)
                .where(
                    product_suppliers.c.product_id == product_id,
                    product_suppliers.c.supplier_id == usual,
                )
                .values(cost=cost, updated_at=now)
            )
            if usual in SECOND:
                other, dearer, days = SECOND[usual]
                conn.execute(
                    insert(product_suppliers).values(
                        product_id=product_id,
                        supplier_id=other,
                        cost=(cost * dearer).quantize(CENT, rounding=ROUND_HALF_UP),
                        lead_time_days=min(days, LEAD[other]),
                        created_at=now,
                        updated_at=now,
                    )
                )
        uow.commit()


def look_ahead(app: Backorder, rng: random.Random, opening: date) -> dict[str, Any]:
    """Import the year of weekly sales before `opening`, then (with the extra) forecast,
    plan, list the shortages coming within eight weeks and the restock orders proposed;
    what it found, for the summary."""
    imported = import_history(app, history_file(rng, opening))
    found: dict[str, Any] = {"imported": imported, "available": foresight.available()}
    if not found["available"]:
        return found
    found["forecasts"] = recompute(app)
    found["plan"] = refresh(app)
    found["shortages"] = shortages(app, WEEKS_AHEAD, limit=10)
    buying_prices(app)
    found["replenished"] = replenish(app)
    found["recommendations"] = listing(app, limit=SHOWN)["items"]
    return found
