"""What every feed adapter reads the same way: a time (ISO 8601, a zone or UTC), a count
that is a whole number of units, a SKU."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backorder.intake.base import Unreadable

MAX_UNITS = 2**31 - 1


def moment(value: Any, where: str) -> datetime:
    """An ISO 8601 time; one that names no zone is taken as UTC."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise Unreadable(f"{where}: missing")
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Unreadable(f"{where}: {text[:40]!r} is not an ISO 8601 time") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC)


def units(value: Any, where: str, positive: bool = False) -> int:
    """A count of units: a whole number, not negative (positive for a receipt)."""
    if isinstance(value, bool) or value is None:
        raise Unreadable(f"{where}: missing or not a number")
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        try:
            exact = float(text)
        except ValueError:
            raise Unreadable(f"{where}: {text[:20]!r} is not a number") from None
        if not exact.is_integer():
            raise Unreadable(f"{where}: {text[:20]!r} is not a whole number of units") from None
        number = int(exact)
    if number < 0:
        raise Unreadable(f"{where}: {number} is negative")
    if positive and number == 0:
        raise Unreadable(f"{where}: no units")
    if number > MAX_UNITS:
        raise Unreadable(f"{where}: {number} is more than {MAX_UNITS}")
    return number


def sku_of(value: Any, where: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 128 or "\x00" in text:
        raise Unreadable(f"{where}: a SKU is 1 to 128 characters")
    return text


def name_of(value: Any, where: str) -> str:
    """A location as the sender names it."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 128 or "\x00" in text:
        raise Unreadable(f"{where}: a location is named by 1 to 128 characters")
    return text
