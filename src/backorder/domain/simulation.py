"""The policy simulator: what another policy would have done with the same history.

Design (services/simulation/ does the I/O; this module holds the rules, pure):

1. Record. The live database is only read. From it come the catalogue as it stands
   (products, packs, suppliers and their terms, locations: settings have no history, so
   today's are taken as the start's), and the timed inputs, each with the moment the engine
   took it: orders placed (lines, customer, tier, channel, terms), receipts and stock counts
   (stock_movements, per location), purchase orders placed, re-dated, reduced and cancelled
   (the outbox's purchase_order_changed), expedites (order_expedited), cancellations asked
   for by customers or staff (the intake's own refusals are left to intake), and shipments
   (when the business shipped what, from where). The replay starts at the first recorded
   input, so the state at `from` is the state the engine really had; before `from` the
   actual policy runs, from `from` the policy simulated, and nothing at or after `to` is
   replayed.
2. Replay, in a fresh SQLite file in a temporary folder (migrated once per process, then
   copied), never the live database: each input goes through the real use case
   (place_order, receive/set stock, add/redate/reduce/cancel purchase order, expedite,
   cancel, ship) with the app's clock at the input's moment. A policy (TOML) overrides:
   the queue strategy, priority rules and aging; ship_available / ship_complete for every
   order; acceptance limits (max_lead_days, require_known_date, backorder_cap); and the
   replenishment: `mode = "actual"` keeps the recorded purchase orders and receipts;
   `mode = "reorder_point"` drops the purchase orders placed from `from` on (and their
   receipts) and instead, once a day, orders from the SKU's preferred supplier when the
   stock position (on hand - allocated - waiting + on order) is at or below the reorder
   point: demand over the lead time plus safety stock for the service level, demand being
   the mean and spread of daily units ordered over the 28 days before (the simulator knows
   no more than a planner would). The order covers `review_days` more of demand, rounded to
   the supplier's MOQ and pack; it arrives in full after the supplier's lead time plus a
   lateness drawn (random.Random(seed)) from its measured lateness (none measured: on time).
3. Where a policy changes what happened, the recorded inputs are read as intentions:
   - a customer cancellation of units that waited cancels only what still waits then (a
     customer served sooner does not cancel); one of allocated units cancels what is open;
   - a shipment ships, at the moment the business shipped, what the order holds at that
     location (a shipment that took all its lines held ships all held; one that took part
     ships at most the units recorded); a ship_complete order that still waits then does not
     ship. Under any policy but the actual one, every moment the business shipped from a
     location is also a ship run there: an order holding units there with no recorded
     shipment or cancellation still to come ships what it holds;
   - a count keeps its recorded change (shrinkage, found stock), never below zero;
   - transfers, feeds' own documents, product changes over time, the daily review, and
     supplier fill rates are not replayed.
4. KPIs over [from, to), the same code on the live database ("actual") and on the copy:
   the existing KPIs (services/kpis.compute), plus money on backorder (the value of the
   units waiting, averaged over the window's time), units and value lost (refused at
   intake, or cancelled while they waited), purchase spend (units received against
   purchase orders, at the supplier's cost for the SKU), average stock held (on hand, over
   time) and shipments."""

from __future__ import annotations

import math
import statistics
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Preference, QueueStrategy
from backorder.domain.ranking import RULES
from backorder.domain.replenishment import order_units
from backorder.domain.safety_stock import service_z

ACTUAL_NAME = "actual"


class Replenishment(StrEnum):
    ACTUAL = "actual"  # the recorded purchase orders and receipts
    REORDER_POINT = "reorder_point"  # the simulator buys at the reorder point


class Shipping(StrEnum):
    AS_ORDERED = "as_ordered"
    SHIP_AVAILABLE = "ship_available"
    SHIP_COMPLETE = "ship_complete"


@dataclass(frozen=True)
class Policy:
    """What a simulation changes. None everywhere: the actual policy."""

    name: str
    queue: QueueStrategy | None = None
    priority_rules: tuple[str, ...] | None = None
    aging_days: int | None = None  # 0: aging off
    shipping: Shipping = Shipping.AS_ORDERED
    max_lead_days: int | None = None  # 0: no limit
    require_known_date: bool | None = None
    backorder_cap: int | None = None  # 0: no cap
    replenishment: Replenishment = Replenishment.ACTUAL
    service_level: float = 0.95
    review_days: int = 14

    @property
    def changes_nothing(self) -> bool:
        """The actual policy, whatever its name (the safety stock and review period only
        matter to the reorder-point replenishment)."""
        kept = replace(self, name=ACTUAL_NAME, service_level=0.95, review_days=14)
        return self.replenishment is Replenishment.ACTUAL and kept == Policy(ACTUAL_NAME)

    def product_changes(self) -> dict[str, Any]:
        """The products' columns this policy sets for every SKU."""
        changes: dict[str, Any] = {}
        if self.queue is not None:
            changes["queue_strategy"] = self.queue.value
        if self.max_lead_days is not None:
            changes["max_lead_days"] = self.max_lead_days or None
        if self.require_known_date is not None:
            changes["require_known_date"] = self.require_known_date
        if self.backorder_cap is not None:
            changes["backorder_cap"] = self.backorder_cap or None
        return changes

    def preference(self, recorded: Preference) -> Preference:
        if self.shipping is Shipping.AS_ORDERED:
            return recorded
        return Preference(self.shipping.value)


