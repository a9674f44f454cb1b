"""Planning: the dispatcher turns outbox events into deliveries (one per event and
recipient). It reads the events after the `notifier` position and writes their deliveries
and the new position in one transaction, so an event is planned exactly once.

An event that cannot be planned (its payload is not what this version's code expects) is
skipped, not retried for ever: its webhooks are planned, the error is recorded
(`skipped_events`), and the events after it go on. `notify skipped` lists such events and
`notify replan` tries one again once the code is fixed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from backorder.domain.errors import InvalidRequest
from backorder.services import alerts
from backorder.services.consumers import save_position
from backorder.services.context import Backorder
from backorder.services.faults import describe
from backorder.services.messages import people_rows, webhook_rows
from backorder.store.db import unavailable
from backorder.store.tables import (
    deliveries,
    event_consumers,
    events,
    skipped_events,
)

log = logging.getLogger(__name__)

NOTIFIER = "notifier"  # the dispatcher's position among the outbox's consumers


def _position(conn: Connection, dialect: str) -> int:
    """The notifier's position, locked for this transaction. The migration that brought the
    dispatcher records the newest event then; without that row it starts at the beginning
    (webhook subscriptions still get only the events written after they were made)."""
    query = select(event_consumers.c.position).where(event_consumers.c.name == NOTIFIER)
    if dialect != "sqlite":
        query = query.with_for_update()
    position = conn.execute(query).scalar_one_or_none()
    return int(position) if position is not None else 0


class Unplannable(Exception):
    """Planning a batch of events failed for a reason other than the database being away:
    the data or the code. Which events the batch held, for finding the one at fault."""

    def __init__(self, event_ids: list[int]) -> None:
        super().__init__(f"events {event_ids[0]}..{event_ids[-1]} could not be planned")
        self.event_ids = event_ids


def plan(app: Backorder, limit: int = 1000, rounds: int = 100) -> int:
    """Turn the events not yet planned into deliveries, a batch per transaction, until none
    are left (alerts raised on the way write events of their own, planned in a later round).
    A batch that fails is planned again one event at a time, and an event that fails by
    itself is skipped: recorded with its error, its webhooks planned, the rest stepped over.
    How many deliveries were planned. The database being away is not an event's fault: that
    error goes to the caller, and nothing moves."""
    planned = 0
    for _ in range(rounds):
        try:
            made, seen = _plan_batch(app, limit)
        except Unplannable as failed:
            made, seen = _plan_singly(app, len(failed.event_ids))
        planned += made
        if not seen:
            break
    return planned


def _plan_singly(app: Backorder, count: int) -> tuple[int, int]:
    """Plan the next `count` events one transaction each, skipping those that fail."""
    made = seen = 0
    for _ in range(count):
        try:
            one, read = _plan_batch(app, 1)
        except Unplannable as failed:
            error = failed.__cause__ or failed
            one, read = _skip(app, failed.event_ids[0], error), 1
        made += one
        seen += read
        if not read:
            break
    return made, seen


def _plan_batch(app: Backorder, limit: int) -> tuple[int, int]:
    """Plan the next events, keep the staff alerts they call for, and move the notifier's
    position past them, in one transaction: (deliveries planned, events read)."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        position = _position(conn, uow.dialect)
        batch = conn.execute(_after(position).limit(limit)).all()
        if not batch:
            return 0, 0
        try:
            rows = webhook_rows(conn, batch, now) + people_rows(conn, app, batch, now)
            if rows:
                conn.execute(insert(deliveries), rows)
            _keep_alerts(conn, app, batch, now)
            save_position(conn, uow.dialect, NOTIFIER, batch[-1].id, now)
            uow.commit()
        except Exception as error:
            if unavailable(error):
                raise
            raise Unplannable([event.id for event in batch]) from error
    return len(rows), len(batch)


def _after(position: int) -> Any:
    return (
        select(events.c.id, events.c.type, events.c.order_ref, events.c.payload)
        .where(events.c.id > position)
        .order_by(events.c.id)
    )


