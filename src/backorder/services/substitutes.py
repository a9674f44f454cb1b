"""Naming substitutes: the SKUs that may stand in for a SKU, in order of preference (rank 1
first). Both SKUs must exist, a SKU cannot stand in for itself, and each substitute is named
once per SKU. Ranks stay 1, 2, 3, ...: naming one at rank 2 moves the second and later down.
Which one a waiting customer is offered, and when: services/substitute_offers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from backorder.domain.errors import AlreadyExists, InvalidRequest, UnknownSku
from backorder.domain.substitutes import check_pair, ranks_after_insert
from backorder.services.context import Backorder
from backorder.store.db import UnitOfWork
from backorder.store.tables import product_substitutes, products

MAX_SUBSTITUTES = 20  # per SKU: an offer names one, and a list this long is already a lot

ps = product_substitutes.c


class NotASubstitute(InvalidRequest):
    def __init__(self, sku: str, substitute: str) -> None:
        super().__init__(f"{substitute} is not a substitute of {sku}")


def _ids(conn: Connection, *skus: str) -> list[int]:
    """The products' ids, in the order given; UnknownSku for the first one not known."""
    found = dict(
        conn.execute(select(products.c.sku, products.c.id).where(products.c.sku.in_(skus))).all()
    )
    for sku in skus:
        if sku not in found:
            raise UnknownSku(sku)
    return [int(found[sku]) for sku in skus]


def _named(conn: Connection, product_id: int) -> list[tuple[str, int]]:
    """The SKU's substitutes in rank order: (SKU, product id)."""
    query = (
        select(products.c.sku, products.c.id)
        .join(product_substitutes, ps.substitute_id == products.c.id)
        .where(ps.product_id == product_id)
        .order_by(ps.rank, products.c.sku)
    )
    return [(str(sku), int(pid)) for sku, pid in conn.execute(query)]


def _rank(app: Backorder, uow: UnitOfWork, pair: tuple[str, str], rank: int | None) -> None:
    """Put the substitute at `rank` among the SKU's (new or already named), and number the
    others 1, 2, 3, ... around it."""
    conn = uow.connection
    sku, substitute = pair
    product_id, substitute_id = _ids(conn, sku, substitute)
    named = _named(conn, product_id)
    ids = dict(named) | {substitute: substitute_id}
    order = ranks_after_insert([s for s, _ in named], substitute, rank)
    if len(order) > MAX_SUBSTITUTES:
        raise InvalidRequest(f"{sku} has {MAX_SUBSTITUTES} substitutes already")
    if substitute not in dict(named):
        conn.execute(
            insert(product_substitutes).values(
                product_id=product_id,
                substitute_id=substitute_id,
                rank=len(order),
                created_at=app.now(),
            )
        )
    _renumber(conn, product_id, [ids[s] for s in order])


def _renumber(conn: Connection, product_id: int, order: list[int]) -> None:
    # two steps, so that no two rows pass through the same rank on the way
    for step in (1000, 0):
        for n, substitute_id in enumerate(order, start=1):
            conn.execute(
                update(product_substitutes)
                .where(_key(product_id, substitute_id))
                .values(rank=n + step)
            )


def _key(product_id: int, substitute_id: int) -> Any:
    return and_(ps.product_id == product_id, ps.substitute_id == substitute_id)


def add_substitute(app: Backorder, sku: str, substitute: str, rank: int | None) -> dict[str, Any]:
    """Name a substitute of SKU, at `rank` (None: last). One named already is refused."""
    check_pair(sku, substitute)
    with app.db.write() as uow:
        product_id, _ = _ids(uow.connection, sku, substitute)
        if substitute in dict(_named(uow.connection, product_id)):
            raise AlreadyExists(f"{substitute} is already a substitute of {sku}")
        _rank(app, uow, (sku, substitute), rank)
        view = _list(uow.connection, sku)
        uow.commit()
    return view


def put_substitute(app: Backorder, sku: str, substitute: str, rank: int | None) -> dict[str, Any]:
    """Name a substitute of SKU, or move one named already, to `rank` (None: a new one goes
    last, one named already stays where it is)."""
    check_pair(sku, substitute)
    with app.db.write() as uow:
        product_id, _ = _ids(uow.connection, sku, substitute)
        named = [s for s, _ in _named(uow.connection, product_id)]
        if rank is None and substitute in named:
            rank = named.index(substitute) + 1
        _rank(app, uow, (sku, substitute), rank)
        view = _list(uow.connection, sku)
        uow.commit()
    return view


def remove_substitute(app: Backorder, sku: str, substitute: str) -> dict[str, Any]:
    """SUBSTITUTE no longer stands in for SKU (offers already made stand until answered)."""
    with app.db.write() as uow:
        conn = uow.connection
        product_id, substitute_id = _ids(conn, sku, substitute)
        gone = conn.execute(delete(product_substitutes).where(_key(product_id, substitute_id)))
        if not gone.rowcount:
            raise NotASubstitute(sku, substitute)
        _renumber(conn, product_id, [pid for _, pid in _named(conn, product_id)])
        view = _list(conn, sku)
        uow.commit()
    return view


def list_substitutes(app: Backorder, sku: str) -> dict[str, Any]:
    with app.db.read() as uow:
        return _list(uow.connection, sku)


def _list(conn: Connection, sku: str) -> dict[str, Any]:
    """The SKU's substitutes, best first, each with its name and what it has available."""
    (product_id,) = _ids(conn, sku)
    p = products.c
    query = (
        select(ps.rank, p.sku, p.name, p.on_hand, p.allocated, p.backordered)
        .join(product_substitutes, ps.substitute_id == p.id)
        .where(ps.product_id == product_id)
        .order_by(ps.rank, p.sku)
    )
    return {
        "sku": sku,
        "substitutes": [
            {
                "rank": row.rank,
                "sku": row.sku,
                "name": row.name,
                "available": row.on_hand - row.allocated,
                "backordered": row.backordered,
            }
            for row in conn.execute(query)
        ],
    }
