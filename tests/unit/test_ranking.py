"""Queue ranking: fifo by order time; priority by the rules in order, then order time;
waiting lines climb one class per aging period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backorder.domain.model import QueueStrategy, ShippingMethod, Tier
from backorder.domain.ranking import EVERYONE_ELSE, QueueKey, RankFacts, Ranking
from tests.factories import jan

PRIORITY = Ranking(QueueStrategy.PRIORITY, aging_days=7)


def facts(
    tier: Tier = Tier.STANDARD,
    expedite: bool = False,
    method: ShippingMethod = ShippingMethod.STANDARD,
) -> RankFacts:
    return RankFacts(expedite=expedite, tier=tier, shipping_method=method)


def test_fifo_puts_everyone_in_one_class() -> None:
    fifo = Ranking(QueueStrategy.FIFO)
    assert fifo.base_class(facts(Tier.VIP, expedite=True)) == fifo.base_class(facts()) == 0


def test_priority_default_order_expedite_vip_expedited_wholesale_everyone_else() -> None:
    classes = [
        PRIORITY.base_class(facts(expedite=True)),
        PRIORITY.base_class(facts(Tier.VIP)),
        PRIORITY.base_class(facts(method=ShippingMethod.EXPEDITED)),
        PRIORITY.base_class(facts(Tier.WHOLESALE)),
        PRIORITY.base_class(facts()),
    ]
    assert classes == [0, 1, 2, 3, 4]
    assert PRIORITY.label(4) == EVERYONE_ELSE


def test_the_first_matching_rule_decides() -> None:
    assert PRIORITY.base_class(facts(Tier.WHOLESALE, method=ShippingMethod.EXPEDITED)) == 2


def test_rule_order_comes_from_settings() -> None:
    wholesale_first = Ranking(QueueStrategy.PRIORITY, rules=("tier:wholesale", "tier:vip"))
    assert wholesale_first.base_class(facts(Tier.WHOLESALE)) == 0
    assert wholesale_first.base_class(facts(Tier.VIP)) == 1
    assert wholesale_first.base_class(facts(expedite=True)) == 2


def test_unknown_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown priority rule"):
        Ranking(QueueStrategy.PRIORITY, rules=("tier:gold",))


def test_vip_lines_rank_before_older_standard_lines() -> None:
    vip = QueueKey(PRIORITY.base_class(facts(Tier.VIP)), jan(8), 3)
    older = QueueKey(PRIORITY.base_class(facts()), jan(5), 1)
    assert sorted([older, vip], key=QueueKey.as_tuple) == [vip, older]


def test_order_time_breaks_ties_within_a_class_then_intake() -> None:
    keys = [QueueKey(1, jan(6), 2), QueueKey(1, jan(5), 9), QueueKey(1, jan(6), 1)]
    assert [k.seq for k in sorted(keys, key=QueueKey.as_tuple)] == [9, 1, 2]


def test_a_waiting_line_climbs_one_class_per_aging_period() -> None:
    placed = jan(1)
    assert PRIORITY.current_class(4, placed, placed + timedelta(days=6)) == 4
    assert PRIORITY.current_class(4, placed, placed + timedelta(days=7)) == 3
    assert PRIORITY.current_class(4, placed, placed + timedelta(days=15)) == 2
    assert PRIORITY.current_class(4, placed, placed + timedelta(days=400)) == 0


def test_next_climb_is_one_period_after_the_last() -> None:
    placed = jan(1)
    assert PRIORITY.next_climb(4, 4, placed) == placed + timedelta(days=7)
    assert PRIORITY.next_climb(4, 3, placed) == placed + timedelta(days=14)
    assert PRIORITY.next_climb(4, 0, placed) is None


def test_aging_off_means_no_climbing() -> None:
    still = Ranking(QueueStrategy.PRIORITY, aging_days=None)
    assert still.current_class(4, jan(1), jan(1) + timedelta(days=400)) == 4
    assert still.next_climb(4, 4, jan(1)) is None


def test_explain_names_the_rule_and_the_climb() -> None:
    assert PRIORITY.explain(1, 1) == "customer tier vip"
    assert "entered as 'everyone else" in PRIORITY.explain(4, 3)