def _keep_alerts(conn: Connection, app: Backorder, batch: Any, now: datetime) -> None:
    """Raise and resolve the staff alerts the events call for; withdraw the status updates
    of orders with nothing waiting any more."""
    waiting = alerts.keep(conn, app, batch, now)
    settled = [ref for ref, units in waiting.items() if units == 0]
    if settled:  # nothing waits: status updates not yet sent have nothing to say
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.order_ref.in_(settled),
                deliveries.c.kind == "status_update",
                deliveries.c.state == "due",
            )
            .values(state="withdrawn", last_error="nothing waits any more")
        )


def _skip(app: Backorder, event_id: int, error: BaseException) -> int:
    """Step over an event that cannot be planned: its webhooks are planned (they need nothing
    from what it says), the rest is recorded as skipped with the error, and the position
    moves past it, in one transaction. Only if the event is still the next one: another
    worker may have dealt with it meanwhile. The webhooks planned."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        position = _position(conn, uow.dialect)
        event = conn.execute(_after(position).limit(1)).first()
        if event is None or event.id != event_id:
            return 0
        rows = webhook_rows(conn, [event], now)
        if rows:
            conn.execute(insert(deliveries), rows)
        _record_skip(conn, event_id, describe(error), now)
        save_position(conn, uow.dialect, NOTIFIER, event_id, now)
        uow.commit()
    log.error("event %s (%s) skipped by the dispatcher: %s", event_id, event.type, describe(error))
    return len(rows)


def _record_skip(conn: Connection, event_id: int, error: str, now: datetime) -> None:
    s = skipped_events.c
    known = s.consumer == NOTIFIER, s.event_id == event_id
    values = {"error": error, "state": "skipped", "skipped_at": now, "replanned_at": None}
    if not conn.execute(update(skipped_events).where(*known).values(values)).rowcount:
        conn.execute(insert(skipped_events), values | {"consumer": NOTIFIER, "event_id": event_id})


def replan(app: Backorder, event_id: int) -> int:
    """Plan a skipped event's messages and alerts again, after a fix: how many messages. One
    that fails again stays skipped, with the new error, and the refusal says why."""
    now = app.now()
    s = skipped_events.c
    with app.db.write() as uow:
        conn = uow.connection
        event = conn.execute(
            select(events.c.id, events.c.type, events.c.order_ref, events.c.payload)
            .join(skipped_events, s.event_id == events.c.id)
            .where(s.consumer == NOTIFIER, s.event_id == event_id, s.state == "skipped")
        ).first()
        if event is None:
            raise InvalidRequest(f"no skipped event {event_id}")
        try:
            with conn.begin_nested():  # what planning wrote goes if it fails
                rows = people_rows(conn, app, [event], now)
                if rows:
                    conn.execute(insert(deliveries), rows)
                _keep_alerts(conn, app, [event], now)
        except Exception as error:
            if unavailable(error):
                raise
            told = describe(error)
            _record_skip(conn, event_id, told, now)
            uow.commit()
            raise InvalidRequest(f"event {event_id} still cannot be planned: {told}") from None
        conn.execute(
            update(skipped_events)
            .where(s.consumer == NOTIFIER, s.event_id == event_id)
            .values(state="replanned", replanned_at=now)
        )
        uow.commit()
    return len(rows)


def skipped(app: Backorder, limit: int = 1000) -> list[dict[str, Any]]:
    """Events the dispatcher stepped over and not yet planned again, oldest first."""
    s = skipped_events.c
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(skipped_events, events.c.type, events.c.order_ref, events.c.sku)
            .join(events, events.c.id == s.event_id)
            .where(s.consumer == NOTIFIER, s.state == "skipped")
            .order_by(s.event_id)
            .limit(limit)
        ).all()
    return [
        {
            "event_id": row.event_id,
            "type": row.type,
            "order_ref": row.order_ref,
            "sku": row.sku,
            "error": row.error,
            "skipped_at": row.skipped_at.isoformat(),
        }
        for row in rows
    ]
