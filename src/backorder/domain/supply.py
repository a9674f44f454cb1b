"""When waiting units will be served, what can still be promised, and whether to accept a
backorder at all: the SKU's queue walked against its inbound supply."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from backorder.domain.model import Product, Refusal


@dataclass(frozen=True)
class Inbound:
    """Units still to arrive of one SKU, and when: from a purchase order (`po`, its
    reference) or a transfer (`transfer`, its id; `po` is then empty), at a location
    (`location`, its id; None: anywhere, as before locations). A transfer not yet shipped
    names the location its units still sit at (`source`)."""

    po: str
    expected_on: date
    units: int
    location: int | None = None
    transfer: int | None = None
    source: int | None = None  # a transfer not yet shipped: the location its units are at


@dataclass(frozen=True)
class Queued:
    """A waiting line as the walk sees it: in rank order, with the units it waits for."""

    line_id: int
    backordered: int


@dataclass(frozen=True)
class Outlook:
    """What a SKU can count on: its inbound supply (soonest first), the lead time of a new
    purchase order (the product's own, else its supplier's), and the supplier's record."""

    today: date
    inbound: tuple[Inbound, ...] = ()
    lead_time_days: int | None = None
    on_time_percent: Decimal | None = None  # None: no purchase order of theirs completed yet

    @property
    def beyond_supply(self) -> date | None:
        """The date of units no purchase order covers: a new one, ordered today."""
        if self.lead_time_days is None:
            return None
        return self.today + timedelta(days=self.lead_time_days)

    def arrival(self, inbound: Inbound) -> date:
        """A purchase order already late is expected today at the earliest."""
        return max(inbound.expected_on, self.today)

    def new_to(self, locations: Collection[int]) -> Outlook:
        """The outlook with only the supply new to these locations: arriving at one of
        them, and not a transfer not yet shipped from one of them (units there now)."""
        kept = (
            i
            for i in self.inbound
            if (i.location is None or i.location in locations) and i.source not in locations
        )
        return replace(self, inbound=tuple(kept))

    def date_for(self, units_through: int) -> date | None:
        """When the queue's `units_through`-th waiting unit is covered."""
        covered = 0
        for inbound in self.inbound:
            covered += inbound.units
            if covered >= units_through:
                return self.arrival(inbound)
        return self.beyond_supply


def expected_dates(queue: Iterable[Queued], outlook: Outlook) -> Iterator[tuple[int, date | None]]:
    """Walk the queue in rank order against inbound supply ordered by expected date: a line's
    date is that of the purchase order covering its last unit; lines beyond all inbound
    supply get today plus the lead time (None when there is none: the date is unknown)."""
    supply = iter(outlook.inbound)
    current: Inbound | None = next(supply, None)
    left = current.units if current else 0
    for line in queue:
        need = line.backordered
        while current is not None and need > left:
            need -= left
            current = next(supply, None)
            left = current.units if current else 0
        if current is None:
            yield line.line_id, outlook.beyond_supply
            continue
        left -= need
        yield line.line_id, outlook.arrival(current)


@dataclass(frozen=True)
class Promisable:
    """From this date on, this many more units than are waiting can be promised."""

    on: date
    units: int


def available_to_promise(available: int, waiting: int, outlook: Outlook) -> list[Promisable]:
    """Units a new order could be promised by each future date: what is on the shelf and
    inbound by then, less what the queue already waits for. Cumulative, one entry per date
    on which the figure grows."""
    points: list[Promisable] = []
    free = available - waiting
    if free > 0:
        points.append(Promisable(outlook.today, free))
    for inbound in outlook.inbound:
        free += inbound.units
        if free <= 0:
            continue
        on = outlook.arrival(inbound)
        if points and points[-1].on == on:
            points[-1] = Promisable(on, free)
        else:
            points.append(Promisable(on, free))
    return points


def acceptance_refusal(product: Product, eta: date | None, outlook: Outlook) -> Refusal | None:
    """Why this SKU would not take a backorder expected on `eta`, if it would not: it needs a
    known date, caps the wait it will promise, or distrusts a supplier who is often late."""
    if product.require_known_date and eta is None:
        return Refusal.NO_KNOWN_DATE
    if product.max_lead_days is not None and (
        eta is None or (eta - outlook.today).days > product.max_lead_days
    ):
        return Refusal.LEAD_TIME_TOO_LONG
    if (
        product.min_on_time_percent is not None
        and outlook.on_time_percent is not None
        and outlook.on_time_percent < product.min_on_time_percent
    ):
        return Refusal.SUPPLIER_UNRELIABLE
    return None


def on_time_percent(completed: int, on_time: int) -> Decimal | None:
    """The share of a supplier's completed purchase orders that arrived by their first
    expected date, in percent; None before the first one completes."""
    if completed <= 0:
        return None
    return (Decimal(100) * on_time / completed).quantize(Decimal("0.1"))


def slipped(told: date | None, eta: date | None, threshold_days: int) -> bool:
    """Whether the customer must hear of a new date: it moved by more than the threshold,
    or became known, or became unknown."""
    if told is None or eta is None:
        return told != eta
    return abs((eta - told).days) > threshold_days
