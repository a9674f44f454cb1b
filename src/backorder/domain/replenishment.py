"""Restock recommendations: when to order, how much, and from whom.

A SKU needs an order when its projected stock reaches the reorder point, or when a projected
stockout lies inside the lead time. The order covers demand up to the next review after it
arrives, plus the safety stock, less what will be there then; it is rounded up to the
supplier's minimum order and then to whole packs.

Each way to get the units (a supplier's terms, or a transfer from a location holding
surplus) is weighed by the expected cost of the whole outcome:

    expected cost = units x unit cost
                  + expected units on backorder x unit price x backorder cost share

where the units expected on backorder come from the option's lateness distribution (its
measured days late, each equally likely) against the date the stock is needed: every day
the supply arrives after that date, a day's demand waits. Units the supplier is not
expected to deliver at all (its fill rate) wait too. The cheapest expected outcome wins;
ties go to the preferred supplier, then to the sooner arrival.

Pure: no I/O, no clock (today is passed in). The service reads terms, measured lateness,
forecasts and stock and stores what this decides."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Kind = Literal["purchase", "transfer"]
Cause = Literal["stockout", "reorder_point", "slip"]
CENT = Decimal("0.01")
EPSILON = 1e-9
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Lateness:
    """Days late of a supplier's closed purchase-order lines (0: on time or early), each
    equally likely; `fill_rate` the share of ordered units that came at all. No lines: it
    is taken to deliver on time and in full, and the recommendation says it has no record."""

    days: tuple[int, ...] = ()
    fill_rate: float = 1.0

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.days):
            raise ValueError("days late cannot be below 0")
        if not 0 <= self.fill_rate <= 1:
            raise ValueError(f"a fill rate lies between 0 and 1 (got {self.fill_rate!r})")

    @property
    def measured(self) -> bool:
        return bool(self.days)

    def quantile(self, q: float) -> int:
        """The days late that `q` of the lines came within (nearest rank); 0 without lines."""
        if not self.days:
            return 0
        ordered = sorted(self.days)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Option:
    """One way to get the units: a supplier's terms for the SKU, or a transfer from a
    location with surplus (`source` its supplier id or location code)."""

    kind: Kind
    source: str
    name: str
    unit_cost: Decimal
    lead_days: int
    lateness: Lateness = field(default_factory=Lateness)
    moq: int = 1
    pack: int = 1
    preferred: bool = False
    max_units: int | None = None  # a transfer: the surplus the location can spare


@dataclass(frozen=True)
class Need:
    """What a SKU (at a location, or the network) needs, as the projection sees it today."""

    sku: str
    today: date
    need_by: date  # the date stock must be there (the projected stockout's Monday, or when
    # projected stock falls to the reorder point)
    units: int  # to cover demand to the next review after arrival plus safety stock, less
    # what will be there: before rounding to an option's terms (at least 1)
    daily_demand: float  # forecast units a day around the need date
    unit_price: Decimal  # what a unit sells for: the value of a unit on backorder
    cause: Cause = "stockout"


@dataclass(frozen=True)
class Weighed:
    """An option weighed for a need."""

    option: Option
    units: int  # rounded to its terms
    arrive_on: date  # expected: today + lead time + median lateness
    arrive_p90: date  # nine in ten of its lines came by then
    makes_date: bool  # arrive_p90 is on or before need_by
    expected_short: float  # units expected on backorder
    purchase: Decimal  # units x unit cost
    backorder_value: Decimal  # expected units on backorder x unit price
    expected_cost: Decimal  # purchase + backorder value x cost share


@dataclass(frozen=True)
class Recommendation:
    need: Need
    chosen: Weighed
    weighed: tuple[Weighed, ...]  # every option, cheapest expected outcome first
    reasons: tuple[str, ...]


def order_units(units: int, moq: int, pack: int) -> int:
    """Units rounded up to the minimum order, then up to whole packs."""
    if units < 1:
        raise ValueError(f"an order is for at least 1 unit (got {units})")
    if moq < 1 or pack < 1:
        raise ValueError("the minimum order and the pack are at least 1")
    wanted = max(units, moq)
    return -(-wanted // pack) * pack


def units_needed(cover_demand: float, safety_stock: int, level_at_arrival: float) -> int:
    """Units to bring the stock at arrival up to demand until the next review plus the
    safety stock (whole units, rounded up; 0 when the stock already covers it)."""
    if not math.isfinite(cover_demand) or cover_demand < 0:
        raise ValueError(f"demand to cover must be finite and not below 0 (got {cover_demand!r})")
    return max(0, math.ceil(cover_demand + safety_stock - level_at_arrival - EPSILON))


def needs_order(
    position: float, reorder_point: int, stockout: date | None, order_by: date | None
) -> Cause | None:
    """Why a SKU needs an order now, if it does: a projected stockout whose last day to
    order has come (it lies inside the lead time), or stock on hand and on order (its
    position) down to the reorder point."""
    if stockout is not None and order_by is not None:
        return "stockout"
    if position <= reorder_point:
        return "reorder_point"
    return None


def _short_days(option: Option, need: Need, late: int) -> int:
    arrival = need.today + timedelta(days=option.lead_days + late)
    return max(0, (arrival - need.need_by).days)


def expected_short(option: Option, need: Need, units: int) -> float:
    """Units expected on backorder with this option: a day's demand for every day it comes
    after the need date, over its lateness distribution, plus what it is not expected to
    deliver at all. Never more than the units it is for."""
    days = option.lateness.days or (0,)
    waiting = sum(_short_days(option, need, d) for d in days) / len(days) * need.daily_demand
    unfilled = units * (1 - option.lateness.fill_rate)
    return min(float(units), waiting + unfilled)


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def weigh(option: Option, need: Need, cost_share: Decimal) -> Weighed:
    units = (
        max(1, need.units)
        if option.kind == "transfer"
        else order_units(need.units, option.moq, option.pack)
    )
    short = expected_short(option, need, units)
    purchase = _money(option.unit_cost * units)
    value = _money(Decimal(str(short)) * need.unit_price)
    lead = timedelta(days=option.lead_days)
    p90 = need.today + lead + timedelta(days=option.lateness.quantile(0.9))
    return Weighed(
        option=option,
        units=units,
        arrive_on=need.today + lead + timedelta(days=option.lateness.quantile(0.5)),
        arrive_p90=p90,
        makes_date=p90 <= need.need_by,
        expected_short=short,
        purchase=purchase,
        backorder_value=value,
        expected_cost=_money(purchase + value * cost_share),
    )


def _usable(option: Option, need: Need) -> bool:
    return option.max_units is None or option.max_units >= max(1, need.units)


def _rank(w: Weighed) -> tuple[Decimal, bool, date, str]:
    return (w.expected_cost, not w.option.preferred, w.arrive_on, w.option.source)


def choose(
    need: Need,
    options: Sequence[Option],
    cost_share: Decimal,
    money: Callable[[Decimal], str] | None = None,
) -> Recommendation | None:
    """The option with the cheapest expected outcome, every option weighed, and why in
    words (`money` writes an amount; default "USD 1,140"-style without a currency). None
    when nothing can supply it (no supplier terms, no transfer large enough)."""
    if cost_share < 0:
        raise ValueError("the backorder cost share cannot be below 0")
    weighed = sorted((weigh(o, need, cost_share) for o in options if _usable(o, need)), key=_rank)
    if not weighed:
        return None
    chosen = weighed[0]
    reasons = tuple(explain(need, chosen, weighed, money))
    return Recommendation(need, chosen, tuple(weighed), reasons)


def short_day(value: date) -> str:
    """ "14 Jan": a date in a reason."""
    return f"{value.day} {MONTHS[value.month - 1]}"


def _day(value: date, today: date) -> str:
    return short_day(value) if value.year == today.year else f"{short_day(value)} {value.year}"


def _units(value: float) -> str:
    whole = round(value)
    return f"{whole:,} unit" + ("" if whole == 1 else "s")


def _plain(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def explain(
    need: Need,
    chosen: Weighed,
    weighed: Sequence[Weighed],
    money: Callable[[Decimal], str] | None = None,
) -> list[str]:
    """The reasons for a recommendation, in words, with the numbers."""
    write = money or _plain
    today = need.today
    reasons = [_why_now(need)]
    o = chosen.option
    if o.kind == "transfer":
        reasons.append(
            f"Transfer {chosen.units:,} from {o.name}: it can spare {o.max_units or 0:,} and "
            f"they arrive by {_day(chosen.arrive_on, today)}, for {write(chosen.purchase)}."
        )
    else:
        rounded = "" if chosen.units == need.units else _rounding(need.units, chosen.units, o)
        record = (
            f"p90 lateness {o.lateness.quantile(0.9)} days"
            if o.lateness.measured
            else "no delivery record yet, taken as on time"
        )
        reasons.append(
            f"Order {chosen.units:,} from {o.name} at {write(o.unit_cost)} each "
            f"({write(chosen.purchase)}){rounded}: expected by "
            f"{_day(chosen.arrive_on, today)} ({record})."
        )
    for other in weighed:
        if other is chosen:
            continue
        reasons.append(_against(chosen, other, need, write))
    if round(chosen.expected_short) >= 1:
        reasons.append(
            f"Even so, {_units(chosen.expected_short)} ({write(chosen.backorder_value)}) are "
            "expected to wait."
        )
    elif chosen.expected_short > EPSILON:  # "0 units ($38.42)" would read as a slip
        reasons.append(
            f"Even so, less than a unit ({write(chosen.backorder_value)}) is expected to wait."
        )
    return reasons


def _why_now(need: Need) -> str:
    when = _day(need.need_by, need.today)
    if need.cause == "stockout":
        return f"{need.sku} is projected to run out in the week of {when}."
    if need.cause == "slip":
        return f"A late purchase order leaves {need.sku} short from {when}."
    return f"{need.sku}'s projected stock reaches its reorder point by {when}."


def _rounding(units: int, rounded: int, option: Option) -> str:
    terms = []
    if option.moq > 1:
        terms.append(f"minimum order {option.moq:,}")
    if option.pack > 1:
        terms.append(f"packs of {option.pack:,}")
    return f", {units:,} needed, rounded up to {' and '.join(terms)}"


def _cost_against(cost: Decimal, other: Decimal) -> str:
    if not other:
        return ""
    pct = round((cost - other) / other * 100)
    if pct > 0:
        return f" at +{pct} % cost"
    if pct < 0:
        return f" and {-pct} % cheaper"
    return " at about the same cost"


def _against(chosen: Weighed, other: Weighed, need: Need, write: Callable[[Decimal], str]) -> str:
    o = other.option
    today = need.today
    if not other.makes_date and chosen.makes_date:
        late = (
            f"p90 lateness {o.lateness.quantile(0.9)} days"
            if o.lateness.measured
            else f"lead time {o.lead_days} days"
        )
        avoided = other.expected_short - chosen.expected_short
        extra = _cost_against(chosen.purchase, other.purchase)
        saved = write(other.backorder_value - chosen.backorder_value)
        gain = ""
        if avoided > EPSILON:
            gain = f", which avoids {_units(avoided)} ({saved}) of backorders"
        return (
            f"{o.name} cannot deliver before {_day(other.arrive_p90, today)} ({late}); "
            f"{chosen.option.name} can by {_day(chosen.arrive_p90, today)}{extra}{gain}."
        )
    return (
        f"{o.name}: {other.units:,} for {write(other.purchase)}, expected by "
        f"{_day(other.arrive_on, today)}, {_units(other.expected_short)} expected to wait; "
        f"expected cost {write(other.expected_cost)} against {write(chosen.expected_cost)}."
    )
