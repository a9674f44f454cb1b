"""Parts of orders, parked: a channel that delivers part of an order (a BigCommerce webhook,
which carries only the order's id; an order without its products) has each part kept, with
what it waits for in words, until the whole order comes. The order that comes settles them
(accepted, pointing at the order, saying which payload brought it), in the transaction that
places it; nothing parked is ever lost, dead-lettered or placed twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, select, update

from backorder.domain.model import order_ref
from backorder.intake import ADAPTERS, DEFAULT_ACCOUNT, Partial, Payload
from backorder.services.context import Backorder
from backorder.services.payloads import listed
from backorder.store.tables import intake_payloads, orders

_P = intake_payloads.c
# Built once: it runs with every order placed from a channel that parks.
_SETTLE = (
    update(intake_payloads)
    .where(
        _P.state == "parked",
        _P.channel == bindparam("in_channel"),
        _P.account == bindparam("in_account"),
        _P.external_id == bindparam("ident"),
    )
    .values(
        state="accepted",
        order_ref=bindparam("ref"),
        reasons=None,
        outcome=bindparam("words"),
        processed_at=bindparam("at", type_=_P.processed_at.type),
        attempts=_P.attempts + 1,
    )
)


def parks(channel: str) -> bool:
    """Whether a channel delivers parts of orders (and so its orders settle parked ones)."""
    return isinstance(ADAPTERS.get(channel), Partial)


def waiting_for(row: Any) -> str | None:
    """What a stored payload waits for, in words; None for a whole order (or another
    channel's payload)."""
    adapter = ADAPTERS.get(row.channel)
    if not isinstance(adapter, Partial) or row.external_id is None:
        return None
    return adapter.waiting_for(Payload(row.raw, row.external_id))


def settle_parked(
    conn: Connection, row: Any, ref: str | None, app: Backorder, words: str | None = None
) -> int:
    """Settle the parts parked for the order payload `row` brought (held as `ref`; None when
    it placed nothing, e.g. cancelled in the shop), saying so; how many there were."""
    if not parks(row.channel) or row.external_id is None:
        return 0
    parameters = {
        "in_channel": row.channel,
        "in_account": row.account,
        "ident": row.external_id,
        "ref": ref,
        "words": (words or f"settled: the whole order came in payload {row.id}")[:500],
        "at": app.now(),
    }
    return int(conn.execute(_SETTLE, parameters).rowcount)


def assembled(app: Backorder, row: Any) -> Payload | None:
    """The whole order the parts parked for this payload's order make together (an order
    and its products that came apart), if they make one."""
    adapter = ADAPTERS.get(row.channel)
    if not isinstance(adapter, Partial) or row.external_id is None:
        return None
    with app.db.read() as uow:
        texts = (
            uow.connection.execute(
                select(_P.raw)
                .where(
                    _P.state == "parked",
                    _P.channel == row.channel,
                    _P.account == row.account,
                    _P.external_id == row.external_id,
                )
                .order_by(_P.id)
            )
            .scalars()
            .all()
        )
    return adapter.combine(list(texts)) if len(texts) > 1 else None


_SETTLE_HELD = (
    update(intake_payloads)
    .where(_P.id == bindparam("pid"), _P.state == "parked")
    .values(
        state="accepted",
        order_ref=bindparam("ref"),
        reasons=None,
        outcome=bindparam("words"),
        processed_at=bindparam("at"),
        attempts=_P.attempts + 1,
    )
)


def settle_held(app: Backorder, limit: int = 1000) -> int:
    """Settle the parts parked for orders held: a part parked while its order was being
    placed can miss that order's settling (each transaction saw the other's row before
    it committed). `intake drain` calls this each time; how many were found to settle."""
    o = orders.c
    name = case((_P.account == DEFAULT_ACCOUNT, _P.channel), else_=_P.channel + "." + _P.account)
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(_P.id, o.channel, o.external_id)
            .select_from(
                intake_payloads.join(
                    orders, and_(o.channel == name, o.external_id == _P.external_id)
                )
            )
            .where(_P.state == "parked")
            .limit(limit)
        ).all()
    if not found:
        return 0
    now = app.now()
    settled = []
    for payload_id, channel, external_id in found:
        ref = order_ref(channel, external_id)
        settled.append({"pid": payload_id, "ref": ref, "words": f"settled: order {ref} is held"})
    with app.db.write() as uow:
        uow.connection.execute(_SETTLE_HELD, [row | {"at": now} for row in settled])
        uow.commit()
    return len(settled)


def parked(app: Backorder, limit: int = 1000) -> list[dict[str, Any]]:
    """Parts of orders still waiting, oldest first, with what each waits for."""
    now = app.now()
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(intake_payloads)
            .where(_P.state == "parked")
            .order_by(_P.received_at, _P.id)
            .limit(limit)
        ).all()
    return [listed(r, now) | {"waiting_for": list(r.reasons or [])} for r in rows]
