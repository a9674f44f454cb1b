"""The ways to get a SKU's units, read for a whole batch of SKUs at once: every supplier's
terms for it with its measured lateness, and what each active location can spare.

Terms without a cost are weighed at the preferred supplier's cost, else at the dearest
known cost of the SKU's other suppliers (so a supplier without a price never wins on price
alone); a SKU none of whose suppliers has a cost gets no purchase option (the plan counts
it as `no_cost`). Lateness and fill rate: the supplier's closed lines of this SKU when it
has at least 3 in the last 12 months, else all its closed lines, else none (taken as on
time, and the reasons say it has no record): services.supplier_performance reads them.

A location's surplus for a transfer: on hand - allocated - units already planned to leave
it - its own safety stock - its own forecast demand over the transfer and the review after
it (from its location forecast; none: 0)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from backorder.domain.replenishment import Lateness, Option
from backorder.domain.supplier_performance import ClosedLine, lateness_days
from backorder.services.supplier_performance import closed_lines_by_sku
from backorder.store.tables import locations, product_suppliers, stock_levels, suppliers, transfers

MIN_SKU_LINES = 3


@dataclass(frozen=True)
class Terms:
    supplier: str
    name: str
    cost: Decimal | None
    lead_days: int
    moq: int
    pack: int


@dataclass(frozen=True)
class Measured:
    lateness: Lateness
    source: str  # sku | supplier | none
    lines: int


@dataclass(frozen=True)
class Site:
    id: int
    code: str
    name: str


def terms_of(conn: Connection, product_ids: Sequence[int]) -> dict[int, list[Terms]]:
    """Every supplier's terms per product: one query."""
    if not product_ids:
        return {}
    ps = product_suppliers.c
    found: dict[int, list[Terms]] = defaultdict(list)
    for row in conn.execute(
        select(ps.product_id, ps.supplier_id, suppliers.c.name, ps.cost, ps.lead_time_days)
        .add_columns(ps.moq, ps.pack)
        .join(suppliers, suppliers.c.id == ps.supplier_id)
        .where(ps.product_id.in_(sorted(set(product_ids))))
        .order_by(ps.product_id, ps.supplier_id)
    ):
        found[row.product_id].append(
            Terms(row.supplier_id, row.name, row.cost, row.lead_time_days, row.moq, row.pack)
        )
    return found


def _lateness(lines: Sequence[ClosedLine]) -> Lateness:
    days = tuple(d for d in (lateness_days(line) for line in lines) if d is not None)
    ordered = sum(line.ordered for line in lines)
    received = sum(line.received for line in lines)
    fill = min(1.0, received / ordered) if ordered else 1.0
    return Lateness(days, fill)


def measured(
    conn: Connection, terms: dict[int, list[Terms]], today: date
) -> dict[tuple[str, int], Measured]:
    """Per (supplier, product): the lateness its options are weighed with (one query)."""
    ids = sorted({t.supplier for listed in terms.values() for t in listed})
    lines = closed_lines_by_sku(conn, ids, today, None)
    by_supplier: dict[str, list[ClosedLine]] = defaultdict(list)
    for (supplier, _), found in lines.items():
        by_supplier[supplier].extend(found)
    result = {}
    for product_id, listed in terms.items():
        for t in listed:
            own = lines.get((t.supplier, product_id), [])
            if len(own) >= MIN_SKU_LINES:
                result[(t.supplier, product_id)] = Measured(_lateness(own), "sku", len(own))
            elif by_supplier.get(t.supplier):
                every = by_supplier[t.supplier]
                result[(t.supplier, product_id)] = Measured(
                    _lateness(every), "supplier", len(every)
                )
            else:
                result[(t.supplier, product_id)] = Measured(Lateness(), "none", 0)
    return result


def _assumed_cost(listed: Sequence[Terms], preferred: str | None) -> Decimal | None:
    costs = {t.supplier: t.cost for t in listed if t.cost is not None}
    if preferred in costs:
        return costs[preferred]
    return max(costs.values(), default=None)


def purchase_options(
    product_id: int,
    listed: Sequence[Terms],
    preferred: str | None,
    lateness: dict[tuple[str, int], Measured],
) -> tuple[list[Option], dict[str, dict[str, Any]]]:
    """A SKU's purchase options, and per supplier how it was weighed (for the facts)."""
    assumed = _assumed_cost(listed, preferred)
    if assumed is None:
        return [], {}
    options, notes = [], {}
    for t in listed:
        m = lateness[(t.supplier, product_id)]
        options.append(
            Option(
                kind="purchase",
                source=t.supplier,
                name=t.name,
                unit_cost=t.cost if t.cost is not None else assumed,
                lead_days=t.lead_days,
                lateness=m.lateness,
                moq=t.moq,
                pack=t.pack,
                preferred=t.supplier == preferred,
            )
        )
        notes[t.supplier] = {
            "cost_assumed": t.cost is None,
            "lateness_from": m.source,
            "lines": m.lines,
        }
    return options, notes


def sites(conn: Connection) -> dict[int, Site]:
    """The active locations."""
    c = locations.c
    return {
        row.id: Site(row.id, row.code, row.name)
        for row in conn.execute(select(c.id, c.code, c.name).where(c.active.is_(True)))
    }


def free_at(conn: Connection, product_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """Per (product, location): on hand - allocated - units planned to leave (not shipped
    yet): two queries for the batch."""
    if not product_ids:
        return {}
    s, t = stock_levels.c, transfers.c
    wanted = sorted(set(product_ids))
    leaving = {
        (pid, lid): int(units)
        for pid, lid, units in conn.execute(
            select(t.product_id, t.from_location_id, func.sum(t.quantity - t.received))
            .where(t.product_id.in_(wanted), t.state == "planned")
            .group_by(t.product_id, t.from_location_id)
        )
    }
    return {
        (pid, lid): int(on_hand) - int(allocated) - leaving.get((pid, lid), 0)
        for pid, lid, on_hand, allocated in conn.execute(
            select(s.product_id, s.location_id, s.on_hand, s.allocated).where(
                s.product_id.in_(wanted)
            )
        )
    }


def transfer_option(site: Site, surplus: int, settings: Any) -> Option:
    return Option(
        kind="transfer",
        source=site.code,
        name=site.name,
        unit_cost=settings.transfer_unit_cost,
        lead_days=settings.transfer_days,
        max_units=surplus,
    )
