"""Channel intake through the broker (BACKORDER_BROKER_URL), in two halves that share no
process. The channel endpoints check a delivery as they always do and hand it to the stream
as received (`outgoing`); a consumer takes each message and stores and processes it exactly
as the endpoints do without a broker (`take_message`), then acks it. The database stays the
source of truth: a message is recorded by its place in the stream in the transaction that
stores its payloads, so one delivered again (a consumer stopped between its commit and its
ack) is recognised and processed from what was stored, never stored twice.

No NATS here: the broker's client lives in `backorder.broker`."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.faults import describe
from backorder.services.ingest import (
    Delivery,
    Outcome,
    Source,
    WithStored,
    process_many,
    split_checked,
    take_in_now,
)
from backorder.services.signed_intake import take_signed
from backorder.store.db import unavailable
from backorder.store.tables import broker_messages

log = logging.getLogger(__name__)

SUBJECTS = "backorder.intake"  # backorder.intake.CHANNEL.ACCOUNT
DURABLE = "backorder-intake"  # the one pull consumer every consuming process shares
MESSAGE_ID = "Nats-Msg-Id"  # JetStream drops a message whose id it has seen in its window
CHANNEL, ACCOUNT, TOPIC, VIA = (
    "Backorder-Channel",
    "Backorder-Account",
    "Backorder-Topic",
    "Backorder-Via",
)


class Via(StrEnum):
    """The endpoint a delivery came through: it decides how it is taken in."""

    ORDERS = "orders"  # POST /channels/{c}/orders, with an API key
    WEBHOOK = "webhook"  # POST /channels/{c}/webhooks, its signature checked


@dataclass(frozen=True)
class Outgoing:
    """A checked delivery, as it goes to the stream."""

    subject: str
    data: bytes
    headers: dict[str, str]


def outgoing(source: Source, text: str, via: Via) -> Outgoing:
    """A delivery checked as the endpoints check it before storing (the channel, account
    and topic known; its length; no NUL; it splits into payloads): InvalidRequest, and
    nothing published, for one that fails. Its message id is the channel's order id (when
    the delivery holds one order) and a digest of what was sent: a channel sending the same
    delivery again within the stream's duplicate window is kept once; a corrected delivery
    of the same order is kept and becomes a duplicate (or, if the first was a dead letter,
    the order) as without a broker."""
    payloads = split_checked(source, text)
    ident = payloads[0].external_id if len(payloads) == 1 else None
    digest = hashlib.sha256(f"{via}\n{source.topic or ''}\n{text}".encode()).hexdigest()
    name = quote(ident[:128], safe="") if ident else "-"
    headers = {
        MESSAGE_ID: f"{source.channel}/{source.account}/{name}/{digest[:32]}",
        CHANNEL: source.channel,
        ACCOUNT: source.account,
        VIA: via.value,
    }
    if source.topic is not None:
        headers[TOPIC] = source.topic
    subject = f"{SUBJECTS}.{source.channel}.{source.account}"
    return Outgoing(subject, text.encode(), headers)


class Verdict(StrEnum):
    ACK = "ack"  # stored (and processed): the stream may forget it
    RETRY = "retry"  # failed, or a payload is left pending (database busy): deliver again
    WAIT = "wait"  # the database is away: deliver again, and the consumer pauses
    DROP = "drop"  # no delivery of ours (no channel, not UTF-8): never accepted, logged


@dataclass(frozen=True)
class Incoming:
    """A message as the consumer got it: its stream (name and creation time), its sequence
    there, its headers and body, and how often it has been delivered (this time too)."""

    stream: str
    sequence: int
    headers: Mapping[str, str]
    data: bytes
    delivered: int = 1


@dataclass(frozen=True)
class Taken:
    """What became of a message: the verdict for the stream, the payloads' outcomes."""

    verdict: Verdict
    outcomes: list[Outcome] = field(default_factory=list)
    reason: str | None = None


class _Redelivered(Exception):
    """Another consumer (or this one, before a crash) stored the message first."""


