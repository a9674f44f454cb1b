"""Deliveries of a channel's signed webhook, taken in once. Shopify's and WooCommerce's
signatures cover the body alone (no timestamp, no nonce), so whoever saw a delivery can send
it again, as often as they like, and it still verifies. An identical delivery (same channel,
account and body) is a replay: it is answered with what became of the first, counted, and
stored no more. A channel retrying a delivery we did not answer gets the same treatment,
which is what it needs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from backorder.services.context import Backorder
from backorder.services.ingest import Delivery, Source, WithStored, take_in
from backorder.services.payloads import outcome_of
from backorder.store.tables import intake_payloads, signed_deliveries


class _Raced(Exception):
    """The same delivery was recorded by a concurrent request first."""


# How a checked delivery is stored and processed, with a step to commit with its payloads:
# `take_in` (the channel endpoints), or at once from a queue in front of the database.
Taker = Callable[[Backorder, Source, str, WithStored | None], Delivery]


def take_in_signed(
    app: Backorder, channel: str, text: str, account: str, topic: str | None = None
) -> Delivery:
    """Take in a delivery whose signature was checked; a replay of one already taken in is
    counted and answered as the first was. The same body under another topic is another
    delivery (Shopify sends one order's body as orders/create, then as orders/updated)."""
    return take_signed(app, Source.of(channel, account, topic), text, take_in)


def take_signed(app: Backorder, source: Source, text: str, take: Taker) -> Delivery:
    """A signed delivery taken by `take`, recorded with its payloads; a replay is answered
    as the first was, and stored no more."""
    channel, account = source.channel, source.account
    digest = _digest(text, source.topic)
    replayed = _replay(app, channel, account, digest)
    if replayed is not None:
        return replayed

    def record(conn: Connection, ids: list[int]) -> None:
        row = {"channel": channel, "account": account, "body_hash": digest}
        try:
            conn.execute(
                insert(signed_deliveries).values(
                    row | {"payload_ids": ids, "received_at": app.now(), "replays": 0}
                )
            )
        except IntegrityError:  # the payloads stored with it are rolled back
            raise _Raced from None

    try:
        return take(app, source, text, record)
    except _Raced:
        raced = _replay(app, channel, account, digest)
        if raced is None:  # recorded, then gone: cannot be, as nothing deletes them
            raise
        return raced


def _replay(app: Backorder, channel: str, account: str, digest: str) -> Delivery | None:
    """Count a replay of a known delivery and answer what became of its payloads; None for a
    delivery not seen before."""
    key = (
        (signed_deliveries.c.channel == channel)
        & (signed_deliveries.c.account == account)
        & (signed_deliveries.c.body_hash == digest)
    )
    with app.db.write() as uow:
        conn = uow.connection
        ids = conn.execute(
            update(signed_deliveries)
            .where(key)
            .values(replays=signed_deliveries.c.replays + 1, replayed_at=app.now())
            .returning(signed_deliveries.c.payload_ids)
        ).scalar_one_or_none()
        if ids is None:
            return None
        rows = conn.execute(select(intake_payloads).where(intake_payloads.c.id.in_(ids))).all()
        uow.commit()
    found = {row.id: row for row in rows}
    outcomes = [outcome_of(found[i]) for i in ids if i in found]
    # A copy that comes while the first is still being processed (or was left to the worker
    # past the soft limit) is told what the first would be: stored, for the worker.
    return Delivery(outcomes, any(o.state == "pending" for o in outcomes), None)


def _digest(text: str, topic: str | None) -> str:
    """What identifies a delivery's content: its body, and its topic when it has one."""
    content = text if topic is None else f"{topic}\n{text}"
    return hashlib.sha256(content.encode()).hexdigest()
