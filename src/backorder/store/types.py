"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = Decimal("10000")


def keepable(text: str) -> str:
    """Text every database keeps, for what the service writes of its own (reasons, ids read
    from a payload): a NUL, which PostgreSQL refuses, or a lone surrogate, which no UTF-8
    holds, is written as its escape (\\u0000, \\udXXX)."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def tidy_money(amount: Decimal) -> Decimal:
    """Two decimal places where that is exact (19.99), else as many as needed (0.0125)."""
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.normalize()


class Money(TypeDecorator[Decimal]):
    """Exact money: stored as an integer count of 1/10,000 of the currency unit, so sums in
    SQL are exact on SQLite (which has no decimal type) as on PostgreSQL."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * MONEY_SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"amount {value} has more than 4 decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return tidy_money(Decimal(int(value)).scaleb(-4))


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite keeps it as naive UTC text that sorts by time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
