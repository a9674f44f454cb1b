"""A crafted history for the simulator's tests: four weeks of a small shop, every step a real
use case at its moment (deterministic for a seed)."""

from __future__ import annotations

import random
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backorder.domain.errors import BackorderError
from backorder.domain.model import OrderTerms, Preference, Tier
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.product_suppliers import SupplierTerms, add_terms
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import (
    PoLineIn,
    SupplierIn,
    add_purchase_order,
    add_supplier,
    redate_purchase_order,
)
from backorder.store.tables import order_lines, orders, products
from tests.conftest import Clock
from tests.factories import order, product

START = date(2026, 2, 1)
END = date(2026, 3, 1)
DAYS = 28


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    first = datetime(START.year, START.month, START.day, hour, minute, tzinfo=UTC)
    return first + timedelta(days=day)


def build(app: Backorder, clock: Clock, seed: int = 7) -> None:
    """Two SKUs from one supplier (lead 7 days), stock for a few days, two orders a day
    (a quarter VIP, a fifth ship-complete), a purchase order every week, a customer cancel
    now and then, the afternoon ship run, one re-dated purchase order and one count."""
    rng = random.Random(seed)
    clock.current = moment(0, 8)
    add_supplier(app, SupplierIn("ACME", "Acme Supply", 7))
    for sku, price, cost in (("A", "10.00", "6.00"), ("B", "20.00", "12.00")):
        add_product(app, product(sku, unit_price=Decimal(price), lead_time_days=7))
        add_terms(app, sku, SupplierTerms("ACME", Decimal(cost), 7), preferred=True)
    set_stock(app, "A", 6, "opening count")
    set_stock(app, "B", 3, "opening count")
    serial = 0
    for day in range(DAYS):
        if day % 7 == 2:
            clock.current = moment(day, 9)
            expected = (moment(day, 9) + timedelta(days=7)).date()
            lines = [PoLineIn("A", 12, expected), PoLineIn("B", 6, expected)]
            add_purchase_order(app, f"PO-{day}", "ACME", lines)
        if day == 8:  # the supplier says PO-2's A comes a day late
            clock.current = moment(day, 8)
            redate_purchase_order(app, "PO-2", "A", moment(10, 9).date())
        if day in (9, 10, 16, 23):
            _arrive(app, clock, day)
        for hour in (10, 14):
            serial += 1
            clock.current = moment(day, hour)
            _place(app, rng, f"W{serial}", clock.current)
        if day % 5 == 3:
            clock.current = moment(day, 15)
            _cancel_one(app, rng)
        if day == 15:
            clock.current = moment(day, 15, 30)
            set_stock(app, "A", max(0, _on_hand(app, "A") - 1), "cycle count")
        clock.current = moment(day, 16)
        _ship_run(app)


def _arrive(app: Backorder, clock: Clock, day: int) -> None:
    """What the purchase order placed a week before brings (PO-2's A a day late)."""
    clock.current = moment(day, 9)
    if day == 10:
        receive_stock(app, "A", 12, "PO-2")
        return
    ref = f"PO-{day - 7}"
    if day != 9:
        receive_stock(app, "A", 12, ref)
    receive_stock(app, "B", 6, ref)


def _place(app: Backorder, rng: random.Random, external_id: str, now: datetime) -> None:
    sku = rng.choice(("A", "A", "B"))
    lines = [(sku, rng.choice((1, 1, 2, 3)))]
    if rng.random() < 0.3:
        lines.append(("B" if sku == "A" else "A", 1))
    preference = Preference.SHIP_COMPLETE if rng.random() < 0.2 else Preference.SHIP_AVAILABLE
    tier = Tier.VIP if rng.random() < 0.25 else Tier.STANDARD
    request = order(
        external_id, *lines, placed_at=now, tier=tier, terms=OrderTerms(preference=preference)
    )
    place_order(app, request)


def _cancel_one(app: Backorder, rng: random.Random) -> None:
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(orders.c.external_id, order_lines.c.line_no)
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .where(order_lines.c.backordered > 0)
            .order_by(order_lines.c.id)
        ).all()
    if rows:
        external_id, line_no = rng.choice(rows)
        cancel_order(app, f"web:{external_id}", line_no, reason="found elsewhere")


def _ship_run(app: Backorder) -> None:
    with app.db.read() as uow:
        refs = uow.connection.execute(
            select(orders.c.external_id)
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .group_by(orders.c.id, orders.c.external_id)
            .having(func.sum(order_lines.c.allocated) > 0)
            .order_by(orders.c.id)
        ).all()
    for (external_id,) in refs:
        with suppress(BackorderError):  # a ship-complete order that still waits
            ship_order(app, f"web:{external_id}")


def _on_hand(app: Backorder, sku: str) -> int:
    with app.db.read() as uow:
        return int(
            uow.connection.execute(
                select(products.c.on_hand).where(products.c.sku == sku)
            ).scalar_one()
        )
