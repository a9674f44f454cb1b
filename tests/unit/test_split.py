"""Intake split: a line takes what is available now; the rest waits if the SKU allows it."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.allocation import split_line
from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Policy, Refusal, StockLevel
from tests.factories import jan, product


def test_a_line_takes_what_is_available_and_backorders_the_rest() -> None:
    split = split_line(20, product(), StockLevel(on_hand=12, allocated=4), 0, jan(5))
    assert (split.allocate, split.backorder, split.cancel, split.refusal) == (8, 12, 0, None)


def test_a_line_fully_in_stock_does_not_wait() -> None:
    split = split_line(5, product(), StockLevel(on_hand=10), 0, jan(5))
    assert (split.allocate, split.backorder, split.cancel) == (5, 0, 0)


def test_deny_policy_cancels_what_is_not_in_stock() -> None:
    split = split_line(5, product(policy=Policy.DENY), StockLevel(on_hand=2), 0, jan(5))
    assert (split.allocate, split.backorder, split.cancel) == (2, 0, 3)
    assert split.refusal is Refusal.NOT_BACKORDERABLE


def test_discontinued_products_sell_stock_but_take_no_backorders() -> None:
    split = split_line(5, product(discontinued=True), StockLevel(on_hand=1), 0, jan(5))
    assert (split.allocate, split.backorder, split.cancel) == (1, 0, 4)
    assert split.refusal is Refusal.DISCONTINUED


def test_per_customer_cap_counts_what_the_customer_already_waits_for() -> None:
    split = split_line(5, product(max_per_customer=6), StockLevel(), 3, jan(5))
    assert (split.backorder, split.cancel, split.refusal) == (3, 2, Refusal.OVER_CUSTOMER_LIMIT)


def test_sku_cap_limits_total_units_on_backorder() -> None:
    split = split_line(5, product(backorder_cap=10), StockLevel(backordered=8), 0, jan(5))
    assert (split.backorder, split.cancel, split.refusal) == (2, 3, Refusal.OVER_BACKORDER_CAP)


def test_no_backorders_after_the_pre_order_window_closes() -> None:
    closes = product(backorder_until=date(2026, 1, 6))
    assert split_line(3, closes, StockLevel(), 0, jan(6)).backorder == 3
    late = split_line(3, closes, StockLevel(), 0, jan(7))
    assert (late.backorder, late.cancel, late.refusal) == (0, 3, Refusal.BACKORDER_WINDOW_CLOSED)


def test_quantity_must_be_positive() -> None:
    with pytest.raises(InvalidRequest):
        split_line(0, product(), StockLevel(), 0, jan(5))
