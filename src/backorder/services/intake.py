"""Taking an order in: split every line against stock, queue what waits, refuse what the
SKU's limits refuse, and record it all with its events in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.allocation import Split, split_line
from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.domain.events import (
    Event,
    LineBackordered,
    LineSummary,
    OrderAccepted,
    OrderContext,
    SkuOutOfStock,
    UnitsAllocated,
    UnitsCancelled,
)
from backorder.domain.model import AllocationSource, OrderRequest, Preference
from backorder.domain.ranking import RankFacts, Ranking
from backorder.domain.sourcing import (
    MOST,
    Pick,
    ShipComplete,
    Site,
    eligible,
    from_home,
    home,
    source,
)
from backorder.domain.units import in_single_units
from backorder.services.context import Backorder
from backorder.services.schedule import reschedule, units_behind
from backorder.store.db import UnitOfWork
from backorder.store.inbound import inbound_at
from backorder.store.network import all_sites, change_holdings
from backorder.store.repos import Lines, Outbox, ProductRow, Products
from backorder.store.supply import outlooks
from backorder.store.tables import allocations, cancellations, order_lines, orders

INTAKE_RULE = "in stock at intake"


@dataclass(frozen=True)
class Placed:
    ref: str
    created: bool


def validate(request: OrderRequest) -> None:
    if not request.lines:
        raise InvalidRequest(f"order {request.ref} has no lines")
    for number, line in enumerate(request.lines, start=1):
        if line.quantity <= 0:
            raise InvalidRequest(f"order {request.ref} line {number}: quantity must be positive")
        if line.unit_price is not None and line.unit_price < 0:
            raise InvalidRequest(f"order {request.ref} line {number}: unit price is negative")
    if request.placed_at.tzinfo is None:
        raise InvalidRequest(f"order {request.ref}: placed_at needs a timezone")


def place_order(app: Backorder, request: OrderRequest) -> Placed:
    """Take one order in. A `CHANNEL:EXTERNAL_ID` seen before returns the existing order
    and changes nothing."""
    validate(request)
    with app.db.write() as uow:
        placed = place_in(app, uow, request)
        if placed.created:
            uow.commit()
    return placed


def place_in(app: Backorder, uow: UnitOfWork, request: OrderRequest) -> Placed:
    """Place a validated order in the caller's transaction, which commits it if it was
    created (a known reference changes nothing)."""
    placed, facts, now = stage_in(app, uow, request)
    Outbox(uow.connection).append(facts, now)
    return placed


def stage_in(
    app: Backorder, uow: UnitOfWork, request: OrderRequest
) -> tuple[Placed, list[Event], datetime]:
    """`place_in` but for its events, which the caller appends last, with the time they
    happened: on PostgreSQL appending events takes the lock that keeps event ids in commit
    order, and every other writer of events waits for it until this transaction commits,
    so nothing else should run between the two."""
    now = app.now()
    repo = Products(uow.connection)
    rows = repo.lock(line.sku for line in request.lines)
    for line in request.lines:
        if line.sku not in rows:
            raise UnknownSku(line.sku)
    request = _in_single_units(uow, request)
    # the locations that hold any of these SKUs: no other can fill a line of the order
    sites = eligible(list(repo.sites.values()), request.ship_country)
    facts = _split_and_record(app, uow, request, (rows, sites), now)
    if facts is None:
        return Placed(request.ref, created=False), [], now
    Products(uow.connection).save_stocks(list(rows.values()), now)
    return Placed(request.ref, created=True), facts, now


MAX_UNITS = 1_000_000_000  # single units on one line, once packs are counted out


def _in_single_units(uow: UnitOfWork, request: OrderRequest) -> OrderRequest:
    """The order with every line counted in single units: a line ordered in cases is
    multiplied out by its pack (the buyer's, else the catalogue's)."""
    packed = [line.sku for line in request.lines if line.ordered is not None]
    if not packed:
        return request
    packs = Products(uow.connection).packs(packed)
    lines = tuple(in_single_units(line, packs.get(line.sku, {})) for line in request.lines)
    for number, line in enumerate(lines, start=1):
        if line.quantity > MAX_UNITS:
            raise InvalidRequest(
                f"order {request.ref} line {number}: {line.quantity:,} units is more than "
                f"{MAX_UNITS:,} on one line"
            )
    return replace(request, lines=lines)


# One statement per dialect, built once: insert unless the reference is known. On PostgreSQL a
# concurrent duplicate waits for the first insert to commit, then inserts nothing.
_INSERT_ORDER = {
    name: dialect.insert(orders)
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(orders.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_LINES = insert(order_lines).returning(order_lines.c.id, sort_by_parameter_order=True)
_INSERT_ALLOCATIONS = insert(allocations)
_INSERT_CANCELLATIONS = insert(cancellations)


def _insert_order(
    uow: UnitOfWork, request: OrderRequest, waited_lines: int, now: datetime
) -> int | None:
    """The new order's id, or None when its reference is already known."""
    customer, terms = request.customer, request.terms
    values = {
        "channel": request.channel,
        "external_id": request.external_id,
        "placed_at": request.placed_at,
        "received_at": now,
        "customer_id": customer.id,
        "customer_name": customer.name,
        "customer_email": customer.email,
        "customer_phone": customer.phone,
        "customer_tier": customer.tier.value,
        "customer_sms_consent": customer.sms_consent,
        "customer_language": customer.language,
        "display_number": request.display_number,
        "currency": request.currency,
        "shipping_method": terms.shipping_method.value,
        "shipping_preference": terms.preference.value,
        "payment_timing": terms.payment_timing.value,
        "expedite": terms.expedite,
        "ship_country": request.ship_country,
        "line_count": len(request.lines),
        "waited_lines": waited_lines,
    }
    order_id = uow.connection.execute(_INSERT_ORDER[uow.dialect], values).scalar_one_or_none()
    return None if order_id is None else int(order_id)


