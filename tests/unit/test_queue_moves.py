"""Serving the queue, taking back, cancelling and shipping, as pure decisions."""

from __future__ import annotations

import pytest

from backorder.domain.allocation import (
    Holding,
    Waiting,
    plan_cancel,
    plan_shipment,
    serve_queue,
    take_back,
)
from backorder.domain.errors import ImpossibleCancel, NotReadyToShip
from backorder.domain.model import LineQuantities, LineStatus, Preference, order_status


def test_seed_example_fifty_units_fill_two_orders_and_half_the_third() -> None:
    queue = [Waiting(100, 20), Waiting(101, 20), Waiting(102, 20)]
    allotments = serve_queue(50, queue)
    assert [(a.line_id, a.units, a.position) for a in allotments] == [
        (100, 20, 1),
        (101, 20, 2),
        (102, 10, 3),
    ]


def test_serving_stops_when_stock_runs_out() -> None:
    assert serve_queue(0, [Waiting(1, 5)]) == []
    assert len(serve_queue(5, [Waiting(1, 5), Waiting(2, 5)])) == 1


def test_positions_continue_across_batches() -> None:
    assert serve_queue(3, [Waiting(7, 1)], first_position=501)[0].position == 501


def test_take_back_from_the_lowest_ranked_first() -> None:
    lowest_first = [Holding(9, 2), Holding(8, 5)]
    assert [(a.line_id, a.units) for a in take_back(4, lowest_first)] == [(9, 2), (8, 2)]


def test_cancel_takes_waiting_units_before_allocated_ones() -> None:
    line = LineQuantities(10, allocated=4, backordered=6)
    plan = plan_cancel(line, 8)
    assert (plan.from_backordered, plan.from_allocated) == (6, 2)


def test_cancel_without_quantity_cancels_everything_open() -> None:
    plan = plan_cancel(LineQuantities(10, allocated=4, backordered=3, shipped=3), None)
    assert plan.units == 7


def test_shipped_units_cannot_be_cancelled() -> None:
    with pytest.raises(ImpossibleCancel):
        plan_cancel(LineQuantities(5, shipped=5), 1)
    with pytest.raises(ImpossibleCancel):
        plan_cancel(LineQuantities(5, allocated=2, shipped=3), 3)


def test_ship_available_ships_what_is_allocated_now() -> None:
    lines = {1: LineQuantities(5, allocated=2, backordered=3), 2: LineQuantities(1, allocated=1)}
    assert plan_shipment(lines, Preference.SHIP_AVAILABLE) == {1: 2, 2: 1}


def test_ship_complete_refuses_while_units_wait() -> None:
    lines = {1: LineQuantities(5, allocated=2, backordered=3)}
    with pytest.raises(NotReadyToShip, match="ship_complete"):
        plan_shipment(lines, Preference.SHIP_COMPLETE)
    assert plan_shipment({1: LineQuantities(5, allocated=5)}, Preference.SHIP_COMPLETE) == {1: 5}


def test_nothing_allocated_nothing_to_ship() -> None:
    with pytest.raises(NotReadyToShip):
        plan_shipment({1: LineQuantities(5, backordered=5)}, Preference.SHIP_AVAILABLE)


def test_status_is_derived_from_quantities() -> None:
    assert LineQuantities(5, allocated=2, backordered=3).status is LineStatus.BACKORDERED
    assert LineQuantities(5, allocated=5).status is LineStatus.ALLOCATED
    assert LineQuantities(5, shipped=4, cancelled=1).status is LineStatus.SHIPPED
    assert LineQuantities(5, cancelled=5).status is LineStatus.CANCELLED
    assert order_status([LineQuantities(5, shipped=5), LineQuantities(1, backordered=1)]) == (
        "backordered"
    )
    assert order_status([LineQuantities(5, cancelled=5)]) == "cancelled"
