"""Self-healing after a purchase order slips: which waiting lines now miss the dates their
customers were given, by how much, and what each way out does to those dates.

The dates come from the one ETA walk (`domain.network_supply`): the queue in rank order
against inbound supply soonest first. A line misses its date when the walk dates it after
its promised date (or can date it no more). The shortfall is what those lines wait for.

Each way out is the same walk over changed supply:
- expedite the slipped purchase order: it arrives by the earliest date it must to keep the
  promises (today at the soonest), and, should the supplier manage only its p90 lateness,
  that many days after;
- another supplier, or a transfer from a location with surplus: the shortfall (rounded to
  the supplier's terms) arrives where the slipped order was to, on its expected date. These
  are weighed by `domain.replenishment.choose` (expected cost), with the need dated by the
  earliest missed promise.

Pure: the service reads the queue, the supply, the terms and the stock, and stores what
this decides."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from backorder.domain.network_supply import Waiter, expected_dates_across
from backorder.domain.replenishment import (
    Need,
    Option,
    Recommendation,
    Weighed,
    choose,
    short_day,
)
from backorder.domain.sourcing import Site
from backorder.domain.supply import Inbound, Outlook

RESERVE_SHARE = Decimal("0.25")  # what a location keeps of its free units for its own shelf
PLANNED_TRANSFER = -1  # the id a transfer still to be planned carries in the walk
WAYS = ("expedite", "purchase", "transfer")  # the kinds of way out


@dataclass(frozen=True)
class Line:
    """A waiting line as self-healing sees it: in rank order."""

    line_id: int
    order: str  # CHANNEL:EXTERNAL_ID
    units: int  # backordered
    promised: date | None  # the first date its customer was given
    unit_price: Decimal
    country: str | None = None


@dataclass(frozen=True)
class Affected:
    """A line whose promised date the supply as it stands now misses."""

    line: Line
    promised: date
    no_action: date | None  # None: no date can be given


@dataclass(frozen=True)
class Outcome:
    """One way out and what it does to each affected line's date."""

    kind: str  # expedite | purchase | transfer
    source: str  # the purchase order, supplier id or location code
    name: str
    units: int
    arrive_on: date
    dates: dict[int, date | None]  # line id -> its date with this option
    keeps: int  # affected orders whose every line keeps its date
    weighed: Weighed | None = None  # a purchase or a transfer: how it was weighed
    p90: date | None = None  # expedite: when it comes at the supplier's p90 lateness
    p90_dates: dict[int, date | None] | None = None
    p90_keeps: int = 0


@dataclass(frozen=True)
class Slipped:
    """The supply that slipped and what is known of it."""

    po: str
    supplier: str | None
    p90_late_days: int  # its supplier's measured p90 lateness
    unit_cost: Decimal | None  # its supplier's cost for the SKU, when known


@dataclass(frozen=True)
class Plan:
    sku: str
    today: date
    affected: tuple[Affected, ...]
    shortfall: int  # units the affected lines wait for
    need: Need | None
    expedite: Outcome | None
    options: tuple[Outcome, ...]  # purchases and transfers, the chosen one first
    chosen: Recommendation | None
    sentences: tuple[str, ...]

    @property
    def orders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.line.order for a in self.affected))


def _waiters(queue: Sequence[Line]) -> list[Waiter]:
    return [Waiter(line.line_id, line.units, line.country) for line in queue]


def dates(
    queue: Sequence[Line], outlook: Outlook, sites: Mapping[int, Site]
) -> dict[int, date | None]:
    """Each waiting line's date under this supply: the ETA walk itself."""
    return expected_dates_across(_waiters(queue), outlook, sites)


def misses(promised: date | None, eta: date | None) -> bool:
    return promised is not None and (eta is None or eta > promised)


def affected_lines(
    queue: Sequence[Line], outlook: Outlook, sites: Mapping[int, Site]
) -> list[Affected]:
    """The waiting lines the supply as it stands misses the promised date of."""
    now = dates(queue, outlook, sites)
    return [
        Affected(line, line.promised, now[line.line_id])
        for line in queue
        if line.promised is not None and misses(line.promised, now[line.line_id])
    ]