def _one_location(app: Backorder, request: OrderRequest) -> bool:
    """A ship-complete order the shop does not consolidate: one location only."""
    return (
        request.terms.preference is Preference.SHIP_COMPLETE
        and app.settings.ship_complete is ShipComplete.ONE_LOCATION
    )


def _home(
    app: Backorder,
    uow: UnitOfWork,
    request: OrderRequest,
    rows: dict[str, ProductRow],
    free: dict[tuple[int, int], int],
    sites: list[Site],
) -> tuple[Site, str] | None:
    """The one location a ship-complete order is sourced from (None: not such an order, or
    no location holds any of it yet). When none holds all of it, what is on its way to each
    location counts too (one more statement, on that path only)."""
    if not _one_location(app, request):
        return None
    wanted = [(rows[line.sku].id, line.quantity) for line in request.lines]
    found = home(wanted, free, sites)
    default = next((s.id for s in sites if s.code == app.settings.default_location), None)
    if found is None or found[1] != MOST or default is None:
        return found
    ids = sorted({product for product, _ in wanted})
    arriving = {
        (product, location): sum(item.units for item in items)
        for product, places in inbound_at(uow.connection, ids, default).items()
        for location, items in places.items()
    }
    return home(wanted, free, sites, arriving)


def _split_and_record(
    app: Backorder,
    uow: UnitOfWork,
    request: OrderRequest,
    locked: tuple[dict[str, ProductRow], list[Site]],
    now: datetime,
) -> list[Event] | None:
    """Split each line, then write the order, its lines and what the split did, with the
    events; None (nothing written) when the order's reference is already known. `locked`:
    the locked rows by SKU, and the locations that can serve the order in sourcing order."""
    rows, sites = locked
    capped = [row.id for row in rows.values() if row.product.max_per_customer is not None]
    waiting = Lines(uow.connection).customer_backordered(request.customer.id, capped)
    context = OrderContext(request.ref, request.customer, request.currency, request.terms)
    facts = RankFacts(request.terms.expedite, request.customer.tier, request.terms.shipping_method)
    was_available = {sku: row.stock.available for sku, row in rows.items()}
    free = {(row.id, site.id): row.available_at(site.id) for row in rows.values() for site in sites}
    anchor = _home(app, uow, request, rows, free, sites)
    if anchor is not None or _one_location(app, request):
        # sourced whole from its home: only what the home holds is free for it
        sites = [anchor[0]] if anchor else []
        free = {key: units for key, units in free.items() if sites and key[1] == sites[0].id}
    left = {row.id: sum(free.get((row.id, site.id), 0) for site in sites) for row in rows.values()}
    wanted_units: dict[str, int] = {}
    for wanted in request.lines:
        wanted_units[wanted.sku] = wanted_units.get(wanted.sku, 0) + wanted.quantity
    short = [row for sku, row in rows.items() if wanted_units.get(sku, 0) > left[row.id]]
    supply = outlooks(uow.connection, short, now.date())
    # the supply that counts for this order's backorders: new to the locations that can
    # serve it (every one, read only when a line is short: one may hold none of it yet);
    # its n-th unit's date is a bound where some supply serves only some lines
    serving = (
        {
            site.id
            for site in eligible(all_sites(uow.connection), request.ship_country)
            if site.accepts_backorders
        }
        if short
        else set()
    )
    walk_again: dict[str, ProductRow] = {}
    # each SKU's queue order for this order's lines: its ranking, base and current class
    classes: dict[int, tuple[Ranking, int, int]] = {}
    for row in rows.values():
        ranking = app.ranking(row.product.queue)
        base = ranking.base_class(facts)
        classes[row.id] = (ranking, base, ranking.current_class(base, request.placed_at, now))
    # the units already waiting that would rank after these lines, for every short SKU with
    # a queue, in one statement (a SKU with none waiting has none behind)
    behind = units_behind(
        uow,
        {
            row.id: (classes[row.id][2], request.placed_at)
            for row in rows.values()
            if row.id in supply and row.stock.backordered
        },
    )

    line_values: list[dict[str, Any]] = []
    splits: list[tuple[Split, Ranking]] = []
    for number, wanted in enumerate(request.lines, start=1):
        row = rows[wanted.sku]
        ranking, base, current = classes[row.id]
        outlook = None
        # what the locations that can serve this order have free, as split_line sees it
        stock = replace(row.stock, on_hand=row.stock.allocated + left[row.id])
        if row.id in supply and wanted.quantity > left[row.id]:
            outlook = (supply[row.id].new_to(serving), behind.get(row.id, 0))
        split = split_line(
            wanted.quantity, row.product, stock, waiting.get(row.id, 0), now, outlook
        )
        if split.backorder and outlook is not None and outlook[1]:
            walk_again[row.product.sku] = row  # joined ahead of others: their dates move
        left[row.id] -= split.allocate
        row.stock.backordered += split.backorder
        waiting[row.id] = waiting.get(row.id, 0) + split.backorder
        line_values.append(
            {
                "line_no": number,
                "product_id": row.id,
                "variant": wanted.variant,
                "ordered_quantity": wanted.ordered.quantity if wanted.ordered else None,
                "ordered_unit": wanted.ordered.unit if wanted.ordered else None,
                "ordered_pack": wanted.ordered.pack if wanted.ordered else None,
                "quantity": wanted.quantity,
                "allocated": split.allocate,
                "backordered": split.backorder,
                "shipped": 0,
                "cancelled": split.cancel,
                "unit_price": wanted.unit_price
                if wanted.unit_price is not None
                else row.product.unit_price,
                "placed_at": request.placed_at,
                "base_class": base,
                "rank_class": current,
                "climbs_at": ranking.next_climb(base, current, request.placed_at),
                "eta": split.eta,
                "promised": split.eta,
                "eta_told": split.eta,
                "backordered_at": now if split.backorder else None,
            }
        )
        splits.append((split, ranking))

    order_id = _insert_order(uow, request, sum(1 for s, _ in splits if s.backorder), now)
    if order_id is None:
        return None
    if anchor is not None:
        picks = from_home(*anchor, [s.allocate for s, _ in splits])
    else:
        picks = source(
            [(rows[w.sku].id, s.allocate) for w, (s, _) in zip(request.lines, splits, strict=True)],
            free,
            sites,
        )
    code = {site.id: site.code for site in sites}
    picked: dict[int, list[Pick]] = {}
    for pick in picks:
        rows[request.lines[pick.line].sku].allocate(pick.location, pick.units)
        picked.setdefault(pick.line, []).append(pick)
    for values in line_values:
        values["order_id"] = order_id
    ids = (
        uow.connection.execute(
            _INSERT_LINES,
            line_values,
        )
        .scalars()
        .all()
    )

    events: list[Event] = []
    allocation_log: list[dict[str, Any]] = []
    cancel_log: list[dict[str, Any]] = []
    summaries: list[LineSummary] = []
    holdings: list[tuple[int, int, int]] = []
    for index, (line_id, values, (split, ranking), wanted) in enumerate(
        zip(ids, line_values, splits, request.lines, strict=True)
    ):
        number, price = values["line_no"], values["unit_price"]
        summaries.append(
            LineSummary(
                number,
                wanted.sku,
                wanted.quantity,
                split.allocate,
                split.backorder,
                split.cancel,
                price,
                values["eta"],
                wanted.ordered,
            )
        )
        if split.allocate:
            for pick in picked[index]:
                holdings.append((line_id, pick.location, pick.units))
                allocation_log.append(
                    {
                        "line_id": line_id,
                        "units": pick.units,
                        "allocated_at": now,
                        "source": AllocationSource.INTAKE,
                        "ref": None,
                        "position": None,
                        "rank_class": values["rank_class"],
                        "rule": INTAKE_RULE,
                        "location_id": pick.location,
                        "sourcing": pick.why,
                    }
                )
            events.append(
                UnitsAllocated(
                    order=context,
                    sku=wanted.sku,
                    line=number,
                    units=split.allocate,
                    still_backordered=split.backorder,
                    unit_price=price,
                    value=price * split.allocate,
                    source=AllocationSource.INTAKE,
                    ref=None,
                    why={
                        "position": None,
                        "strategy": ranking.strategy.value,
                        "rule": INTAKE_RULE,
                        "source": AllocationSource.INTAKE,
                        "locations": [
                            {"location": code[p.location], "units": p.units, "why": p.why}
                            for p in picked[index]
                        ],
                    },
                )
            )
        if split.backorder:
            events.append(
                LineBackordered(
                    order=context,
                    sku=wanted.sku,
                    line=number,
                    quantity=wanted.quantity,
                    backordered=split.backorder,
                    unit_price=price,
                    value=price * split.backorder,
                    eta=values["eta"],
                    rule=ranking.explain(values["base_class"], values["rank_class"]),
                )
            )
        if split.cancel:
            reason = split.refusal.value if split.refusal else "refused"
            cancel_log.append(
                {
                    "line_id": line_id,
                    "units": split.cancel,
                    "from_allocated": 0,
                    "from_backordered": 0,
                    "reason": reason,
                    "cancelled_at": now,
                }
            )
            events.append(
                UnitsCancelled(
                    order=context,
                    sku=wanted.sku,
                    line=number,
                    units=split.cancel,
                    from_backordered=0,
                    from_allocated=0,
                    reason=reason,
                    unit_price=price,
                    value=price * split.cancel,
                )
            )
    if allocation_log:
        uow.connection.execute(_INSERT_ALLOCATIONS, allocation_log)
        change_holdings(uow.connection, holdings)
    if cancel_log:
        uow.connection.execute(_INSERT_CANCELLATIONS, cancel_log)

    total = sum((s.unit_price * s.quantity for s in summaries), Decimal(0))
    waiting_value = sum((s.unit_price * s.backordered for s in summaries), Decimal(0))
    accepted = OrderAccepted(
        order=context,
        placed_at=request.placed_at,
        lines=tuple(summaries),
        total_value=total,
        backordered_value=waiting_value,
    )
    out_of_stock: list[Event] = [
        SkuOutOfStock(
            sku=sku,
            on_hand=row.stock.on_hand,
            allocated=row.stock.allocated,
            backordered=row.stock.backordered,
        )
        for sku, row in sorted(rows.items())
        if was_available[sku] > 0 and row.stock.available == 0
    ]
    moved = reschedule(uow, walk_again.values(), now, app.settings.eta_change_days)
    return [accepted, *events, *out_of_stock, *moved]
