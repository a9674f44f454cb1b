"""Moving units between a SKU's queue and its stock: serving the queue, taking back,
climbing classes. Called inside a use case's transaction, never on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from backorder.domain.allocation import Holding, Waiting, serve_queue, take_back
from backorder.domain.events import AllocationTakenBack, Event, UnitsAllocated
from backorder.domain.model import AllocationSource
from backorder.domain.ranking import Ranking
from backorder.domain.sourcing import ShipComplete, Site, site_order
from backorder.store.db import UnitOfWork
from backorder.store.network import change_holdings
from backorder.store.repos import LineRow, Lines, ProductRow, rank_facts_from_row
from backorder.store.tables import allocations

BATCH = 500
RECEIVED_HERE = "served from the stock here"


@dataclass
class Moved:
    lines: int = 0
    units: int = 0
    events: list[Event] = field(default_factory=list)


def climb_due(uow: UnitOfWork, row: ProductRow, ranking: Ranking, now: datetime) -> None:
    """Lines that have waited past an aging period climb a class before anyone is served."""
    if ranking.aging_days is None:
        return
    lines = Lines(uow.connection)
    ranks = []
    for due in lines.due_to_climb(row.id, now):
        current = ranking.current_class(due.base_class, due.placed_at, now)
        ranks.append(
            {
                "lid": due.id,
                "base_class": due.base_class,
                "rank_class": current,
                "climbs_at": ranking.next_climb(due.base_class, current, due.placed_at),
            }
        )
    lines.set_ranks(ranks)


def rerank(
    uow: UnitOfWork,
    row: ProductRow,
    ranking: Ranking,
    now: datetime,
    only_order: int | None = None,
) -> int:
    """Rank the open lines of a SKU afresh (its strategy or an order's flags changed):
    all of them, or those of one order."""
    lines = Lines(uow.connection)
    ranks = []
    for waiting in lines.waiting_facts(row.id, only_order):
        base = ranking.base_class(rank_facts_from_row(waiting))
        current = ranking.current_class(base, waiting["placed_at"], now)
        ranks.append(
            {
                "lid": waiting["id"],
                "base_class": base,
                "rank_class": current,
                "climbs_at": ranking.next_climb(base, current, waiting["placed_at"]),
            }
        )
    lines.set_ranks(ranks)
    return len(ranks)


def why(
    line: LineRow, ranking: Ranking, position: int | None, source: AllocationSource
) -> dict[str, Any]:
    """The answer to "why did they get it before me?"."""
    return {
        "position": position,
        "strategy": ranking.strategy.value,
        "rank_class": line.rank_class,
        "rule": ranking.explain(line.base_class, line.rank_class),
        "placed_at": line.placed_at.isoformat(),
        "source": source,
    }


def serve(
    uow: UnitOfWork,
    row: ProductRow,
    ranking: Ranking,
    source: tuple[AllocationSource, str | None],
    now: datetime,
    site: Site,
    *,
    ship_complete: ShipComplete,
) -> Moved:
    """Hand the units available at `site` to the SKU's one network queue in rank order,
    among the lines that location can serve (under `ShipComplete.ONE_LOCATION`, not those
    of a ship-complete order whose home is elsewhere). `source` is (kind, ref)."""
    kind, ref = source
    moved = Moved()
    if not site.serves_queue(None):
        return moved
    if row.available_at(site.id) <= 0 or row.stock.backordered <= 0:
        return moved
    climb_due(uow, row, ranking, now)
    lines = Lines(uow.connection)
    while row.available_at(site.id) > 0:
        available = row.available_at(site.id)
        limit = min(available, BATCH)
        home = site.id if ship_complete is ShipComplete.ONE_LOCATION else None
        batch = lines.queue_head(row.id, limit=limit, ships_to=site.ships_to, home=home)
        if not batch:
            break
        by_id = {line.id: line for line in batch}
        allotments = serve_queue(
            available,
            [Waiting(line.id, line.qty.backordered) for line in batch],
            first_position=moved.lines + 1,
        )
        served: list[LineRow] = []
        log: list[dict[str, Any]] = []
        for allotment in allotments:
            line = by_id[allotment.line_id]
            line.qty.allocated += allotment.units
            line.qty.backordered -= allotment.units
            row.allocate(site.id, allotment.units)
            row.stock.backordered -= allotment.units
            served.append(line)
            reason = why(line, ranking, allotment.position, kind)
            reason["location"] = site.code
            log.append(
                {
                    "line_id": line.id,
                    "units": allotment.units,
                    "allocated_at": now,
                    "source": kind,
                    "ref": ref,
                    "position": allotment.position,
                    "rank_class": line.rank_class,
                    "rule": reason["rule"],
                    "location_id": site.id,
                    "sourcing": RECEIVED_HERE,
                }
            )
            moved.events.append(
                UnitsAllocated(
                    order=line.order,
                    sku=row.product.sku,
                    line=line.line_no,
                    units=allotment.units,
                    still_backordered=line.qty.backordered,
                    unit_price=line.unit_price,
                    value=line.unit_price * allotment.units,
                    source=kind,
                    ref=ref,
                    why=reason,
                )
            )
            moved.units += allotment.units
        moved.lines += len(allotments)
        lines.save_quantities(served, now)
        uow.connection.execute(insert(allocations), log)
        change_holdings(uow.connection, [(e["line_id"], site.id, e["units"]) for e in log])
        if len(batch) < limit:
            break  # the queue is empty now
    return moved


def serve_network(
    uow: UnitOfWork,
    row: ProductRow,
    ranking: Ranking,
    source: tuple[AllocationSource, str | None],
    now: datetime,
    sites: list[Site],
    *,
    ship_complete: ShipComplete,
) -> Moved:
    """Serve the queue from every location with units available, in sourcing order, so
    that no available unit sits beside a line that location can serve."""
    total = Moved()
    for site in sorted(sites, key=site_order):
        if row.stock.backordered <= 0:
            break
        if row.available_at(site.id) > 0:
            moved = serve(uow, row, ranking, source, now, site, ship_complete=ship_complete)
            total.lines += moved.lines
            total.units += moved.units
            total.events.extend(moved.events)
    return total


def take_back_excess(
    uow: UnitOfWork, row: ProductRow, reason: str, now: datetime, location: int
) -> Moved:
    """On hand at a location fell below what is allocated there: the lowest-ranked
    allocations at that location go back to waiting."""
    moved = Moved()
    lines = Lines(uow.connection)
    level = row.level(location)
    while level.allocated > level.on_hand:
        excess = level.allocated - level.on_hand
        found = lines.lowest_holders_at(row.id, location, limit=min(excess, BATCH))
        if not found:
            raise RuntimeError(f"{row.product.sku}: allocated units without holders")
        by_id = {line.id: line for line, _ in found}
        taken = take_back(excess, [Holding(line.id, held) for line, held in found])
        changed = []
        for allotment in taken:
            line = by_id[allotment.line_id]
            line.qty.allocated -= allotment.units
            line.qty.backordered += allotment.units
            row.allocate(location, -allotment.units)
            row.stock.backordered += allotment.units
            changed.append(line)
            moved.events.append(
                AllocationTakenBack(
                    order=line.order,
                    sku=row.product.sku,
                    line=line.line_no,
                    units=allotment.units,
                    still_allocated=line.qty.allocated,
                    backordered=line.qty.backordered,
                    reason=reason,
                    eta=line.eta,
                    unit_price=line.unit_price,
                    value=line.unit_price * allotment.units,
                )
            )
            moved.units += allotment.units
        moved.lines += len(taken)
        lines.save_quantities(changed, now)
        lines.mark_waiting([line.id for line in changed], now)
        change_holdings(uow.connection, [(a.line_id, location, -a.units) for a in taken])
    return moved
