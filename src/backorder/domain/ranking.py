"""Who gets stock first: the queue ranking of one SKU.

`fifo` puts every line in one class, so order time alone decides. `priority` puts a
line in the class of the first rule it matches (the rule order comes from settings);
lines that match no rule are "everyone else". Within a class the earlier order wins,
and between equal order times the earlier intake.

Against starvation, a line that has waited longer than `aging_days` climbs one class
per such period, until it reaches the top class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from backorder.domain.model import QueueStrategy, ShippingMethod, Tier


@dataclass(frozen=True)
class RankFacts:
    """What ranking may look at: the order's flags, the customer's tier, the shipping paid for."""

    expedite: bool
    tier: Tier
    shipping_method: ShippingMethod


@dataclass(frozen=True)
class Rule:
    label: str
    matches: Callable[[RankFacts], bool]


# Every rule a deployment may list in BACKORDER_PRIORITY_RULES, by name.
RULES: dict[str, Rule] = {
    "expedite": Rule("manual expedite flag", lambda f: f.expedite),
    "tier:vip": Rule("customer tier vip", lambda f: f.tier is Tier.VIP),
    "shipping:expedited": Rule(
        "paid expedited shipping", lambda f: f.shipping_method is ShippingMethod.EXPEDITED
    ),
    "tier:wholesale": Rule("customer tier wholesale", lambda f: f.tier is Tier.WHOLESALE),
}

DEFAULT_PRIORITY_RULES = ("expedite", "tier:vip", "shipping:expedited", "tier:wholesale")
EVERYONE_ELSE = "everyone else, by order time"
FIFO_LABEL = "first come, first served (order time)"


@dataclass(frozen=True)
class QueueKey:
    """The sort key of a queued line: lower ranks first. One key serves both strategies:
    under `fifo` every line has class 0."""

    rank_class: int
    placed_at: datetime
    seq: int

    def as_tuple(self) -> tuple[int, datetime, int]:
        return (self.rank_class, self.placed_at, self.seq)


@dataclass(frozen=True)
class Ranking:
    strategy: QueueStrategy
    rules: tuple[str, ...] = DEFAULT_PRIORITY_RULES
    aging_days: int | None = None

    def __post_init__(self) -> None:
        unknown = [name for name in self.rules if name not in RULES]
        if unknown:
            raise ValueError(f"unknown priority rule(s) {unknown}; known: {sorted(RULES)}")
        if self.aging_days is not None and self.aging_days <= 0:
            raise ValueError("aging_days must be positive")

    def base_class(self, facts: RankFacts) -> int:
        """The class a line enters the queue in."""
        if self.strategy is QueueStrategy.FIFO:
            return 0
        for index, name in enumerate(self.rules):
            if RULES[name].matches(facts):
                return index
        return len(self.rules)

    def label(self, rank_class: int) -> str:
        """The rule that placed a line of this class, in words."""
        if self.strategy is QueueStrategy.FIFO:
            return FIFO_LABEL
        if rank_class < len(self.rules):
            return RULES[self.rules[rank_class]].label
        return EVERYONE_ELSE

    def current_class(self, base_class: int, placed_at: datetime, now: datetime) -> int:
        """The class after climbing one step per full aging period waited."""
        if self.aging_days is None or base_class == 0 or now <= placed_at:
            return base_class
        periods = (now - placed_at) // timedelta(days=self.aging_days)
        return max(0, base_class - periods)

    def next_climb(self, base_class: int, current: int, placed_at: datetime) -> datetime | None:
        """When a line of this class climbs next; None when it cannot climb any more."""
        if self.aging_days is None or current == 0:
            return None
        return placed_at + (base_class - current + 1) * timedelta(days=self.aging_days)

    def explain(self, base_class: int, current: int) -> str:
        """Why a line sits in its class: its rule, and how it climbed if it did."""
        if current == base_class:
            return self.label(current)
        return (
            f"ranked with '{self.label(current)}' after waiting over "
            f"{(base_class - current) * (self.aging_days or 0)} days "
            f"(entered as '{self.label(base_class)}')"
        )
