"""A channel's events, honoured: a stored payload whose topic cancels or updates an order we
hold, whose topic is no order event, or whose order is no backorder (it arrives cancelled or
fulfilled in the shop), and an X12 997 or EDIFACT CONTRL acknowledging what we sent. Each is
settled here and kept, with what it did in words; everything else is an order to place,
which the intake flow (`services.ingest`) does.

A cancellation from the shop goes through the order use case's `cancel_lines`, in one
transaction with the payload's outcome and the events, so the customer hears of it and the
queue moves. It cancels what has not shipped; sent again, it finds nothing left and says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from backorder.domain.model import order_ref
from backorder.intake import DEFAULT_ACCOUNT
from backorder.intake.edifact_contrl import read_contrl
from backorder.intake.events import Event, cancel_word, event_of, known_number, shop_state
from backorder.intake.x12_997 import read_997
from backorder.services.context import Backorder
from backorder.services.orders import cancel_lines, lock_order
from backorder.services.parked import parks, settle_parked, waiting_for
from backorder.services.payloads import OPEN, Outcome, finish
from backorder.store.repos import Outbox
from backorder.store.tables import intake_payloads, orders
from backorder.words import count

SHOP = "shop:"  # a cancellation reason the shop gave: shop:customer, shop:refunded, …
GONE = "ignored: already cancelled in the shop"
# A channel's acknowledgements: how one is read into words, and the topic it is kept under.
ACKNOWLEDGEMENTS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "x12": (read_997, "997"),
    "edifact": (read_contrl, "CONTRL"),
}


def handle(app: Backorder, row: Any) -> Outcome | None:
    """Settle a payload that is not an order to place; None when it is one."""
    if row.channel in ACKNOWLEDGEMENTS:
        return _acknowledgement(app, row)
    event = event_of(row.channel, row.topic, row.raw)
    if event is Event.OTHER:
        return _keep(app, row, None, f"ignored: {row.topic} is not an order event")
    if row.external_id is None:
        return None  # unreadable: placing it dead-letters it with the reason
    part = waiting_for(row)  # a part of an order (BigCommerce): it waits for the rest
    if part is not None and event is Event.PLACE:
        return _park(app, row, part)
    state = shop_state(row.channel, row.raw)
    if event in (Event.UPDATE, Event.CANCEL, Event.RECORD):
        ref = _held(app, row)
        if ref is not None:
            reason = state.cancelled or cancel_word(row.channel, row.topic)
            if reason is not None:
                return _cancel(app, row, ref, SHOP + reason)
            done = "fulfilled in the shop; " if state.fulfilled else ""
            return _keep(app, row, ref, f"recorded: {done}nothing to change on an order held")
    if state.cancelled is not None or event is Event.CANCEL:
        return _keep(app, row, None, GONE)
    if part is not None:  # an update that carries only the id of an order not held
        return _keep(app, row, None, f"recorded: {row.topic} names an order not held")
    if state.elsewhere is not None:  # its stock is not ours (Walmart's own, WFS)
        return _keep(app, row, None, f"ignored: {state.elsewhere}")
    if state.fulfilled:
        return _keep(app, row, None, "ignored: already fulfilled in the shop")
    if event is Event.RECORD:  # an order saved in the shop that is not held: not placed
        return _keep(app, row, None, f"recorded: {row.topic} names an order not held")
    if row.topic is not None and known_number(row.channel, row.raw) is not None:
        ref = _held(app, row)  # held under its other reference (Adobe Commerce's number)
        if ref is not None and ref != order_ref(_channel(row), row.external_id):
            values = {"state": "duplicate", "order_ref": ref}
            return finish(app, row.id, values) or Outcome(row.id, "duplicate", ref, topic=row.topic)
    # Webhooks come in any order: a cancellation taken before the order was stands. (Only
    # for events: a file without topics costs no look-up per order.)
    if row.topic is not None and _cancelled_before(app, row):
        return _keep(app, row, None, GONE + " (its cancellation came first)")
    return None  # an order to place (one held already: a duplicate)


def _held(app: Backorder, row: Any) -> str | None:
    """The reference of the payload's order when we hold it: by its external id, else (Adobe
    Commerce) by the number the customer knows it by: an order placed from a webhook sent
    before Commerce saved it is held under that number alone; a payload naming that number
    alone finds the order held under its entity_id by its display number."""
    channel = _channel(row)
    o = orders.c
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(func.count())
            .select_from(orders)
            .where(o.channel == channel, o.external_id == row.external_id)
        ).scalar_one()
        if found:
            return order_ref(channel, row.external_id)
        number = known_number(row.channel, row.raw)
        if number is None:
            return None
        same = [o.channel == channel, o.display_number == number]
        if number != row.external_id:  # named by both: held under the number alone
            same.append(o.external_id == number)
        other = uow.connection.execute(
            select(o.external_id).where(*same).order_by(o.id).limit(1)
        ).scalar_one_or_none()
    return None if other is None else order_ref(channel, other)


def _channel(row: Any) -> str:
    """The channel its orders are held under: with the account, but for the default one."""
    return row.channel if row.account == DEFAULT_ACCOUNT else f"{row.channel}.{row.account}"


def _cancelled_before(app: Backorder, row: Any) -> bool:
    """Whether the shop's cancellation of this order was taken before the order was."""
    p = intake_payloads.c
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(func.count())
            .select_from(intake_payloads)
            .where(
                p.outcome.is_not(None),  # the few rows the partial index holds
                p.order_ref.is_(None),
                p.channel == row.channel,
                p.account == row.account,
                p.external_id == row.external_id,
                p.outcome.startswith(GONE),
                p.id != row.id,
            )
        ).scalar_one()
    return bool(found)


