"""Substitute offers (opt-in, `BACKORDER_SUBSTITUTE_OFFER_DAYS`): a worker step offers each
line that has waited longer than that the best-ranked substitute with units to spare for all
it waits for (once per line), and lets open offers lapse when they expire or withdraws them
when the line stops waiting. The customer hears of the offer by e-mail (`substitute_offer`)
and answers on the order page (services/substitute_answers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, update

from backorder.domain.events import Event, SubstituteOffered, SubstituteSettled
from backorder.domain.sourcing import Site, eligible
from backorder.domain.substitutes import Candidate, OfferState, choose, expires
from backorder.services.context import Backorder
from backorder.store.network import all_sites
from backorder.store.repos import (
    LineRow,
    Outbox,
    ProductRow,
    Products,
    line_from_row,
    line_select,
)
from backorder.store.tables import (
    order_lines,
    orders,
    product_substitutes,
    products,
    substitute_offers,
)

BATCH = 500  # lines offered per pass at most; the next pass goes on

ol, ps, so = order_lines.c, product_substitutes.c, substitute_offers.c


def run_offers(app: Backorder) -> dict[str, int]:
    """The worker's step: settle the open offers that lapsed or are moot, then make the
    offers that are due. Counts, only of what happened (an idle pass reports nothing)."""
    counts = settle_open(app)
    days = app.settings.substitute_offer_days
    if days is not None:
        offered = make_offers(app, app.now() - timedelta(days=days))
        if offered:
            counts["substitutes_offered"] = offered
    return counts


def _due_lines(conn: Connection, cutoff: datetime) -> list[Any]:
    """Waiting lines (in single units) older than the cutoff, never offered, of a SKU with
    a substitute that may have enough to spare: the longest waiting first."""
    sub = products.alias("sub")
    with_spare = (
        select(ps.product_id)
        .join(sub, sub.c.id == ps.substitute_id)
        .where(
            ps.product_id == ol.product_id,
            sub.c.on_hand - sub.c.allocated - sub.c.backordered >= ol.backordered,
        )
        .exists()
    )
    offered = exists().where(so.line_id == ol.id)
    query = (
        select(
            ol.id,
            ol.product_id,
            func.coalesce(ol.eta_told, ol.eta).label("told"),
            orders.c.ship_country,
        )
        .join(orders, orders.c.id == ol.order_id)
        .where(
            ol.product_id.in_(select(ps.product_id).distinct()),
            ol.backordered > 0,
            ol.backordered_at <= cutoff,
            ol.ordered_unit.is_(None),
            with_spare,
            ~offered,
        )
        .order_by(ol.backordered_at, ol.id)
        .limit(BATCH)
    )
    return list(conn.execute(query).all())


def _candidates(conn: Connection, product_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """Per SKU, its substitutes: (rank, product id), best first."""
    found: dict[int, list[tuple[int, int]]] = {}
    query = (
        select(ps.product_id, ps.rank, ps.substitute_id)
        .where(ps.product_id.in_(product_ids))
        .order_by(ps.product_id, ps.rank)
    )
    for product_id, rank, substitute_id in conn.execute(query):
        found.setdefault(int(product_id), []).append((int(rank), int(substitute_id)))
    return found


def _held_out(conn: Connection, substitute_ids: list[int]) -> dict[int, int]:
    """Units the open offers of each substitute promise."""
    query = (
        select(so.substitute_id, func.sum(so.units))
        .where(so.state == OfferState.OFFERED.value, so.substitute_id.in_(substitute_ids))
        .group_by(so.substitute_id)
    )
    return {int(pid): int(units) for pid, units in conn.execute(query)}


def make_offers(app: Backorder, cutoff: datetime) -> int:
    """Offer a substitute to every due line that one can cover, in one transaction with the
    substitutes' rows locked (so an acceptance elsewhere sees the same stock). How many."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        due = _due_lines(conn, cutoff)
        if not due:
            return 0
        options = _candidates(conn, sorted({int(row.product_id) for row in due}))
        rows = Products(conn).lock_by_id({pid for opts in options.values() for _, pid in opts})
        held = _held_out(conn, list(rows))
        sites = all_sites(conn)
        lines = {line.id: line for line in lines_of(conn, [int(row.id) for row in due])}
        offers: list[dict[str, Any]] = []
        facts: list[Event] = []
        for row in due:
            line = lines[int(row.id)]
            serving = eligible(sites, row.ship_country)  # what can ship to this customer
            chosen = _choose(
                line.qty.backordered, options.get(line.product_id, []), (rows, held), serving
            )
            if chosen is None:
                continue
            substitute = rows[chosen]
            held[chosen] = held.get(chosen, 0) + line.qty.backordered
            offers.append(_offer(line, chosen, now))
            facts.append(_offered(line, substitute, row.told, now))
        if offers:
            conn.execute(insert(substitute_offers), offers)
            Outbox(conn).append(facts, now)
        uow.commit()
    return len(offers)


