"""Named positions in the outbox. A reader (an integration polling the events, later the
notification dispatcher) commits the id of the last event it has handled; how far each one
trails the newest event is its lag, in events and in seconds, shown in /metrics."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services.context import Backorder
from backorder.store.tables import event_consumers, events

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_SQLITE = sqlite.insert(event_consumers)
_POSTGRES = postgresql.insert(event_consumers)
_COMMIT = {
    "sqlite": _SQLITE.on_conflict_do_update(
        index_elements=["name"],
        set_={"position": _SQLITE.excluded.position, "updated_at": _SQLITE.excluded.updated_at},
    ),
    "postgresql": _POSTGRES.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "position": _POSTGRES.excluded.position,
            "updated_at": _POSTGRES.excluded.updated_at,
        },
    ),
}


class UnknownConsumer(BackorderError):
    """No consumer of that name keeps a position."""


def newest_event(conn: Connection) -> int:
    """The id of the newest event in the outbox (0: none yet)."""
    return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def _describe(conn: Connection, row: Any, head: int, now: datetime) -> dict[str, Any]:
    oldest_unread = conn.execute(
        select(events.c.occurred_at)
        .where(events.c.id > row.position)
        .order_by(events.c.id)
        .limit(1)
    ).scalar_one_or_none()
    return {
        "name": row.name,
        "position": row.position,
        "updated_at": row.updated_at.isoformat(),
        "lag_events": max(0, head - row.position),
        "lag_seconds": max(0.0, (now - oldest_unread).total_seconds()) if oldest_unread else 0.0,
    }


def save_position(conn: Connection, dialect: str, name: str, position: int, now: datetime) -> None:
    """Record a consumer's position inside the caller's transaction (made on first use)."""
    conn.execute(_COMMIT[dialect], {"name": name, "position": position, "updated_at": now})


def commit_position(app: Backorder, name: str, position: int) -> dict[str, Any]:
    """Record that `name` has handled every event up to `position` (it may move back, to
    read again). A position past the newest event is refused: nothing there was read."""
    if not NAME.fullmatch(name):
        raise InvalidRequest(
            f"consumer name {name!r}: 1 to 64 letters, digits or . _ : -, "
            "starting with a letter or digit"
        )
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        head = newest_event(conn)
        if position > head:
            raise InvalidRequest(f"position {position} is past the newest event ({head})")
        save_position(conn, uow.dialect, name, position, now)
        row = conn.execute(select(event_consumers).where(event_consumers.c.name == name)).one()
        described = _describe(conn, row, head, now)
        uow.commit()
    return described


def consumers_view(app: Backorder) -> list[dict[str, Any]]:
    """Every consumer with its position and lag, by name."""
    now = app.now()
    with app.db.read() as uow:
        conn = uow.connection
        head = newest_event(conn)
        rows = conn.execute(select(event_consumers).order_by(event_consumers.c.name)).all()
        return [_describe(conn, row, head, now) for row in rows]


def position_of(app: Backorder, name: str) -> int:
    with app.db.read() as uow:
        position = uow.connection.execute(
            select(event_consumers.c.position).where(event_consumers.c.name == name)
        ).scalar_one_or_none()
    if position is None:
        raise UnknownConsumer(f"no event consumer named {name!r}")
    return int(position)


# The product's own readers of the outbox: not for forgetting, for without its position
# each would start again from the first event (and send everything again).
OWN = {
    "notifier": "the notification dispatcher",
    "shipping_orders": "the planner of shipping orders to 3PLs",
    "projections": "the refresh of projected stock for SKUs that changed",
}


def forget_consumer(app: Backorder, name: str) -> None:
    """Stop tracking a consumer (one that was retired), so its lag stops counting. The
    product's own positions are not for forgetting."""
    if name in OWN:
        raise InvalidRequest(f"the {name} is {OWN[name]}'s own position")
    with app.db.write() as uow:
        gone = uow.connection.execute(
            delete(event_consumers).where(event_consumers.c.name == name)
        ).rowcount
        if not gone:
            raise UnknownConsumer(f"no event consumer named {name!r}")
        uow.commit()
