"""The floor: the same rows the engine writes, written by hand with the raw driver.

Straightforward driver code, not the theoretical minimum: one transaction per order or
receipt, the product rows locked first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
SQLite), one statement per table with executemany for the repeated rows, events with
the same content the engine writes. It skips what a real product must do and the engine
does (policy checks, caps, ranking rules, idempotency answers), so it is a floor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bench_drivers import RawDb

from backorder.domain.model import OrderRequest

MONEY_SCALE = 10_000
INTAKE_RULE = "in stock at intake"
FIFO_RULE = "first come, first served (order time)"

INSERT_ORDER = (
    "INSERT INTO orders (channel, external_id, placed_at, received_at, customer_id, "
    "customer_name, customer_email, customer_phone, customer_tier, currency, shipping_method, "
    "shipping_preference, payment_timing, expedite) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
)
LINE_VALUES = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
INSERT_LINES = (
    "INSERT INTO order_lines (order_id, line_no, product_id, quantity, allocated, backordered, "
    "shipped, cancelled, unit_price, placed_at, base_class, rank_class, climbs_at, eta) "
    "VALUES {} RETURNING id, line_no"
)
SAVE_STOCK = "UPDATE products SET allocated = %s, backordered = %s, updated_at = %s WHERE id = %s"
INSERT_ALLOCATION = (
    "INSERT INTO allocations (line_id, units, allocated_at, source, ref, position, rank_class, "
    "rule) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
INSERT_EVENT = (
    "INSERT INTO events (type, occurred_at, order_ref, sku, payload) VALUES (%s, %s, %s, %s, %s)"
)
LOCK_PRODUCT = "SELECT on_hand, allocated, backordered FROM products WHERE id = %s"
QUEUE_HEAD = (
    "SELECT l.id, l.line_no, l.backordered, l.unit_price, l.rank_class, l.placed_at, "
    "o.channel, o.external_id, o.customer_id, o.customer_name, o.customer_email, "
    "o.customer_phone, o.customer_tier, o.currency, o.shipping_method, "
    "o.shipping_preference, o.payment_timing, o.expedite "
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "WHERE l.product_id = %s AND l.backordered > 0 "
    "ORDER BY l.rank_class, l.placed_at, l.id LIMIT %s"
)
SERVE_LINE = "UPDATE order_lines SET allocated = allocated + %s, backordered = %s WHERE id = %s"
INSERT_MOVEMENT = (
    "INSERT INTO stock_movements (product_id, kind, units, on_hand_after, ref, moved_at) "
    "VALUES (%s, 'receipt', %s, %s, %s, %s)"
)
# Stock per location (one location here, `main`): the raw equivalent of what the engine
# keeps beside the product's sums, and what each line holds there.
SAVE_LEVEL = (
    "INSERT INTO stock_levels (product_id, location_id, on_hand, allocated) "
    "VALUES (%s, (SELECT id FROM locations WHERE code = 'main'), %s, %s) "
    "ON CONFLICT (product_id, location_id) DO UPDATE "
    "SET on_hand = excluded.on_hand, allocated = excluded.allocated"
)
HOLD_AT_MAIN = (
    "INSERT INTO line_holdings (line_id, location_id, allocated) "
    "VALUES (%s, (SELECT id FROM locations WHERE code = 'main'), %s) "
    "ON CONFLICT (line_id, location_id) DO UPDATE "
    "SET allocated = line_holdings.allocated + excluded.allocated"
)
SAVE_RECEIPT = (
    "UPDATE products SET on_hand = %s, allocated = %s, backordered = %s, updated_at = %s "
    "WHERE id = %s"
)


def money_text(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def lock_products(count: int) -> str:
    marks = ", ".join(["%s"] * count)
    return (
        "SELECT sku, id, unit_price, lead_time_days, on_hand, allocated, backordered "
        f"FROM products WHERE sku IN ({marks}) ORDER BY sku"
    )


def _order_header(request: OrderRequest) -> dict[str, Any]:
    customer, terms = request.customer, request.terms
    return {
        "order_ref": request.ref,
        "customer": {"id": customer.id, "name": customer.name, "email": customer.email,
                     "phone": customer.phone, "tier": customer.tier.value},
        "currency": request.currency,
        "payment_timing": terms.payment_timing.value,
        "shipping_method": terms.shipping_method.value,
        "shipping_preference": terms.preference.value,
        "expedite": terms.expedite,
    }


def place_order(db: RawDb, request: OrderRequest, now: datetime) -> int:
    """Take one order in; returns the number of events written (0 for a duplicate)."""
    skus = sorted({line.sku for line in request.lines})
    db.begin()
    stock = {
        row[0]: list(row[1:])  # id, price, lead time, on hand, allocated, backordered
        for row in db.rows(lock_products(len(skus)) + db.for_update, skus)
    }
    customer, terms = request.customer, request.terms
    placed, stamp = db.ts(request.placed_at), db.ts(now)
    created = db.rows(INSERT_ORDER, (
        request.channel, request.external_id, placed, stamp, customer.id, customer.name,
        customer.email, customer.phone, customer.tier.value, request.currency,
        terms.shipping_method.value, terms.preference.value, terms.payment_timing.value,
        terms.expedite,
    ))
    if not created:
        db.rollback()
        return 0
    order_id = created[0][0]
    was_available = {sku: row[3] - row[4] for sku, row in stock.items()}
    params: list[Any] = []
    split: list[tuple[int, int, Decimal, Any]] = []
    for number, line in enumerate(request.lines, start=1):
        row = stock[line.sku]
        allocate = min(line.quantity, max(0, row[3] - row[4]))
        backorder = line.quantity - allocate
        row[4] += allocate
        row[5] += backorder
        price = line.unit_price if line.unit_price is not None else (
            Decimal(row[1]) / MONEY_SCALE)
        eta = (now + timedelta(days=row[2])).date() if backorder and row[2] is not None else None
        split.append((allocate, backorder, price, eta))
        params.extend((order_id, number, row[0], line.quantity, allocate, backorder, 0, 0,
                       int(price * MONEY_SCALE), placed, 0, 0, None, db.day(eta)))
    values = ", ".join([LINE_VALUES] * len(request.lines))
    line_ids = {number: line_id for line_id, number in db.rows(INSERT_LINES.format(values),
                                                                 params)}

    header = _order_header(request)
    summaries: list[dict[str, Any]] = []
    allocations: list[tuple[Any, ...]] = []
    facts: list[dict[str, Any]] = []
    total = waiting = Decimal(0)
    for number, (line, (allocate, backorder, price, eta)) in enumerate(
        zip(request.lines, split, strict=True), start=1
    ):
        eta_text = eta.isoformat() if eta else None
        total += price * line.quantity
        waiting += price * backorder
        summaries.append({"line": number, "sku": line.sku, "quantity": line.quantity,
                          "allocated": allocate, "backordered": backorder, "cancelled": 0,
                          "unit_price": money_text(price), "eta": eta_text})
        if allocate:
            allocations.append((line_ids[number], allocate, stamp, "intake", None, None, 0,
                                INTAKE_RULE))
            facts.append({"type": "units_allocated", **header, "sku": line.sku, "line": number,
                          "units": allocate, "still_backordered": backorder,
                          "unit_price": money_text(price), "value": money_text(price * allocate),
                          "source": "intake", "ref": None,
                          "why": {"position": None, "strategy": "fifo", "rule": INTAKE_RULE,
                                  "source": "intake"}})
        if backorder:
            facts.append({"type": "line_backordered", **header, "sku": line.sku,
                          "line": number, "quantity": line.quantity, "backordered": backorder,
                          "unit_price": money_text(price), "value": money_text(price * backorder),
                          "eta": eta_text, "rule": FIFO_RULE})
    accepted = {"type": "order_accepted", **header, "placed_at": request.placed_at.isoformat(),
                "lines": summaries, "total_value": money_text(total),
                "backordered_value": money_text(waiting)}
    out_of_stock = [
        {"type": "sku_out_of_stock", "sku": sku, "on_hand": row[3], "allocated": row[4],
         "backordered": row[5]}
        for sku, row in sorted(stock.items())
        if was_available[sku] > 0 and row[3] - row[4] <= 0
    ]
    db.run_many(SAVE_STOCK, [(row[4], row[5], stamp, row[0]) for row in stock.values()])
    if allocations:
        db.run_many(INSERT_ALLOCATION, allocations)
    events = [
        (fact["type"], stamp, fact.get("order_ref"), fact.get("sku"), db.json(fact))
        for fact in (accepted, *facts, *out_of_stock)
    ]
    db.run_many(INSERT_EVENT, events)
    db.commit()
    return len(events)


def _line_header(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "order_ref": f"{row[6]}:{row[7]}",
        "customer": {"id": row[8], "name": row[9], "email": row[10], "phone": row[11],
                     "tier": row[12]},
        "currency": row[13],
        "payment_timing": row[16],
        "shipping_method": row[14],
        "shipping_preference": row[15],
        "expedite": bool(row[17]),
    }


def receive_stock(db: RawDb, product: tuple[int, str], units: int, lines: int,
                  now: datetime) -> int:
    """Stock arrives for one SKU: serve up to `lines` head lines of its queue in one
    transaction. Returns the number of lines served."""
    product_id, sku = product
    ref = f"raw-{now.timestamp()}"
    stamp = db.ts(now)
    db.begin()
    on_hand, allocated, backordered = db.rows(LOCK_PRODUCT + db.for_update, (product_id,))[0]
    on_hand += units
    head = db.rows(QUEUE_HEAD, (product_id, lines))
    served: list[tuple[Any, ...]] = []
    allocations: list[tuple[Any, ...]] = []
    facts: list[dict[str, Any]] = []
    for position, row in enumerate(head, start=1):
        available = on_hand - allocated
        if available <= 0:
            break
        give = min(available, row[2])
        allocated += give
        backordered -= give
        price = Decimal(row[3]) / MONEY_SCALE
        served.append((give, row[2] - give, row[0]))
        allocations.append((row[0], give, stamp, "receipt", ref, position, row[4], FIFO_RULE))
        placed = row[5] if isinstance(row[5], str) else row[5].isoformat()
        facts.append({"type": "units_allocated", **_line_header(row), "sku": sku,
                      "line": row[1], "units": give, "still_backordered": row[2] - give,
                      "unit_price": money_text(price), "value": money_text(price * give),
                      "source": "receipt", "ref": ref,
                      "why": {"position": position, "strategy": "fifo", "rank_class": row[4],
                              "rule": FIFO_RULE, "placed_at": placed, "source": "receipt"}})
    db.run_many(SERVE_LINE, served)
    db.run_many(INSERT_ALLOCATION, allocations)
    db.rows(INSERT_MOVEMENT, (product_id, units, on_hand, ref, stamp))
    db.rows(SAVE_RECEIPT, (on_hand, allocated, backordered, stamp, product_id))
    db.rows(SAVE_LEVEL, (product_id, on_hand, allocated))
    db.run_many(HOLD_AT_MAIN, [(line_id, give) for give, _, line_id in served])
    received = {"type": "stock_received", "sku": sku, "units": units, "ref": ref,
                "on_hand": on_hand, "allocated": allocated, "available": on_hand - allocated,
                "lines_served": len(served), "units_allocated": sum(s[0] for s in served),
                "still_backordered": backordered}
    db.run_many(INSERT_EVENT, [
        (fact["type"], stamp, fact.get("order_ref"), fact.get("sku"), db.json(fact))
        for fact in (received, *facts)
    ])
    db.commit()
    return len(served)
