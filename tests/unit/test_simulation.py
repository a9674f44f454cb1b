"""The simulator's rules: policy files, recorded inputs read under another policy, the
reorder point, and averages over time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Preference, QueueStrategy
from backorder.domain.simulation import (
    Policy,
    Position,
    Replenishment,
    Shipping,
    Terms,
    lateness,
    order_quantity,
    policy_from_toml,
    time_weighted,
    units_to_cancel,
    units_to_ship,
)

EXAMPLE = """
[queue]
strategy = "priority"
priority_rules = ["tier:vip", "expedite"]
aging_days = 0

[shipping]
preference = "ship_complete"

[acceptance]
max_lead_days = 30
require_known_date = true

[safety_stock]
service_level = 0.98

[replenishment]
mode = "reorder_point"
review_days = 7
"""


def test_a_policy_file_sets_what_it_names() -> None:
    policy = policy_from_toml("strict", EXAMPLE)
    assert policy.queue is QueueStrategy.PRIORITY
    assert policy.priority_rules == ("tier:vip", "expedite")
    assert policy.aging_days == 0
    assert policy.preference(Preference.SHIP_AVAILABLE) is Preference.SHIP_COMPLETE
    assert policy.product_changes() == {
        "queue_strategy": "priority",
        "max_lead_days": 30,
        "require_known_date": True,
    }
    assert policy.replenishment is Replenishment.REORDER_POINT
    assert (policy.service_level, policy.review_days) == (0.98, 7)


def test_an_empty_policy_is_the_actual_one() -> None:
    policy = policy_from_toml("same", "")
    assert policy == Policy("same")
    assert policy.shipping is Shipping.AS_ORDERED
    assert policy.preference(Preference.SHIP_COMPLETE) is Preference.SHIP_COMPLETE
    assert policy.product_changes() == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[queue]\nstrategy = 'lifo'", "queue.strategy must be one of fifo, priority"),
        ("[queue]\npriority_rules = ['tier:gold']", "unknown or repeated"),
        ("[shiping]\npreference = 'ship_complete'", "unknown table [shiping]"),
        ("[acceptance]\nmax_lead = 3", "unknown key(s) max_lead"),
        ("[safety_stock]\nservice_level = 1.2", "at least 0.5 and below 1"),
        ("[replenishment]\nreview_days = 0", "from 1 to 365"),
        ("[queue\n", "not TOML"),
    ],
)
def test_a_wrong_policy_file_is_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(InvalidRequest, match="policy p: ") as refused:
        policy_from_toml("p", text)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_customer_served_sooner_does_not_cancel_what_no_longer_waits() -> None:
    assert units_to_cancel((2, 0), waiting=2, is_open=3) == 2  # as it happened
    assert units_to_cancel((2, 0), waiting=0, is_open=3) == 0  # filled sooner: kept
    assert units_to_cancel((2, 1), waiting=1, is_open=3) == 2  # one still waits, one held
    assert units_to_cancel((0, 2), waiting=0, is_open=1) == 1  # only what is open


def test_a_shipment_ships_what_the_line_holds_or_at_most_what_was_recorded() -> None:
    assert units_to_ship(2, was_all_held=True, held=3) == 3
    assert units_to_ship(2, was_all_held=False, held=3) == 2
    assert units_to_ship(2, was_all_held=False, held=1) == 1


TERMS = Terms("ACME", lead_days=4, moq=10, pack=6)


def test_nothing_is_bought_above_the_reorder_point_or_without_demand() -> None:
    policy = Policy("buy", replenishment=Replenishment.REORDER_POINT)
    plenty = Position(100, 0, 0, 0, (2,) * 28)
    assert order_quantity(plenty, TERMS, policy) == 0
    assert order_quantity(Position(0, 0, 0, 0, (0,) * 28), TERMS, policy) == 0


def test_at_the_reorder_point_the_order_covers_the_review_rounded_to_moq_and_pack() -> None:
    policy = Policy("buy", replenishment=Replenishment.REORDER_POINT, review_days=5)
    # a steady 2 a day: no spread, so the point is lead-time demand (8); position 3
    short = Position(on_hand=5, allocated=2, waiting=0, on_order=0, daily_demand=(2,) * 28)
    # 8 + 2 x 5 - 3 = 15, at least the MOQ of 10, in packs of 6: 18
    assert order_quantity(short, TERMS, policy) == 18
    # what is on order counts: 3 + 6 = 9 > 8, nothing more now
    assert order_quantity(Position(5, 2, 0, 6, (2,) * 28), TERMS, policy) == 0


def test_lateness_is_drawn_from_the_measured_ones() -> None:
    late = Terms("ACME", 4, late_days=(5, 0, 2))
    assert [lateness(late, draw) for draw in (0.0, 0.34, 0.99)] == [0, 2, 5]
    assert lateness(TERMS, 0.7) == 0  # nothing measured: on time


def test_an_average_over_time_weighs_each_level_by_how_long_it_held() -> None:
    day = [datetime(2026, 2, d, tzinfo=UTC) for d in (1, 2, 4, 5)]
    # 10 for a day, 4 for two days, 7 for the last day: (10 + 8 + 7) / 4
    changes = [(day[1], -6.0), (day[2], 3.0)]
    assert time_weighted(10, changes, (day[0], day[3])) == pytest.approx(6.25)
    assert time_weighted(5, [], (day[0], day[0])) == 0.0


def test_only_the_replenishment_uses_the_safety_stock_and_review_settings() -> None:
    assert policy_from_toml("p", "[safety_stock]\nservice_level = 0.99").changes_nothing
    assert not policy_from_toml("p", "[shipping]\npreference = 'ship_complete'").changes_nothing
    assert not policy_from_toml("p", "[replenishment]\nmode = 'reorder_point'").changes_nothing
