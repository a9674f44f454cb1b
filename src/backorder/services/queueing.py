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
from backorder.store.db import UnitOfWork
from backorder.store.repos import LineRow, Lines, ProductRow, rank_facts_from_row
from backorder.store.tables import allocations

BATCH = 500


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
) -> Moved:
    """Hand the SKU's available units to its queue in rank order. `source` is (kind, ref)."""
    kind, ref = source
    moved = Moved()
    if row.stock.available <= 0 or row.stock.backordered <= 0:
        return moved
    climb_due(uow, row, ranking, now)
    lines = Lines(uow.connection)
    while row.stock.available > 0:
        limit = min(row.stock.available, BATCH)
        batch = lines.queue_head(row.id, limit=limit)
        if not batch:
            break
        by_id = {line.id: line for line in batch}
        allotments = serve_queue(
            row.stock.available,
            [Waiting(line.id, line.qty.backordered) for line in batch],
            first_position=moved.lines + 1,
        )
        served: list[LineRow] = []
        log: list[dict[str, Any]] = []
        for allotment in allotments:
            line = by_id[allotment.line_id]
            line.qty.allocated += allotment.units
            line.qty.backordered -= allotment.units
            row.stock.allocated += allotment.units
            row.stock.backordered -= allotment.units
            served.append(line)
            reason = why(line, ranking, allotment.position, kind)
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
        if len(batch) < limit:
            break  # the queue is empty now
    return moved


def take_back_excess(uow: UnitOfWork, row: ProductRow, reason: str, now: datetime) -> Moved:
    """On hand fell below allocated: the lowest-ranked allocations go back to waiting."""
    moved = Moved()
    lines = Lines(uow.connection)
    while row.stock.allocated > row.stock.on_hand:
        excess = row.stock.allocated - row.stock.on_hand
        batch = lines.lowest_holders(row.id, limit=min(excess, BATCH))
        if not batch:
            raise RuntimeError(f"{row.product.sku}: allocated units without holders")
        by_id = {line.id: line for line in batch}
        taken = take_back(excess, [Holding(line.id, line.qty.allocated) for line in batch])
        changed = []
        for allotment in taken:
            line = by_id[allotment.line_id]
            line.qty.allocated -= allotment.units
            line.qty.backordered += allotment.units
            row.stock.allocated -= allotment.units
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
    return moved
