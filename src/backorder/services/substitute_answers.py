"""The customer's answer to a substitute offer, on the order page.

Accepting, in one transaction with the order's SKUs and the substitute locked (in SKU
order): the line's waiting units are cancelled (reason `substituted`), and a new line of the
order takes as many of the substitute at the line's unit price, allocated at once from stock
to spare, the way intake allocates a line (split, then sourced to locations). The stock is
checked again under the locks: units the substitute's own queue waits for are not to spare,
and when too few are left the answer is refused in words and nothing changes. Declining
changes nothing but the offer."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from backorder.domain.allocation import split_line
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.events import Event, UnitsAllocated
from backorder.domain.model import AllocationSource, Preference
from backorder.domain.ranking import RankFacts
from backorder.domain.sourcing import Pick, ShipComplete, Site, eligible, source
from backorder.domain.substitutes import SUBSTITUTED, OfferState, units_to_move
from backorder.services.context import Backorder
from backorder.services.orders import cancel_lines, find_order
from backorder.services.substitute_offers import settled
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, change_holdings, holdings_of
from backorder.store.repos import LineRow, Lines, Outbox, ProductRow, Products
from backorder.store.tables import allocations, order_lines, orders, products, substitute_offers

RULE = "substitute accepted by the customer, in stock"
# why an offer that has ended cannot be answered, by how it ended
ENDED = {
    OfferState.ACCEPTED.value: "you already accepted this offer",
    OfferState.DECLINED.value: "you already said no thanks to this offer",
    OfferState.LAPSED.value: "this offer has expired",
    OfferState.WITHDRAWN.value: "this offer has ended",
}
so = substitute_offers.c


class OfferRefused(BackorderError):
    """An answer to an offer that cannot be taken any more (answered, expired, the line no
    longer waits, the substitute's stock is gone). Nothing changed."""


_LINE = order_lines.alias("line")
# The offers of one order with their lines' numbers and the substitutes' SKUs, built once:
# an alias built per call makes SQLAlchemy derive its columns again every time.
_OFFERS = (
    select(substitute_offers, _LINE.c.line_no, products.c.sku, products.c.name)
    .join(_LINE, _LINE.c.id == so.line_id)
    .join(products, products.c.id == so.substitute_id)
    .where(so.order_id == bindparam("order_id"))
    .order_by(_LINE.c.line_no)
)


def offers_of(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """The order's substitute offers, by line: what was offered and what came of it."""
    rows = conn.execute(_OFFERS, {"order_id": order_id}).all()
    if not rows:  # nearly every order: no second statement
        return []
    new_lines = dict(
        conn.execute(
            select(order_lines.c.id, order_lines.c.line_no).where(
                order_lines.c.order_id == order_id
            )
        ).all()
    )
    return [
        {
            "line": row.line_no,
            "substitute": row.sku,
            "substitute_name": row.name,
            "units": row.units,
            "state": row.state,
            "offered_at": row.offered_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
            "settled_at": row.settled_at.isoformat() if row.settled_at else None,
            "new_line": new_lines.get(row.new_line_id),
        }
        for row in rows
    ]


def order_offers(app: Backorder, ref: str) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        return offers_of(uow.connection, find_order(uow, ref)["id"])


Locked = tuple[dict[str, Any], Any, LineRow, dict[int, ProductRow]]


def _lock(uow: UnitOfWork, ref: str, line_no: int) -> Locked:
    """The order, the line's offer and the line, with the order's SKUs and the offered
    substitute locked (one statement, SKU order), the line read under the locks."""
    conn = uow.connection
    order = find_order(uow, ref)
    c = order_lines.c
    query = select(substitute_offers).join(order_lines, c.id == so.line_id)
    offer = conn.execute(query.where(c.order_id == order["id"], c.line_no == line_no)).first()
    if offer is None:
        raise InvalidRequest(f"order {ref} has no substitute offer for line {line_no}")
    ids = set(conn.execute(select(c.product_id).where(c.order_id == order["id"])).scalars())
    rows = Products(conn).lock_by_id(ids | {offer.substitute_id})
    offer = conn.execute(select(substitute_offers).where(so.id == offer.id)).one()
    line = next(ln for ln in Lines(conn).of_order(order["id"]) if ln.id == offer.line_id)
    return order, offer, line, rows


def _check_open(offer: Any, line: LineRow, now: datetime, name: str) -> int:
    """The units accepting would move; refused when the offer is not open any more."""
    if offer.state != OfferState.OFFERED.value:
        raise OfferRefused(ENDED.get(offer.state, "this offer has ended"))
    if offer.expires_at <= now:
        raise OfferRefused("this offer has expired")
    units = units_to_move(offer.units, line.qty.backordered)
    if units == 0:
        raise OfferRefused(f"nothing of {name} waits any more")
    return units


def accept_offer(app: Backorder, ref: str, line_no: int) -> int:
    """The customer takes the substitute for the line's waiting units: the new line's number."""
    now = app.now()
    with app.db.write() as uow:
        order, offer, line, rows = _lock(uow, ref, line_no)
        substitute = rows[offer.substitute_id]
        units = _check_open(offer, line, now, rows[line.product_id].product.name)
        # the cancel serves the queues of the order's SKUs and the substitute's first
        _, facts = cancel_lines(app, uow, (ref, rows), [(line, units)], SUBSTITUTED)
        new_line, allocated = _add_line(app, uow, (order, line, substitute), units)
        accepted = {"state": OfferState.ACCEPTED.value, "new_line_id": new_line.id}
        _settle(uow, offer.id, accepted | {"settled_at": now})
        Products(uow.connection).save_stocks([substitute], now)
        offered = (substitute.product.sku, units)
        facts += [allocated, settled(line, offered, OfferState.ACCEPTED, new_line.line_no)]
        Outbox(uow.connection).append(facts, now)
        uow.commit()
    return new_line.line_no


def decline_offer(app: Backorder, ref: str, line_no: int) -> None:
    """No thanks: the line keeps waiting; only the offer changes."""
    now = app.now()
    with app.db.write() as uow:
        _, offer, line, rows = _lock(uow, ref, line_no)
        if offer.state != OfferState.OFFERED.value:
            raise OfferRefused(ENDED.get(offer.state, "this offer has ended"))
        _settle(uow, offer.id, {"state": OfferState.DECLINED.value, "settled_at": now})
        sku = rows[offer.substitute_id].product.sku
        fact = settled(line, (sku, offer.units), OfferState.DECLINED)
        Outbox(uow.connection).append([fact], now)
        uow.commit()


def _settle(uow: UnitOfWork, offer_id: int, values: dict[str, Any]) -> None:
    """End an open offer; refused if the worker ended it meanwhile (it lapsed, or its line
    stopped waiting), and the caller's transaction is not committed."""
    done = uow.connection.execute(
        update(substitute_offers)
        .where(so.id == offer_id, so.state == OfferState.OFFERED.value)
        .values(values)
    )
    if done.rowcount != 1:
        raise OfferRefused("this offer has just ended")


def _picks(
    app: Backorder, uow: UnitOfWork, order: dict[str, Any], substitute: ProductRow, units: int
) -> list[Pick]:
    """Where the substitute's units come from: the order's eligible locations, each with what
    it has free beyond the substitute's queue (which keeps first claim), split as intake
    splits a line; refused in words when that is fewer than `units`."""
    sites = _home(app, uow, order) or eligible(all_sites(uow.connection), order["ship_country"])
    free = {(substitute.id, s.id): substitute.available_at(s.id) for s in sites}
    spare = max(0, sum(free.values()) - substitute.stock.backordered)
    stock = replace(substitute.stock, on_hand=substitute.stock.allocated + spare)
    split = split_line(units, substitute.product, stock, 0, app.now())
    if split.allocate < units:
        name = substitute.product.name
        left = {0: "none is", 1: "only 1 is"}.get(split.allocate, f"only {split.allocate} are")
        raise OfferRefused(
            f"sorry, {name} has sold out meanwhile: {left} left to send now. "
            "Your order stays as it was"
        )
    return source([(substitute.id, units)], free, sites)


def _home(app: Backorder, uow: UnitOfWork, order: dict[str, Any]) -> list[Site]:
    """A ship-complete order the shop does not consolidate ships from one location: the one
    that holds its units already, if any does (else any that can serve it)."""
    one = app.settings.ship_complete is ShipComplete.ONE_LOCATION
    if not one or order["shipping_preference"] != Preference.SHIP_COMPLETE.value:
        return []
    c = order_lines.c
    ids = list(uow.connection.execute(select(c.id).where(c.order_id == order["id"])).scalars())
    held = {site for places in holdings_of(uow.connection, ids).values() for site in places}
    return [site for site in all_sites(uow.connection) if site.id in held]


def _rank(app: Backorder, substitute: ProductRow, line: LineRow, now: datetime) -> dict[str, Any]:
    """The new line's place in the substitute's queue, should its units ever go back to
    waiting (a count below what is allocated): ordered now, so it never ranks ahead of
    those who ordered the substitute before it was taken; the order's class, as at intake."""
    ranking = app.ranking(substitute.product.queue)
    terms = line.order.terms
    facts = RankFacts(terms.expedite, line.order.customer.tier, terms.shipping_method)
    base = ranking.base_class(facts)
    current = ranking.current_class(base, now, now)
    return {
        "placed_at": now,
        "base_class": base,
        "rank_class": current,
        "climbs_at": ranking.next_climb(base, current, now),
    }


def _add_line(
    app: Backorder,
    uow: UnitOfWork,
    what: tuple[dict[str, Any], LineRow, ProductRow],
    units: int,
) -> tuple[LineRow, Event]:
    """The substitute's line, added to the order and allocated: the line and its event."""
    order, line, substitute = what
    conn, now = uow.connection, app.now()
    picks = _picks(app, uow, order, substitute, units)
    ranks = _rank(app, substitute, line, now)
    c = order_lines.c
    last = conn.execute(select(func.max(c.line_no)).where(c.order_id == order["id"]))
    number = int(last.scalar_one()) + 1
    new_id = conn.execute(
        insert(order_lines)
        .values(
            order_id=order["id"],
            line_no=number,
            product_id=substitute.id,
            quantity=units,
            allocated=units,
            backordered=0,
            shipped=0,
            cancelled=0,
            unit_price=line.unit_price,
            **ranks,
        )
        .returning(c.id)
    ).scalar_one()
    for pick in picks:
        substitute.allocate(pick.location, pick.units)
    conn.execute(
        insert(allocations),
        [
            {
                "line_id": new_id,
                "units": pick.units,
                "allocated_at": now,
                "source": AllocationSource.INTAKE,
                "ref": None,
                "position": None,
                "rank_class": ranks["rank_class"],
                "rule": RULE,
                "location_id": pick.location,
                "sourcing": pick.why,
            }
            for pick in picks
        ],
    )
    change_holdings(conn, [(new_id, pick.location, pick.units) for pick in picks])
    conn.execute(
        update(orders)
        .where(orders.c.id == order["id"])
        .values(line_count=orders.c.line_count + 1, completed_at=None)
    )
    new = replace(line, id=int(new_id), line_no=number, product_id=substitute.id)
    new = replace(new, sku=substitute.product.sku)
    event = UnitsAllocated(
        order=line.order,
        sku=substitute.product.sku,
        line=number,
        units=units,
        still_backordered=0,
        unit_price=line.unit_price,
        value=line.unit_price * units,
        source=AllocationSource.INTAKE,
        ref=None,
        why={"rule": RULE, "substitute_for": {"line": line.line_no, "sku": line.sku}},
    )
    return new, event