def moved(outlook: Outlook, po: str, to: date) -> Outlook:
    """The supply with a purchase order's open lines arriving by `to` (never later than they
    already would)."""
    inbound = tuple(
        replace(i, expected_on=min(i.expected_on, to)) if i.po == po and i.transfer is None else i
        for i in outlook.inbound
    )
    return replace(outlook, inbound=inbound)


def _kept(affected: Sequence[Affected], new: Mapping[int, date | None]) -> int:
    """Affected orders whose every affected line keeps its promised date."""
    broken = {a.line.order for a in affected if misses(a.promised, new.get(a.line.line_id))}
    return len({a.line.order for a in affected} - broken)


def surplus(on_hand: int, allocated: int) -> int:
    """What a location can spare: its free units less the reserve it keeps for its own
    shelf (a quarter of them, rounded up)."""
    free = max(0, on_hand - allocated)
    return free - math.ceil(free * RESERVE_SHARE)


def need_of(sku: str, today: date, affected: Sequence[Affected]) -> Need:
    """The shortfall as a need: by the earliest missed promise (today at the soonest); a
    day's demand is the shortfall spread over the days its promises span, so an option
    arriving after some promises leaves those lines' units waiting; a unit is worth what
    the affected lines sell it for on average."""
    units = sum(a.line.units for a in affected)
    first = max(today, min(a.promised for a in affected))
    last = max(today, max(a.promised for a in affected))
    value = sum((a.line.unit_price * a.line.units for a in affected), Decimal(0))
    price = (value / units).quantize(Decimal("0.01")) if units else Decimal(0)
    return Need(
        sku=sku,
        today=today,
        need_by=first,
        units=max(1, units),
        daily_demand=units / ((last - first).days + 1),
        unit_price=price,
        cause="slip",
    )


@dataclass(frozen=True)
class Situation:
    """What the plan is drawn from."""

    sku: str
    queue: tuple[Line, ...]
    outlook: Outlook
    sites: Mapping[int, Site]
    slipped: Slipped | None  # None: no purchase order of a supplier to expedite
    options: tuple[Option, ...]  # other suppliers' terms and transfers
    locations: Mapping[str, int]  # a transfer's source code -> its location id
    destination: int | None  # where the shortfall should arrive: where the slipped order was to


def _expedite(s: Situation, affected: Sequence[Affected]) -> Outcome | None:
    slip = s.slipped
    today = s.outlook.today
    if slip is None:
        return None
    current = [i for i in s.outlook.inbound if i.po == slip.po and i.transfer is None]
    if not current:
        return None
    target = max(today, min(a.promised for a in affected))
    if all(s.outlook.arrival(i) <= target for i in current):
        return None  # it already comes by then: expediting it changes nothing
    new = dates(s.queue, moved(s.outlook, slip.po, target), s.sites)
    keeps = _kept(affected, new)
    if new == dates(s.queue, s.outlook, s.sites):
        return None
    late = target + timedelta(days=slip.p90_late_days)
    p90 = dates(s.queue, moved(s.outlook, slip.po, late), s.sites)
    return Outcome(
        kind="expedite",
        source=slip.po,
        name=slip.po,
        units=sum(i.units for i in current),
        arrive_on=target,
        dates=new,
        keeps=keeps,
        p90=late,
        p90_dates=p90,
        p90_keeps=_kept(affected, p90),
    )


def _outcome(s: Situation, affected: Sequence[Affected], w: Weighed) -> Outcome:
    o = w.option
    extra = Inbound(
        po="" if o.kind == "transfer" else f"new from {o.source}",
        expected_on=w.arrive_on,
        units=w.units,
        location=s.destination,
        transfer=PLANNED_TRANSFER if o.kind == "transfer" else None,
        source=s.locations.get(o.source) if o.kind == "transfer" else None,
    )
    outlook = replace(s.outlook, inbound=(*s.outlook.inbound, extra))
    new = dates(s.queue, outlook, s.sites)
    return Outcome(o.kind, o.source, o.name, w.units, w.arrive_on, new, _kept(affected, new), w)