def take_message(app: Backorder, message: Incoming) -> Taken:
    """Store and process one message from the stream, or recognise one stored before. The
    database being away (or failing in a way a later try may not) asks for the message
    again; a payload that cannot become an order is a dead letter, as always."""
    try:
        source, text, via = _read(message)
    except (InvalidRequest, UnicodeDecodeError, KeyError, ValueError) as error:
        log.error("broker message %s is no delivery, dropped: %s", message.sequence, error)
        return Taken(Verdict.DROP, [], f"no delivery: {error}")
    try:
        # Delivered before: perhaps stored before, too. A first delivery is looked up only
        # if another consumer's copy raced it (the record's key refuses the second).
        known = _known(app, message) if message.delivered > 1 else None
        if known is not None:
            outcomes = process_many(app, known)
        else:
            try:
                outcomes = _take(app, message, source, text, via).outcomes
            except _Redelivered:
                outcomes = process_many(app, _known(app, message) or [])
    except InvalidRequest as error:  # checked before publishing: a message not from us
        log.error("broker message %s refused, dropped: %s", message.sequence, error)
        return Taken(Verdict.DROP, [], str(error))
    except Exception as error:
        if unavailable(error):
            return Taken(Verdict.WAIT, [], describe(error, 300))
        log.error("broker message %s failed (retried): %s", message.sequence, describe(error))
        return Taken(Verdict.RETRY, [], describe(error, 300))
    if any(outcome.state == "pending" for outcome in outcomes):
        return Taken(Verdict.RETRY, outcomes, "a payload is left pending (database busy)")
    return Taken(Verdict.ACK, outcomes)


def _read(message: Incoming) -> tuple[Source, str, Via]:
    headers = message.headers
    source = Source.of(headers[CHANNEL], headers[ACCOUNT], headers.get(TOPIC))
    return source, message.data.decode("utf-8"), Via(headers.get(VIA, Via.ORDERS))


def _take(app: Backorder, message: Incoming, source: Source, text: str, via: Via) -> Delivery:
    """Store (recording the message with its payloads) and process at once."""
    mine = _recorder(app, message)
    if via is Via.ORDERS:
        return take_in_now(app, source, text, mine)

    def recorded(app_: Backorder, source_: Source, text_: str, then: WithStored | None) -> Delivery:
        def both(conn: Connection, ids: list[int]) -> None:
            if then is not None:
                then(conn, ids)
            mine(conn, ids)

        return take_in_now(app_, source_, text_, both)

    return take_signed(app, source, text, recorded)


def _recorder(app: Backorder, message: Incoming) -> WithStored:
    def record(conn: Connection, ids: list[int]) -> None:
        row = {"stream": message.stream, "sequence": message.sequence, "payload_ids": ids}
        try:
            conn.execute(insert(broker_messages).values(row | {"received_at": app.now()}))
        except IntegrityError:  # the payloads stored with it are rolled back
            raise _Redelivered from None

    return record


def _known(app: Backorder, message: Incoming) -> list[int] | None:
    """The payloads a message was stored as, or None for a message not stored yet."""
    m = broker_messages.c
    with app.db.read() as uow:
        ids = uow.connection.execute(
            select(m.payload_ids).where(m.stream == message.stream, m.sequence == message.sequence)
        ).scalar_one_or_none()
    return None if ids is None else [int(i) for i in ids]


def forget_gone(app: Backorder, key: str, first: int) -> int:
    """Forget the messages the stream no longer holds: those of `key` before its first
    sequence `first`, and those of an earlier stream of the same name (deleted and made
    anew). A message gone from the stream is never delivered again, so its row has nothing
    left to recognise. How many rows went."""
    m = broker_messages.c
    name = key.split("@", 1)[0]
    with app.db.write() as uow:
        gone = uow.connection.execute(
            delete(broker_messages).where(
                ((m.stream == key) & (m.sequence < first))
                | ((m.stream != key) & m.stream.startswith(f"{name}@", autoescape=True))
            )
        ).rowcount
        uow.commit()
    return int(gone)