ACTUAL = Policy(ACTUAL_NAME)

# The TOML a policy file holds: table -> key -> what it sets.
KNOWN = {
    "queue": {"strategy", "priority_rules", "aging_days"},
    "shipping": {"preference"},
    "acceptance": {"max_lead_days", "require_known_date", "backorder_cap"},
    "safety_stock": {"service_level"},
    "replenishment": {"mode", "review_days"},
}


def _int(where: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{where} must be a whole number from {low} to {high}")
    return value


def _choice(where: str, value: object, choices: type[StrEnum]) -> Any:
    known = [c.value for c in choices]
    if value not in known:
        raise InvalidRequest(f"{where} must be one of {', '.join(known)} (got {value!r})")
    return choices(value)


def _rules(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest("queue.priority_rules must be a list of rule names")
    unknown = [v for v in value if v not in RULES]
    if unknown or len(set(value)) != len(value):
        raise InvalidRequest(
            f"queue.priority_rules: unknown or repeated {unknown or value}; known: {sorted(RULES)}"
        )
    return tuple(value)


def _check_keys(data: Mapping[str, Any]) -> None:
    for table, keys in data.items():
        if table not in KNOWN:
            raise InvalidRequest(f"unknown table [{table}]; known: {', '.join(KNOWN)}")
        if not isinstance(keys, Mapping):
            raise InvalidRequest(f"[{table}] must be a table")
        unknown = sorted(set(keys) - KNOWN[table])
        if unknown:
            raise InvalidRequest(f"[{table}] has unknown key(s) {', '.join(unknown)}")


def parse_policy(name: str, data: Mapping[str, Any]) -> Policy:
    """A policy from a TOML file's tables; InvalidRequest naming the first wrong key."""
    _check_keys(data)
    queue, ship = data.get("queue", {}), data.get("shipping", {})
    accept, safety = data.get("acceptance", {}), data.get("safety_stock", {})
    buy = data.get("replenishment", {})
    policy = Policy(name)
    if "strategy" in queue:
        policy = replace(policy, queue=_choice("queue.strategy", queue["strategy"], QueueStrategy))
    if "priority_rules" in queue:
        policy = replace(policy, priority_rules=_rules(queue["priority_rules"]))
    if "aging_days" in queue:
        policy = replace(policy, aging_days=_int("queue.aging_days", queue["aging_days"], 0, 365))
    if "preference" in ship:
        policy = replace(
            policy, shipping=_choice("shipping.preference", ship["preference"], Shipping)
        )
    if "max_lead_days" in accept:
        days = _int("acceptance.max_lead_days", accept["max_lead_days"], 0, 3650)
        policy = replace(policy, max_lead_days=days)
    if "require_known_date" in accept:
        if not isinstance(accept["require_known_date"], bool):
            raise InvalidRequest("acceptance.require_known_date must be true or false")
        policy = replace(policy, require_known_date=accept["require_known_date"])
    if "backorder_cap" in accept:
        cap = _int("acceptance.backorder_cap", accept["backorder_cap"], 0, 10**9)
        policy = replace(policy, backorder_cap=cap)
    if "service_level" in safety:
        level = safety["service_level"]
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0.5 <= level < 1:
            raise InvalidRequest("safety_stock.service_level must be at least 0.5 and below 1")
        policy = replace(policy, service_level=float(level))
    if "mode" in buy:
        policy = replace(
            policy, replenishment=_choice("replenishment.mode", buy["mode"], Replenishment)
        )
    if "review_days" in buy:
        days = _int("replenishment.review_days", buy["review_days"], 1, 365)
        policy = replace(policy, review_days=days)
    return policy


def policy_from_toml(name: str, text: str) -> Policy:
    """A policy from the text of a TOML file."""
    if not name or len(name) > 40:
        raise InvalidRequest("a policy's name is 1 to 40 characters")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidRequest(f"policy {name}: not TOML: {error}") from None
    try:
        return parse_policy(name, data)
    except InvalidRequest as error:
        raise InvalidRequest(f"policy {name}: {error}") from None


# --- what a recorded input means under another policy ---


def units_to_cancel(recorded: tuple[int, int], waiting: int, is_open: int) -> int:
    """A recorded cancellation (units it took from waiting, from allocated) against the line
    as the simulation has it: units that waited are cancelled only while they still wait,
    allocated ones out of what is open."""
    from_waiting, from_allocated = recorded
    first = min(from_waiting, waiting)
    return first + min(from_allocated, is_open - first)


def units_to_ship(recorded: int, was_all_held: bool, held: int) -> int:
    """A line of a recorded shipment: all it holds there if the business shipped all the
    line held, else at most the units recorded."""
    return held if was_all_held else min(recorded, held)


# --- the reorder-point policy ---


@dataclass(frozen=True)
class Terms:
    """What buying a SKU from its supplier takes."""

    supplier: str
    lead_days: int
    moq: int = 1
    pack: int = 1
    late_days: tuple[int, ...] = ()  # measured lateness of its closed lines, in days


@dataclass(frozen=True)
class Position:
    """A SKU's stock position and the demand it has seen (daily units, oldest first)."""

    on_hand: int
    allocated: int
    waiting: int
    on_order: int
    daily_demand: tuple[int, ...]

    @property
    def level(self) -> int:
        return self.on_hand - self.allocated - self.waiting + self.on_order


def reorder_point(position: Position, terms: Terms, service_level: float) -> float:
    """Demand over the lead time plus the safety stock for the service level."""
    days = position.daily_demand
    mean = statistics.fmean(days) if days else 0.0
    spread = statistics.pstdev(days) if len(days) > 1 else 0.0
    lead = max(terms.lead_days, 1)
    return mean * lead + service_z(service_level) * spread * math.sqrt(lead)


def order_quantity(position: Position, terms: Terms, policy: Policy) -> int:
    """Units to order now (0: none): at or below the reorder point, enough to cover the
    review period on top of it, rounded to MOQ and pack."""
    days = position.daily_demand
    if not days or sum(days) == 0:
        return 0
    point = reorder_point(position, terms, policy.service_level)
    if position.level > point:
        return 0
    wanted = math.ceil(point + statistics.fmean(days) * policy.review_days - position.level)
    return order_units(max(wanted, 1), terms.moq, terms.pack)


def lateness(terms: Terms, draw: float) -> int:
    """A lateness drawn from the measured ones (`draw` uniform in [0, 1)); none: on time."""
    if not terms.late_days:
        return 0
    ordered = sorted(terms.late_days)
    return ordered[min(int(draw * len(ordered)), len(ordered) - 1)]


# --- figures over time ---


def time_weighted(
    start: float, changes: Iterable[tuple[datetime, float]], span: tuple[datetime, datetime]
) -> float:
    """The mean over `span` of a level that is `start` at its beginning and moves by each
    change (at its moment, inside the span, in time order)."""
    first, end = span
    total_seconds = (end - first).total_seconds()
    if total_seconds <= 0:
        return 0.0
    level, since, area = start, first, 0.0
    for moment, delta in changes:
        area += level * (moment - since).total_seconds()
        level, since = level + delta, moment
    area += level * (end - since).total_seconds()
    return area / total_seconds


# The simulator's figures, in the order the table shows them, with their names for people.
ROWS: dict[str, str] = {
    "conversion_rate": "Conversion",
    "average_backorder_duration": "Avg backorder (days)",
    "vip_backorder_duration": "  VIP customers",
    "fill_time": "Fill time (days)",
    "cancel_rate": "Cancel rate",
    "promise_accuracy": "Promise accuracy",
    "backorder_rate": "Backorder rate",
    "money_on_backorder": "Money on backorder",
    "units_lost": "Units lost",
    "value_lost": "Value lost",
    "purchase_spend": "Purchase spend",
    "average_stock": "Avg stock (units)",
    "shipments": "Shipments",
}


@dataclass
class Figures:
    """One column of the table: a figure per row (None: nothing to measure)."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    cpu_seconds: float | None = None  # of the process that replayed it


RATES = ("conversion_rate", "cancel_rate", "promise_accuracy", "backorder_rate")
MONEY = ("money_on_backorder", "value_lost", "purchase_spend")


def shown(name: str, value: Any) -> str:
    """A figure of the table as people read it."""
    if value is None:
        return "-"
    if name in RATES:
        return f"{float(value) * 100:.1f} %"
    if name in MONEY:
        return f"{Decimal(str(value)):,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}" if "duration" in name or name == "fill_time" else f"{value:,.1f}"
    return f"{value:,}"
