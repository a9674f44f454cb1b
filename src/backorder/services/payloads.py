"""What became of a stored intake payload, and settling one that is still open: the words
the intake flow (`services.ingest`) and the channel events (`services.channel_events`) share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from backorder.services.context import Backorder
from backorder.store.tables import intake_payloads

OPEN = ("pending", "dead")  # states a payload can still leave; the others are final
# The topic a feed's payload is stored under once read: the kind of its document.
FEED_KINDS = ("snapshot", "receipt", "shipment")


@dataclass
class Outcome:
    """What became of one payload."""

    id: int
    state: str  # accepted | duplicate | dead | pending (a transient failure: retried later)
    ref: str | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # what it did when that was not to place an order, in words ("ignored: …")
    outcome: str | None = None
    topic: str | None = None


def listed(row: Any, now: datetime) -> dict[str, Any]:
    """A stored payload as the intake's lists show it (dead letters, parked parts): which,
    from where, and how old."""
    return {
        "id": row.id,
        "channel": row.channel,
        "account": row.account,
        "external_id": row.external_id,
        "topic": row.topic,
        "received_at": row.received_at.isoformat(),
        "age_hours": round((now - row.received_at).total_seconds() / 3600, 1),
    }


def outcome_of(row: Any) -> Outcome:
    """A stored payload as an Outcome."""
    return Outcome(
        row.id,
        row.state,
        row.order_ref,
        list(row.reasons or []),
        list(row.warnings or []),
        row.outcome,
        row.topic,
    )


def finish(app: Backorder, payload_id: int, values: dict[str, Any]) -> Outcome | None:
    """Record what became of a payload while it is still open; when another worker settled
    it first, what it became instead."""
    values = values | {
        "warnings": values.get("warnings") or None,
        "processed_at": app.now(),
        "attempts": intake_payloads.c.attempts + 1,
    }
    with app.db.write() as uow:
        done = uow.connection.execute(
            update(intake_payloads)
            .where(intake_payloads.c.id == payload_id, intake_payloads.c.state.in_(OPEN))
            .values(values)
        ).rowcount
        row = (
            None
            if done
            else uow.connection.execute(
                select(intake_payloads).where(intake_payloads.c.id == payload_id)
            ).one()
        )
        uow.commit()
    return None if row is None else outcome_of(row)