def lines_of(conn: Connection, ids: list[int]) -> list[LineRow]:
    """The lines with these ids, with their orders' context."""
    return [line_from_row(r) for r in conn.execute(line_select().where(ol.id.in_(ids))).mappings()]


def _choose(
    units: int,
    options: list[tuple[int, int]],
    stock: tuple[dict[int, ProductRow], dict[int, int]],
    serving: list[Site],
) -> int | None:
    """The product id of the substitute to offer for `units`, if one has enough to spare at
    the locations that can serve the order (`stock`: the locked rows and the units open
    offers hold out, by product id)."""
    rows, held = stock
    candidates = {
        rows[pid].product.sku: (
            pid,
            Candidate(
                rows[pid].product.sku,
                rank,
                sum(rows[pid].available_at(site.id) for site in serving),
                rows[pid].stock.backordered,
                held.get(pid, 0),
            ),
        )
        for rank, pid in options
        if pid in rows
    }
    best = choose(units, [candidate for _, candidate in candidates.values()])
    return None if best is None else candidates[best.sku][0]


def _offer(line: LineRow, substitute_id: int, now: datetime) -> dict[str, Any]:
    return {
        "line_id": line.id,
        "order_id": line.order_id,
        "substitute_id": substitute_id,
        "units": line.qty.backordered,
        "state": OfferState.OFFERED.value,
        "offered_at": now,
        "expires_at": expires(now),
        "settled_at": None,
        "new_line_id": None,
    }


def _offered(line: LineRow, substitute: ProductRow, told: Any, now: datetime) -> Event:
    return SubstituteOffered(
        order=line.order,
        sku=line.sku,
        line=line.line_no,
        substitute=substitute.product.sku,
        substitute_name=substitute.product.name,
        units=line.qty.backordered,
        unit_price=line.unit_price,
        eta=told,
        expires_at=expires(now),
    )


def settle_open(app: Backorder) -> dict[str, int]:
    """Open offers that expired lapse; those whose line no longer waits are withdrawn (the
    line was served or cancelled first). One transaction; counts of each."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        query = (
            select(so.id, so.line_id, so.units, so.expires_at, ol.backordered, products.c.sku)
            .join(order_lines, ol.id == so.line_id)
            .join(products, products.c.id == so.substitute_id)
            .where(
                so.state == OfferState.OFFERED.value,
                or_(so.expires_at <= now, ol.backordered == 0),
            )
        )
        ended = conn.execute(query).all()
        if not ended:
            return {}
        lines = {line.id: line for line in lines_of(conn, [int(r.line_id) for r in ended])}
        counts: dict[str, int] = {}
        facts: list[Event] = []
        for offer in ended:
            state = OfferState.WITHDRAWN if offer.backordered == 0 else OfferState.LAPSED
            conn.execute(
                update(substitute_offers)
                .where(and_(so.id == offer.id, so.state == OfferState.OFFERED.value))
                .values(state=state.value, settled_at=now)
            )
            line = lines[int(offer.line_id)]
            facts.append(settled(line, (offer.sku, offer.units), state))
            key = f"substitute_offers_{state.value}"
            counts[key] = counts.get(key, 0) + 1
        Outbox(conn).append(facts, now)
        uow.commit()
    return counts


def settled(
    line: LineRow, offer: tuple[str, int], state: OfferState, new_line: int | None = None
) -> SubstituteSettled:
    substitute, units = offer
    return SubstituteSettled(
        order=line.order,
        sku=line.sku,
        line=line.line_no,
        substitute=substitute,
        units=units,
        outcome=state.value,
        new_line=new_line,
    )
