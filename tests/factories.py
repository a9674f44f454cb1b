"""Builders for test data, so each test states only what its rule is about."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    Policy,
    Product,
    QueueStrategy,
    ShippingMethod,
    Tier,
)


def product(sku: str = "WIDGET-BLUE", **fields: object) -> Product:
    values: dict[str, object] = {
        "name": sku.title(),
        "unit_price": Decimal("19.99"),
        "policy": Policy.ALLOW,
        "queue": QueueStrategy.FIFO,
    }
    values.update(fields)
    return Product(sku=sku, **values)  # type: ignore[arg-type]


def jan(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 1, day, hour, 0, tzinfo=UTC)


def order(
    external_id: str,
    *lines: tuple[str, int],
    placed_at: datetime | None = None,
    customer: str | None = None,
    tier: Tier = Tier.STANDARD,
    terms: OrderTerms | None = None,
    channel: str = "web",
    phone: str | None = None,
    sms_consent: bool = False,
) -> OrderRequest:
    return OrderRequest(
        channel=channel,
        external_id=external_id,
        placed_at=placed_at or jan(5),
        customer=Customer(
            id=customer or f"c-{external_id}",
            name=f"Customer {external_id}",
            email=f"{external_id}@example.com",
            phone=phone,
            tier=tier,
            sms_consent=sms_consent,
        ),
        currency="USD",
        terms=terms or OrderTerms(),
        lines=tuple(LineRequest(sku, qty) for sku, qty in lines),
    )


def expedited() -> OrderTerms:
    return OrderTerms(shipping_method=ShippingMethod.EXPEDITED)
