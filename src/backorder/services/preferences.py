"""What customers want to hear from us, per channel (e-mail, SMS), kept as data and honoured
when messages are planned. Opting in to SMS is consent to texts about their orders."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.store.tables import customer_preferences, deliveries, events

CHANNELS = ("email", "sms")


def set_preference(app: Backorder, customer_id: str, channel: str, opted_out: bool) -> None:
    """A customer opts out of (or back into) messages on a channel. Messages already planned
    for them on it are withdrawn."""
    if channel not in CHANNELS:
        raise InvalidRequest(f"channel {channel!r}: one of {', '.join(CHANNELS)}")
    customer_id = customer_id.strip()
    if not customer_id or len(customer_id) > 128:
        raise InvalidRequest("a customer id is 1 to 128 characters")
    p = customer_preferences.c
    with app.db.write() as uow:
        conn = uow.connection
        values = {"opted_out": opted_out, "updated_at": app.now()}
        done = conn.execute(
            update(customer_preferences)
            .where(p.customer_id == customer_id, p.channel == channel)
            .values(values)
        ).rowcount
        if not done:
            conn.execute(
                insert(customer_preferences).values(
                    customer_id=customer_id, channel=channel, **values
                )
            )
        if opted_out:
            theirs = (
                select(deliveries.c.id)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(
                    deliveries.c.channel == channel,
                    deliveries.c.state == "due",
                    events.c.payload["customer"]["id"].as_string() == customer_id,
                )
            )
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(theirs))
                .values(state="withdrawn", last_error="the customer opted out")
            )
        uow.commit()


def preferences(app: Backorder, customer_id: str) -> dict[str, str]:
    """For each channel what the customer chose: `in`, `out`, or `default` (nothing said:
    e-mail goes out, texts only with the consent given with the order)."""
    p = customer_preferences.c
    with app.db.read() as uow:
        rows = dict(
            uow.connection.execute(
                select(p.channel, p.opted_out).where(p.customer_id == customer_id)
            ).all()
        )
    return {
        channel: "default" if channel not in rows else "out" if rows[channel] else "in"
        for channel in CHANNELS
    }
