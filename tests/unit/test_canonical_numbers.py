"""A quantity is a whole number by value however its JSON was read: the HTTP body's reading
gives floats, `order place` and the channels read numbers exactly (Decimal)."""

from __future__ import annotations

import json
import time

import pytest

from backorder.canonical import parse_orders
from backorder.domain.errors import InvalidRequest

ORDER = {
    "channel": "web",
    "external_id": "1",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {"id": "c-1"},
    "lines": [{"sku": "WIDGET-BLUE", "quantity": 1}],
}


def _with_quantity(text: str) -> str:
    return json.dumps(ORDER).replace('"quantity": 1', f'"quantity": {text}')


@pytest.mark.parametrize(("text", "units"), [("1.0", 1), ("30.00", 30), ("2E1", 20)])
def test_a_whole_number_written_with_a_point_is_that_number(text: str, units: int) -> None:
    (order,) = parse_orders(_with_quantity(text))
    assert order.lines[0].quantity == units


@pytest.mark.parametrize("text", ["1.5", '"1"', "true", "1e999999999", "-1.0"])
def test_anything_else_is_refused_at_once(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidRequest, match="quantity"):
        parse_orders(_with_quantity(text))
    assert time.monotonic() - started < 1  # a huge exponent is not expanded into digits


def test_a_number_too_long_to_read_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidRequest, match="a number of 5,000 digits"):
        parse_orders(_with_quantity("9" * 5000))


def test_json_nested_too_deeply_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="nested too deeply"):
        parse_orders("[" * 100_000 + "]" * 100_000)
