"""How units move: the intake split, serving a queue, taking back, cancelling, shipping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from backorder.domain.errors import ImpossibleCancel, InvalidRequest, NotReadyToShip
from backorder.domain.model import (
    LineQuantities,
    Policy,
    Preference,
    Product,
    Refusal,
    StockLevel,
)
from backorder.domain.supply import Outlook, acceptance_refusal


@dataclass(frozen=True)
class Split:
    """What intake makes of one requested line."""

    allocate: int
    backorder: int
    cancel: int
    refusal: Refusal | None = None
    eta: date | None = None  # when the backordered units are expected


def backorder_refusal(product: Product, now: datetime) -> Refusal | None:
    """Why this SKU takes no new backorders at all right now, if it does not."""
    if product.discontinued:
        return Refusal.DISCONTINUED
    if product.policy is Policy.DENY:
        return Refusal.NOT_BACKORDERABLE
    if product.backorder_until is not None and now.date() > product.backorder_until:
        return Refusal.BACKORDER_WINDOW_CLOSED
    return None


def split_line(
    quantity: int,
    product: Product,
    stock: StockLevel,
    customer_backordered: int,
    now: datetime,
    outlook: tuple[Outlook, int] | None = None,
) -> Split:
    """A line takes what is available now; the rest waits if the SKU's limits allow it,
    and what they do not allow is cancelled with the reason. Given the SKU's outlook and
    the units that rank behind the new line, the backorder gets its expected date, and is
    refused when that date breaks the SKU's acceptance policy."""
    if quantity <= 0:
        raise InvalidRequest(f"quantity of {product.sku} must be positive, got {quantity}")
    allocate = min(quantity, stock.available)
    rest = quantity - allocate
    if rest == 0:
        return Split(allocate, 0, 0)
    refusal = backorder_refusal(product, now)
    if refusal is not None:
        return Split(allocate, 0, rest, refusal)
    backorder = rest
    if product.max_per_customer is not None:
        room = max(0, product.max_per_customer - customer_backordered)
        if backorder > room:
            backorder, refusal = room, Refusal.OVER_CUSTOMER_LIMIT
    if product.backorder_cap is not None:
        room = max(0, product.backorder_cap - stock.backordered)
        if backorder > room:
            backorder, refusal = room, Refusal.OVER_BACKORDER_CAP
    eta = None
    if backorder and outlook is not None:
        supply, behind = outlook
        eta = supply.date_for(stock.backordered - behind + backorder)
        policy = acceptance_refusal(product, eta, supply)
        if policy is not None:
            return Split(allocate, 0, rest, policy)
    return Split(allocate, backorder, rest - backorder, refusal, eta)


@dataclass(frozen=True)
class Waiting:
    """A queued line as the queue walk sees it: in rank order, with what it still waits for."""

    line_id: int
    backordered: int


@dataclass(frozen=True)
class Allotment:
    line_id: int
    units: int
    position: int


def serve_queue(units: int, queue: Iterable[Waiting], first_position: int = 1) -> list[Allotment]:
    """Walk the queue in rank order, filling whole lines while stock lasts; the last line
    served may be filled in part."""
    allotments: list[Allotment] = []
    for position, entry in enumerate(queue, start=first_position):
        if units <= 0:
            break
        give = min(units, entry.backordered)
        allotments.append(Allotment(entry.line_id, give, position))
        units -= give
    return allotments


@dataclass(frozen=True)
class Holding:
    """A line holding allocated units, as the take-back walk sees it (lowest rank first)."""

    line_id: int
    allocated: int


def take_back(units: int, lowest_ranked_first: Iterable[Holding]) -> list[Allotment]:
    """Stock counted below what is allocated: the lowest-ranked allocations go back to waiting."""
    taken: list[Allotment] = []
    for position, holding in enumerate(lowest_ranked_first, start=1):
        if units <= 0:
            break
        back = min(units, holding.allocated)
        taken.append(Allotment(holding.line_id, back, position))
        units -= back
    return taken


@dataclass(frozen=True)
class CancelPlan:
    from_backordered: int
    from_allocated: int

    @property
    def units(self) -> int:
        return self.from_backordered + self.from_allocated


def plan_cancel(line: LineQuantities, units: int | None) -> CancelPlan:
    """Cancel what still waits first, then what is allocated; shipped units cannot be cancelled.
    `units=None` cancels everything still open."""
    if units is None:
        units = line.open
        if units == 0:
            raise ImpossibleCancel("nothing left open on the line to cancel")
    elif units <= 0:
        raise ImpossibleCancel(f"cancel quantity must be positive, got {units}")
    if units > line.open:
        raise ImpossibleCancel(
            f"only {line.open} unit(s) still open on the line, cannot cancel {units}"
        )
    from_backordered = min(units, line.backordered)
    return CancelPlan(from_backordered, units - from_backordered)


def plan_shipment(lines: dict[int, LineQuantities], preference: Preference) -> dict[int, int]:
    """Units to ship per line number. `ship_available` ships what is allocated now;
    `ship_complete` ships only once every open unit is allocated."""
    if preference is Preference.SHIP_COMPLETE:
        waiting = sum(line.backordered for line in lines.values())
        if waiting:
            raise NotReadyToShip(f"ship_complete order still waits for {waiting} unit(s)")
    units = {number: line.allocated for number, line in lines.items() if line.allocated > 0}
    if not units:
        raise NotReadyToShip("nothing allocated to ship")
    return units
