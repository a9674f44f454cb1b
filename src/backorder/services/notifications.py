"""Looking after the notifications: which messages failed, every message about an order,
sending again. The dispatcher itself has three parts: `subscriptions` (who hears of what),
`planning` (events into deliveries, each event once) and `sending` (deliveries out, each
once, with retries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.store.tables import (
    deliveries,
    events,
)


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "type": row.type,
        "order_ref": row.order_ref,
        "channel": row.channel,
        "kind": row.kind,
        "recipient": row.recipient,
        "message_id": row.message_id,
        "provider_id": row.provider_id,
        "folded": list(row.folded or []),
        "state": row.state,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "created_at": row.created_at.isoformat(),
    }


def _listing() -> Any:
    return select(deliveries, events.c.type, events.c.order_ref).join(
        events, events.c.id == deliveries.c.event_id
    )


def failed(app: Backorder, limit: int = 1000) -> list[dict[str, Any]]:
    """Deliveries that used up their attempts, oldest first."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            _listing().where(deliveries.c.state == "dead").order_by(deliveries.c.id).limit(limit)
        ).all()
    return [_view(row) for row in rows]


def log(app: Backorder, ref: str) -> list[dict[str, Any]]:
    """Every message about one order, with its outcome, in the order they were planned."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            _listing().where(events.c.order_ref == ref).order_by(deliveries.c.id)
        ).all()
    return [_view(row) for row in rows]


@dataclass(frozen=True)
class Retried:
    """What `retry_all` did: failed messages queued again, and messages that were waiting on
    a retry's backoff made due now."""

    failed: int
    waiting: int

    @property
    def queued(self) -> int:
        return self.failed + self.waiting


def retry(app: Backorder, delivery_id: int | None = None) -> int:
    """Send again: one delivery (a dead one, or a sent one: a manual redelivery, with the same
    webhook-id), or, without an id, everything `retry_all` sends. How many were queued."""
    if delivery_id is None:
        return retry_all(app).queued
    d = deliveries.c
    with app.db.write() as uow:
        queued = uow.connection.execute(
            update(deliveries)
            .where(d.id == delivery_id, or_(d.state == "dead", d.state == "sent"))
            .values(state="due", due_at=app.now(), attempts=0)
        ).rowcount
        uow.commit()
    if queued != 1:
        raise InvalidRequest(f"no dead or sent delivery {delivery_id}")
    return int(queued)


def retry_all(app: Backorder) -> Retried:
    """After an outage is fixed: every failed message is queued again with its attempts
    afresh, and every message waiting on a retry's backoff (it failed at least once and is
    due later) is made due now, keeping its attempts. Messages planned for later for another
    reason (never tried yet) and those a worker is sending keep their time. One transaction."""
    d = deliveries.c
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        dead = conn.execute(
            update(deliveries).where(d.state == "dead").values(state="due", due_at=now, attempts=0)
        ).rowcount
        waiting = conn.execute(
            update(deliveries)
            .where(d.state == "due", d.attempts > 0, d.due_at > now)
            .values(due_at=now)
        ).rowcount
        uow.commit()
    return Retried(failed=int(dead), waiting=int(waiting))
