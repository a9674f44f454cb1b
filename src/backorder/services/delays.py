"""Delay notices after they are sent: the customer accepts the delay or cancels the delayed
lines (through the signed links of the notice), or says nothing by the answer date, which
keeps the line where silence consents (a first delay of up to 30 days) and cancels it where
only an explicit acceptance would have kept it. Every cancellation here owes the customer a
refund: a `refund_due` event says how much, for the payment system."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from backorder.domain.errors import NothingToAnswer
from backorder.domain.events import DelaySettled, Event, RefundDue, UnitsCancelled
from backorder.domain.review import Consent, Outcome, settle
from backorder.services.context import Backorder
from backorder.services.orders import cancel_lines, lock_order
from backorder.store.db import UnitOfWork
from backorder.store.repos import LineRow, Outbox, ProductRow
from backorder.store.tables import delay_notices, order_lines, orders

LAPSED = "delay_not_accepted"  # cancellation reason: no acceptance by the answer date
CANCELLED = "delay_cancelled"  # cancellation reason: the customer chose to cancel


# An order's delay notices with their lines' numbers, built once.
_NOTICES = (
    select(delay_notices, order_lines.c.line_no)
    .join(order_lines, order_lines.c.id == delay_notices.c.line_id)
    .where(delay_notices.c.order_id == bindparam("order_id"))
    .order_by(order_lines.c.line_no, delay_notices.c.seq)
)


def notices_of(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    """The delay notices of an order, as its views show them."""
    return [
        {
            "line": row.line_no,
            "seq": row.seq,
            "noticed_on": row.noticed_on.isoformat(),
            "missed": row.missed.isoformat(),
            "revised": row.revised.isoformat() if row.revised else None,
            "backordered": row.backordered,
            "consent": row.consent,
            "answer_by": row.answer_by.isoformat() if row.answer_by else None,
            "outcome": row.outcome,
            "settled_at": row.settled_at.isoformat() if row.settled_at else None,
        }
        for row in conn.execute(_NOTICES, {"order_id": order_id})
    ]


def _settle(
    conn: Connection, notice: Any, line: LineRow, outcome: Outcome, now: datetime
) -> DelaySettled:
    conn.execute(
        update(delay_notices)
        .where(delay_notices.c.id == notice.id)
        .values(outcome=outcome.value, settled_at=now)
    )
    return DelaySettled(
        order=line.order,
        sku=line.sku,
        line=line.line_no,
        seq=notice.seq,
        outcome=outcome.value,
        revised=notice.revised,
    )


def _cancel_waiting(
    app: Backorder,
    uow: UnitOfWork,
    order: tuple[str, dict[int, ProductRow]],
    lines: list[LineRow],
    reason: str,
) -> list[Event]:
    """Cancel what still waits of the lines, and owe the customer a refund for it."""
    _, cancelled = cancel_lines(
        app, uow, order, [(line, line.qty.backordered) for line in lines], reason
    )
    return cancelled + _refunds(cancelled, reason)


def _refunds(facts: list[Event], reason: str) -> list[Event]:
    """A refund owed for each cancellation among the facts."""
    return [
        RefundDue(
            order=fact.order,
            sku=fact.sku,
            line=fact.line,
            units=fact.units,
            amount=fact.value,
            reason=reason,
        )
        for fact in facts
        if isinstance(fact, UnitsCancelled) and fact.units
    ]


def _answer(app: Backorder, uow: UnitOfWork, ref: str, outcome: Outcome) -> tuple[int, list[Event]]:
    """Accept or cancel the order's delayed lines (those with a notice waiting for an answer;
    to cancel, any line with a notice that still waits); the lines it settled."""
    now = app.now()
    _, lines, rows = lock_order(uow, ref)
    by_id = {line.id: line for line in lines}
    n = delay_notices.c
    query = select(delay_notices).where(n.line_id.in_(list(by_id)))
    if outcome is Outcome.ACCEPTED:
        query = query.where(n.outcome == Outcome.PENDING.value)
    notices = uow.connection.execute(query.order_by(n.line_id, n.seq)).all()
    facts: list[Event] = []
    targets: dict[int, LineRow] = {}
    accepted = 0
    for notice in notices:
        line = by_id[notice.line_id]
        if notice.outcome == Outcome.PENDING.value:
            came = outcome if line.qty.backordered else Outcome.MOOT
            accepted += came is Outcome.ACCEPTED
            facts.append(_settle(uow.connection, notice, line, came, now))
        if outcome is Outcome.CANCELLED and line.qty.backordered:
            targets[line.id] = line
    if outcome is Outcome.CANCELLED and targets:
        facts += _cancel_waiting(app, uow, (ref, rows), list(targets.values()), CANCELLED)
    return (len(targets) if outcome is Outcome.CANCELLED else accepted), facts


def accept_delay(app: Backorder, ref: str) -> int:
    """The customer accepts the delay of every line whose notice waits for an answer."""
    with app.db.write() as uow:
        accepted, facts = _answer(app, uow, ref, Outcome.ACCEPTED)
        if not accepted:
            raise NothingToAnswer(f"order {ref} has no delay waiting for an answer")
        Outbox(uow.connection).append(facts, app.now())
        uow.commit()
    return accepted


def cancel_delayed(app: Backorder, ref: str) -> int:
    """The customer cancels what still waits of the lines that were delayed, for a refund."""
    with app.db.write() as uow:
        cancelled, facts = _answer(app, uow, ref, Outcome.CANCELLED)
        if not cancelled:
            raise NothingToAnswer(f"order {ref} has no delayed line left to cancel")
        Outbox(uow.connection).append(facts, app.now())
        uow.commit()
    return cancelled


def settle_unanswered(app: Backorder, today: date) -> dict[str, int]:
    """Notices whose answer date has passed without an answer: silence consents, or the line
    is cancelled (and refunded). A notice whose line no longer waits is moot. One transaction
    per order, so one order's trouble holds up no other."""
    n = delay_notices.c
    query = (
        select(orders.c.channel, orders.c.external_id)
        .join(delay_notices, n.order_id == orders.c.id)
        .where(n.outcome == Outcome.PENDING.value, n.answer_by < today)
        .distinct()
        .order_by(orders.c.channel, orders.c.external_id)
    )
    with app.db.read() as uow:
        refs = [
            f"{channel}:{external_id}" for channel, external_id in uow.connection.execute(query)
        ]
    counts = {"consented": 0, "lapsed": 0, "moot": 0}
    for ref in refs:
        with app.db.write() as uow:
            facts = _settle_order(app, uow, ref, today, counts)
            Outbox(uow.connection).append(facts, app.now())
            uow.commit()
    return counts


def _settle_order(
    app: Backorder, uow: UnitOfWork, ref: str, today: date, counts: dict[str, int]
) -> list[Event]:
    now = app.now()
    order, lines, rows = lock_order(uow, ref)
    by_id = {line.id: line for line in lines}
    n = delay_notices.c
    due = uow.connection.execute(
        select(delay_notices)
        .where(n.order_id == order["id"], n.outcome == Outcome.PENDING.value, n.answer_by < today)
        .order_by(n.line_id, n.seq)
    ).all()
    facts: list[Event] = []
    lapsed: list[LineRow] = []
    for notice in due:
        line = by_id[notice.line_id]
        outcome = settle(Consent(notice.consent), notice.answer_by, today)
        if outcome is None:
            continue
        if not line.qty.backordered:
            outcome = Outcome.MOOT
        elif outcome is Outcome.LAPSED:
            lapsed.append(line)
        counts[outcome.value] += 1
        facts.append(_settle(uow.connection, notice, line, outcome, now))
    if lapsed:
        facts += _cancel_waiting(app, uow, (ref, rows), lapsed, LAPSED)
    return facts
