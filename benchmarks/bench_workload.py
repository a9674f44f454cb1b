"""The benchmark's workload, the same for the engine and for the raw-driver floor: a
catalogue of SKUs, canonical orders of three lines, the stock that leaves about a third
of the ordered lines backordered, and the rows of a deep queue seeded in bulk."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Preference,
    Product,
    ShippingMethod,
    Tier,
)

SKU_COUNT = 30
LINES_PER_ORDER = 3
CUSTOMERS = 2_000
LEAD_TIME_DAYS = 21
CHANNEL = "bench"
DEEP_CHANNEL = "bench-deep"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SEED = 20_260_105

# Columns of the bulk-seeded deep queues, in the order the row tuples carry them.
ORDER_COLUMNS = (
    "id", "channel", "external_id", "placed_at", "received_at", "customer_id",
    "customer_name", "customer_email", "customer_phone", "customer_tier", "currency",
    "shipping_method", "shipping_preference", "payment_timing", "expedite",
)
LINE_COLUMNS = (
    "id", "order_id", "line_no", "product_id", "quantity", "allocated", "backordered",
    "shipped", "cancelled", "unit_price", "placed_at", "base_class", "rank_class",
    "climbs_at", "eta",
)


def catalogue() -> list[Product]:
    """FIFO SKUs that allow backorders, with a supplier lead time so waiting lines get an ETA."""
    return [
        Product(
            sku=f"BENCH-{number:03d}",
            name=f"Benchmark item {number}",
            unit_price=Decimal(f"{5 + number}.99"),
            lead_time_days=LEAD_TIME_DAYS,
        )
        for number in range(SKU_COUNT)
    ]


def make_orders(count: int, skus: Sequence[str], seed: int = SEED) -> list[OrderRequest]:
    """`count` orders of three distinct SKUs, 1-3 units a line, half the lines priced by
    the channel, placed one second apart."""
    rng = random.Random(seed)
    tiers = (Tier.STANDARD,) * 8 + (Tier.VIP, Tier.WHOLESALE)
    requests: list[OrderRequest] = []
    for number in range(1, count + 1):
        picked = rng.sample(list(skus), LINES_PER_ORDER)
        lines = tuple(
            LineRequest(
                sku,
                rng.randint(1, 3),
                None if rng.random() < 0.5 else Decimal(rng.randint(100, 5_000)) / 100,
            )
            for sku in picked
        )
        who = rng.randrange(CUSTOMERS)
        customer = Customer(
            id=f"cust-{who}", name=f"Customer {who}", email=f"customer{who}@example.com",
            phone=None if who % 3 else f"+1555{who:07d}", tier=rng.choice(tiers),
        )
        terms = OrderTerms(
            shipping_method=ShippingMethod.EXPEDITED if number % 7 == 0
            else ShippingMethod.STANDARD,
            preference=Preference.SHIP_COMPLETE if number % 5 == 0
            else Preference.SHIP_AVAILABLE,
            payment_timing=PaymentTiming.AT_SHIP if number % 4 == 0 else PaymentTiming.AT_ORDER,
        )
        requests.append(
            OrderRequest(
                channel=CHANNEL, external_id=str(number),
                placed_at=START + timedelta(seconds=number), customer=customer,
                currency="USD", terms=terms, lines=lines,
            )
        )
    return requests


def stock_plan(requests: Sequence[OrderRequest]) -> dict[str, int]:
    """Each SKU is stocked with two thirds of the units ordered of it: the lines placed
    before it runs out are allocated, those after wait, about a third of them."""
    demand: Counter[str] = Counter()
    for request in requests:
        for line in request.lines:
            demand[line.sku] += line.quantity
    return {sku: units * 2 // 3 for sku, units in sorted(demand.items())}


def deep_quantity(position: int) -> int:
    """Units waiting on the deep-queue line at this 0-based position: 1, 2, 3, 1, 2, ..."""
    return 1 + position % 3


def receipt_units(first_position: int, lines: int) -> int:
    """Units that serve exactly `lines` whole lines from `first_position` on."""
    return sum(deep_quantity(p) for p in range(first_position, first_position + lines))


@dataclass(frozen=True)
class DeepBatch:
    """Rows for positions [first_position, first_position + count) of one SKU's queue."""

    sku_tag: str
    product_id: int
    unit_price_money: int  # 1/10,000 of the currency unit, as the Money column stores it
    first_position: int
    count: int
    first_order_id: int
    first_line_id: int


def deep_rows(
    batch: DeepBatch, ts: Callable[[datetime], Any]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Order rows and line rows of a deep queue, valid under the schema's constraints
    (quantity = backordered, nothing allocated, class 0, order time increasing)."""
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    for offset in range(batch.count):
        position = batch.first_position + offset
        order_id, line_id = batch.first_order_id + offset, batch.first_line_id + offset
        placed = ts(START + timedelta(days=-400, milliseconds=position))
        who = position % CUSTOMERS
        order_rows.append(
            (order_id, DEEP_CHANNEL, f"{batch.sku_tag}-{position}", placed, placed,
             f"cust-{who}", f"Customer {who}", f"customer{who}@example.com", None,
             Tier.STANDARD.value, "USD", ShippingMethod.STANDARD.value,
             Preference.SHIP_AVAILABLE.value, PaymentTiming.AT_ORDER.value, False)
        )
        units = deep_quantity(position)
        line_rows.append(
            (line_id, order_id, 1, batch.product_id, units, 0, units, 0, 0,
             batch.unit_price_money, placed, 0, 0, None, None)
        )
    return order_rows, line_rows