def _keep(
    app: Backorder, row: Any, ref: str | None, outcome: str, topic: str | None = None
) -> Outcome:
    """Keep a payload as taken (accepted), with what it did; a whole order kept so settles
    the parts of it that wait (BigCommerce)."""
    topic = topic or row.topic
    values = {"state": "accepted", "order_ref": ref, "reasons": None, "outcome": outcome}
    settled = finish(app, row.id, values | {"topic": topic})
    if settled is None and parks(row.channel) and waiting_for(row) is None:
        words = f"settled: the whole order came in payload {row.id} ({outcome})"
        with app.db.write() as uow:
            settle_parked(uow.connection, row, ref, app, words)
            uow.commit()
    return settled or Outcome(row.id, "accepted", ref, [], [], outcome, topic)


def _park(app: Backorder, row: Any, part: str) -> Outcome:
    """Park a part of an order until the whole order comes; a part of an order held (or
    of one kept, cancelled or fulfilled in the shop) is settled at once instead."""
    ref = _held(app, row)
    if ref is not None:  # the whole order came first: this part is a duplicate of it
        values = {"state": "duplicate", "order_ref": ref}
        return finish(app, row.id, values) or Outcome(row.id, "duplicate", ref, topic=row.topic)
    kept = _kept_before(app, row)
    if kept is not None:
        return _keep(app, row, None, f"{kept} (known before this part of it)")
    settled = finish(app, row.id, {"state": "parked", "reasons": [part]})
    if settled is not None:
        return settled
    ref = _held(app, row)  # placed meanwhile: its settling may have come before this
    if ref is not None:
        with app.db.write() as uow:
            settle_parked(uow.connection, row, ref, app, f"settled: order {ref} is held")
            uow.commit()
        return _current(app, row.id)
    return Outcome(row.id, "parked", None, [part], [], None, row.topic)


def _kept_before(app: Backorder, row: Any) -> str | None:
    """What became of this payload's whole order when it was kept without being placed
    (cancelled or fulfilled in the shop); None when it was not."""
    p = intake_payloads.c
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(p.outcome)
            .where(
                p.outcome.is_not(None),  # the few rows the partial index holds
                p.order_ref.is_(None),
                p.channel == row.channel,
                p.account == row.account,
                p.external_id == row.external_id,
                p.outcome.startswith("ignored: already"),
                p.id != row.id,
            )
            .limit(1)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def _cancel(app: Backorder, row: Any, ref: str, reason: str) -> Outcome:
    """Cancel what has not shipped of an order held, the payload settled with it."""
    now = app.now()
    try:
        with app.db.write() as uow:
            _, lines, rows = lock_order(uow, ref)
            targets = [(line, None) for line in lines if line.qty.open > 0]
            done, facts = cancel_lines(app, uow, (ref, rows), list(targets), reason)
            if done.units:
                outcome = f"cancelled {count(done.units, 'unit')} not shipped ({reason})"
            else:
                outcome = f"nothing left to cancel: all shipped or cancelled before ({reason})"
            settled = uow.connection.execute(
                update(intake_payloads)
                .where(intake_payloads.c.id == row.id, intake_payloads.c.state.in_(OPEN))
                .values(
                    state="accepted",
                    order_ref=ref,
                    reasons=None,
                    outcome=outcome,
                    processed_at=now,
                    attempts=intake_payloads.c.attempts + 1,
                )
            ).rowcount
            if settled:  # else another worker settled it first: its cancellation stands
                Outbox(uow.connection).append(facts, now)
                uow.commit()
    except OperationalError:
        return Outcome(row.id, "pending", reasons=["database busy; will be retried"])
    if not settled:
        return _current(app, row.id)
    return Outcome(row.id, "accepted", ref, [], [], outcome, row.topic)


def _current(app: Backorder, payload_id: int) -> Outcome:
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(intake_payloads).where(intake_payloads.c.id == payload_id)
        ).one()
    reasons = list(found.reasons or [])
    return Outcome(found.id, found.state, found.order_ref, reasons, [], found.outcome, found.topic)


def _acknowledgement(app: Backorder, row: Any) -> Outcome | None:
    """An inbound 997 (CONTRL) is recorded against the group and sets (the interchange and
    messages) it names, with its codes; it is never answered with one of ours."""
    read, topic = ACKNOWLEDGEMENTS[row.channel]
    words = read(row.raw)
    return None if words is None else _keep(app, row, None, words, topic)