def plan(s: Situation, cost_share: Decimal, money: Callable[[Decimal], str] | None = None) -> Plan:
    """The lines the slip makes miss their dates, and the ways out with their dates."""
    today = s.outlook.today
    affected = affected_lines(s.queue, s.outlook, s.sites)
    if not affected:
        return Plan(s.sku, today, (), 0, None, None, (), None, ())
    need = need_of(s.sku, today, affected)
    chosen = choose(need, s.options, cost_share, money)
    options = tuple(_outcome(s, affected, w) for w in (chosen.weighed if chosen else ()))
    expedite = _expedite(s, affected)
    draft = Plan(s.sku, today, tuple(affected), need.units, need, expedite, options, chosen, ())
    return replace(draft, sentences=tuple(sentences(draft, s.slipped, money)))


# --- in words ----------------------------------------------------------------------------


def _day(value: date | None, today: date) -> str:
    if value is None:
        return "no known date"
    return short_day(value) if value.year == today.year else f"{short_day(value)} {value.year}"


def _span(values: Sequence[date | None], today: date) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "no known date"
    first, last = min(known), max(known)
    tail = " (some with no known date)" if len(known) < len(values) else ""
    if first == last:
        return _day(first, today) + tail
    return f"{_day(first, today)}-{_day(last, today)}{tail}"


def _orders(n: int) -> str:
    return f"{n} order" + ("" if n == 1 else "s")


def _kept_words(kept: int, of: int) -> str:
    if kept == of:
        return f"keeps {_orders(of)}' dates" if of != 1 else "keeps the order's date"
    if kept == 0:
        return "no order keeps its date"
    return f"keeps {kept} of {_orders(of)}' dates"


def _effect(plan: Plan, dated: Mapping[int, date | None], kept: int) -> str:
    """What an option does: the dates it keeps, and when the rest of the orders come."""
    n = len(plan.orders)
    if kept == n:
        return _kept_words(kept, n)
    late = [
        dated.get(a.line.line_id)
        for a in plan.affected
        if misses(a.promised, dated.get(a.line.line_id))
    ]
    rest = "" if kept == 0 else "the rest "
    return f"{_kept_words(kept, n)} ({rest}{_span(late, plan.today)})"


def _cost_against(unit_cost: Decimal, slipped: Slipped | None) -> str:
    if slipped is None or not slipped.unit_cost:
        return ""
    pct = round((unit_cost - slipped.unit_cost) / slipped.unit_cost * 100)
    return f" ({'+' if pct > 0 else ''}{pct} %)" if pct else " (same cost)"


def sentences(
    plan: Plan, slipped: Slipped | None, money: Callable[[Decimal], str] | None = None
) -> list[str]:
    """The plan in words, e.g. "Expedite PO-7 to arrive by 12 Jan: keeps 4 orders' dates."."""
    write = money or (lambda amount: f"{amount:,.2f}")
    today = plan.today
    n = len(plan.orders)
    said: list[str] = []
    e = plan.expedite
    if e is not None:
        text = f"Expedite {e.name} to arrive by {_day(e.arrive_on, today)}: " + _effect(
            plan, e.dates, e.keeps
        )
        if e.p90 is not None and e.p90 != e.arrive_on:
            text += f"; at the supplier's p90 lateness, {_day(e.p90, today)}: " + _kept_words(
                e.p90_keeps, n
            )
        said.append(text + ".")
    for o in plan.options:
        w = o.weighed
        assert w is not None
        what = (
            f"Transfer {o.units:,} units from {o.name}"
            if o.kind == "transfer"
            else f"{o.name}: {o.units:,} units"
        )
        cost = write(w.purchase) + (
            _cost_against(w.option.unit_cost, slipped) if o.kind == "purchase" else ""
        )
        text = f"{what} by {_day(o.arrive_on, today)} at {cost}, " + _effect(plan, o.dates, o.keeps)
        said.append(text + ".")
    promised = _span([a.promised for a in plan.affected], today)
    said.append(
        f"No action: {_orders(n)} {'moves' if n == 1 else 'move'} from {promised} to "
        f"{_span([a.no_action for a in plan.affected], today)}."
    )
    return said
