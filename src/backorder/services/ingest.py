"""The governed intake flow: a channel's payload is stored first, exactly as received, then
converted by the channel's adapter, checked, and either placed as an order or kept, whole
and explained, as a dead letter that can be replayed after a fix or discarded with a reason.

Exactly once: a payload is marked accepted in the same transaction that places its order,
so a crash between storing and processing leaves it pending (processed later by `drain`),
never lost and never placed twice."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from backorder.canonical import OrderIn
from backorder.domain.errors import BackorderError, InvalidRequest, UnknownSku
from backorder.domain.units import NoPackSize, in_single_units
from backorder.intake import (
    ADAPTERS,
    DEFAULT_ACCOUNT,
    Acknowledging,
    Noting,
    Payload,
    Unreadable,
    adapter_for,
    check_account,
    sender_known,
)
from backorder.intake.events import topic_of
from backorder.intake.rules import Rule, check, effective
from backorder.services.channel_events import handle
from backorder.services.context import Backorder
from backorder.services.faults import describe
from backorder.services.feeds import is_feed
from backorder.services.feeds import process as process_feed
from backorder.services.intake import place_order
from backorder.services.intake_rules import all_settings
from backorder.services.parked import assembled, parks, settle_held, settle_parked
from backorder.services.payloads import FEED_KINDS, OPEN, finish, listed, outcome_of
from backorder.services.payloads import Outcome as Outcome  # where callers have found it
from backorder.store.db import COMMIT_HOOKS, unavailable
from backorder.store.repos import Products
from backorder.store.tables import INTAKE_STATES, intake_payloads, products, sku_aliases
from backorder.store.types import keepable

log = logging.getLogger(__name__)

MAX_PAYLOAD_CHARS = 5_000_000
_WAITING = (
    select(func.count()).select_from(intake_payloads).where(intake_payloads.c.state == "pending")
)
_STORE = insert(intake_payloads).returning(intake_payloads.c.id, sort_by_parameter_order=True)
# Marks a payload accepted inside its order's transaction; built once, as it runs per order.
_ACCEPT = (
    update(intake_payloads)
    .where(intake_payloads.c.id == bindparam("payload"), intake_payloads.c.state.in_(OPEN))
    .values(
        state="accepted",
        order_ref=bindparam("ref"),
        processed_at=bindparam("at", type_=intake_payloads.c.processed_at.type),
        attempts=intake_payloads.c.attempts + 1,
        reasons=None,
        warnings=bindparam("noted", type_=intake_payloads.c.warnings.type),
    )
)
TIER_WEIGHT = {"wholesale": 2, "vip": 1, "standard": 0}  # impact order after value


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """What became of a delivery, as the CLI's --json and the API answer it."""
    fed = [o for o in outcomes if o.topic in FEED_KINDS and o.state in ("accepted", "duplicate")]
    outcomes = [o for o in outcomes if o not in fed]
    return {
        "accepted": [o.ref for o in outcomes if o.state == "accepted" and not o.outcome],
        "duplicates": [o.ref for o in outcomes if o.state == "duplicate"],
        # a feed's documents (snapshots, receipts, shipments): applied, or a duplicate
        "feeds": [
            {"id": o.id, "state": o.state, "kind": o.topic, "outcome": o.outcome} for o in fed
        ],
        "dead_lettered": [
            {"id": o.id, "reasons": o.reasons} for o in outcomes if o.state == "dead"
        ],
        "pending": [o.id for o in outcomes if o.state == "pending"],
        "warnings": [{"ref": o.ref, "warnings": o.warnings} for o in outcomes if o.warnings],
        # a channel's event applied to an order held (a cancellation, an update recorded)
        "applied": [
            {"ref": o.ref, "topic": o.topic, "outcome": o.outcome}
            for o in outcomes
            if o.state == "accepted" and o.outcome and o.ref
        ],
        # taken and kept, placing nothing: another topic, an order already cancelled or
        # fulfilled in the shop, an X12 997
        "ignored": [
            {"id": o.id, "topic": o.topic, "outcome": o.outcome}
            for o in outcomes
            if o.state == "accepted" and o.outcome and not o.ref
        ],
        # parts of orders kept, waiting for the whole order (a BigCommerce webhook)
        "parked": [
            {"id": o.id, "topic": o.topic, "waiting_for": o.reasons}
            for o in outcomes
            if o.state == "parked"
        ],
    }


@dataclass(frozen=True)
class Stored:
    """A payload as stored (the columns processing reads)."""

    id: int
    channel: str
    account: str
    external_id: str | None
    raw: str
    topic: str | None = None
    state: str = "pending"
    outcome: str | None = None
    order_ref: str | None = None
    reasons: list[str] | None = None


# A step that must commit with a delivery's payloads, given their ids (e.g. recording a
# signed delivery, so that sending it again is known).
WithStored = Callable[[Connection, list[int]], None]


@dataclass(frozen=True)
class Source:
    """Where a delivery came from: the channel, its account, and the topic it came under
    (a webhook's event; None when it named none)."""

    channel: str
    account: str = DEFAULT_ACCOUNT
    topic: str | None = None

    @classmethod
    def of(cls, channel: str, account: str, topic: str | None) -> Source:
        """Checked: a known channel, a valid account, a topic the channel can have."""
        adapter_for(channel)
        check_account(account)
        try:
            return cls(channel, account, topic_of(channel, topic))
        except ValueError as error:
            raise InvalidRequest(str(error)) from None


def _store(
    app: Backorder,
    source: Source,
    text: str,
    hard_limit: int | None = None,
    then: WithStored | None = None,
) -> tuple[list[Stored], int]:
    """Store every payload of one delivery, as received, in one transaction (with `then`):
    the payloads, and how many were waiting before them (none stored when that reaches
    `hard_limit`)."""
    channel, account = source.channel, source.account
    now = app.now()
    payloads = split_checked(source, text)
    idents = [keepable(payload.external_id or "")[:128] or None for payload in payloads]
    topics = [source.topic or body_topic(channel, payload.topic) for payload in payloads]
    rows = [
        {
            "channel": channel,
            "account": account,
            "external_id": ident,
            "received_at": now,
            "content_hash": hashlib.sha256(payload.text.encode()).hexdigest(),
            "raw": payload.text,
            "state": "pending",
            "attempts": 0,
            "topic": topic,
        }
        for payload, ident, topic in zip(payloads, idents, topics, strict=True)
    ]
    with app.db.write() as uow:
        waiting = int(uow.connection.execute(_WAITING).scalar_one()) if hard_limit else 0
        if hard_limit and waiting >= hard_limit:
            raise IntakeFull(waiting)
        ids = list(uow.connection.execute(_STORE, rows).scalars())
        if then is not None:
            then(uow.connection, ids)
        uow.commit()
    stored = [
        Stored(i, channel, account, ident, payload.text, topic)
        for i, payload, ident, topic in zip(ids, payloads, idents, topics, strict=True)
    ]
    return stored, waiting


def split_checked(source: Source, text: str) -> list[Payload]:
    """A delivery's payloads, as its channel splits it; InvalidRequest for a delivery no
    channel sends (too long, a NUL), which is never stored."""
    adapter = adapter_for(source.channel)
    check_account(source.account)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise InvalidRequest(f"a delivery is at most {MAX_PAYLOAD_CHARS:,} characters")
    if "\x00" in text:  # PostgreSQL keeps no NUL, so neither backend takes one
        raise InvalidRequest(
            "a delivery holds no NUL character: no channel's format has one (JSON writes it "
            "\\u0000); nothing was stored"
        )
    return adapter.split(text)


def body_topic(channel: str, topic: str | None) -> str | None:
    """The topic a payload's body names (BigCommerce's `scope`), as stored; None when it
    names none, or nothing a topic can be (converting it then says what it is)."""
    try:
        return topic_of(channel, topic)
    except ValueError:
        return None


def receive(
    app: Backorder,
    channel: str,
    text: str,
    account: str = DEFAULT_ACCOUNT,
    topic: str | None = None,
) -> list[int]:
    """Store every payload of one delivery, as received, in one transaction; their ids."""
    source = Source.of(channel, account, topic)
    return [payload.id for payload in _store(app, source, text)[0]]


def ingest(
    app: Backorder,
    channel: str,
    text: str,
    account: str = DEFAULT_ACCOUNT,
    topic: str | None = None,
) -> list[Outcome]:
    """Receive a delivery (under the channel's topic, if any), then process each of its
    payloads."""
    return _process_stored(app, _store(app, Source.of(channel, account, topic), text)[0])


class IntakeFull(Exception):
    """The backlog has reached the hard limit: nothing more is stored until it drains."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting:,} payloads are waiting; retry later")
        self.waiting = waiting


@dataclass
class Delivery:
    """What became of a delivery taken in over HTTP."""

    outcomes: list[Outcome]
    stored_only: bool  # past the soft limit: stored for the worker, not processed yet
    acknowledgement: str | None
    envelope: list[str] = field(default_factory=list)  # envelope problems, in words


def take_in(app: Backorder, source: Source, text: str, then: WithStored | None = None) -> Delivery:
    """A pushed delivery: refused past the hard backlog limit, stored (with `then`) and left
    for the worker past the soft one, else stored and processed at once."""
    limit = app.settings.intake_hard_limit
    stored, waiting = _store(app, source, text, limit, then)
    ack = acknowledge(app, source.channel, text, [payload.id for payload in stored])
    notes = envelope_notes(source.channel, text)
    if waiting >= app.settings.intake_soft_limit:
        return Delivery([Outcome(payload.id, "pending") for payload in stored], True, ack, notes)
    return Delivery(_process_stored(app, stored), False, ack, notes)


def take_in_now(
    app: Backorder, source: Source, text: str, then: WithStored | None = None
) -> Delivery:
    """A delivery taken from a queue in front of the database (the broker's stream): stored
    (with `then`) and processed at once, whatever the backlog, as that queue holds the
    spike."""
    stored, _ = _store(app, source, text, None, then)
    return Delivery(_process_stored(app, stored), False, None)


def envelope_notes(channel: str, text: str) -> list[str]:
    """What is wrong with a delivery's envelopes, in words (an X12 IEA or GE count, an
    EDIFACT UNZ count that disagrees with what the interchange holds): the messages that
    arrived whole are taken all the same, and the acknowledgement says it by code."""
    adapter = adapter_for(channel)
    return adapter.envelope_notes(text) if isinstance(adapter, Noting) else []


def acknowledge(app: Backorder, channel: str, text: str, ids: list[int]) -> str | None:
    """The acknowledgement a channel expects for a delivery (X12: the 997), numbered by the
    delivery's first stored payload so that every acknowledgement's number is unique."""
    adapter = adapter_for(channel)
    if not isinstance(adapter, Acknowledging) or not ids:
        return None
    return adapter.acknowledge(text, min(ids), app.now())


@dataclass
class _Lookups:
    """What checking a batch of payloads needs from the database, read once per batch."""

    aliases: dict[tuple[str, str], dict[str, str]]  # (channel, account) -> channel SKU -> SKU
    catalogue: dict[str, Decimal | None]  # SKU -> catalogue price
    rules: dict[tuple[str, str], dict[str, Rule]]
    packs: dict[str, dict[str, int]] = field(default_factory=dict)  # SKU -> unit -> units


def _convert(row: Any) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """The adapter's work: the canonical document (or None), reasons, warnings."""
    try:
        converted = ADAPTERS[row.channel].convert(Payload(row.raw, row.external_id))
    except Unreadable as error:
        return None, [str(error)], []
    except (ValueError, TypeError, ArithmeticError, RecursionError) as error:
        return None, [f"unreadable: {error}"], []
    document = converted.order
    if row.account != DEFAULT_ACCOUNT and row.channel != "canonical":
        document["channel"] = f"{document['channel']}.{row.account}"
    return document, [], list(converted.warnings)


def _lines(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    lines = document.get("lines") if document else None
    return [line for line in lines if isinstance(line, dict)] if isinstance(lines, list) else []


def _lookups(app: Backorder, batch: list[tuple[Any, dict[str, Any] | None]]) -> _Lookups:
    """Aliases, catalogue prices and rules for every payload of a batch, in three reads."""
    sources = {(row.channel, row.account) for row, _ in batch}
    # A name with a NUL is no SKU and no alias (neither may hold one), nor a value to query
    # with: PostgreSQL refuses it.
    names = {str(line.get("sku")) for _, doc in batch for line in _lines(doc)}
    names = {name for name in names if "\x00" not in name}
    found: dict[tuple[str, str], dict[str, str]] = {source: {} for source in sources}
    with app.db.read() as uow:
        conn = uow.connection
        alias_rows = (
            conn.execute(
                select(sku_aliases).where(
                    sku_aliases.c.channel.in_({c for c, _ in sources}),
                    sku_aliases.c.account.in_({a for _, a in sources} | {""}),
                    sku_aliases.c.channel_sku.in_(names),
                )
            ).all()
            if names
            else []
        )
        # An alias for the account wins over one for every account of the channel.
        for alias in sorted(alias_rows, key=lambda r: r.account != ""):
            for channel, account in sources:
                if alias.channel == channel and alias.account in ("", account):
                    found[(channel, account)][alias.channel_sku] = alias.sku
        skus = names | {sku for mapping in found.values() for sku in mapping.values()}
        catalogue: dict[str, Decimal | None] = (
            dict(
                conn.execute(
                    select(products.c.sku, products.c.unit_price).where(products.c.sku.in_(skus))
                ).all()
            )
            if skus
            else {}
        )
        packed = {
            str(line.get("sku")) for _, doc in batch for line in _lines(doc) if line.get("unit")
        }
        packed = {sku for sku in packed if "\x00" not in sku}
        packed |= {
            mapping[name] for mapping in found.values() for name in packed if name in mapping
        }
        packs = Products(conn).packs(packed) if packed else {}
        settings = all_settings(conn)
    rules = {source: effective(*source, settings) for source in sources}
    return _Lookups(found, catalogue, rules, packs)


def _prepare(
    row: Any, document: dict[str, Any] | None, lookups: _Lookups
) -> tuple[OrderIn | None, list[str], list[str], dict[str, Any]]:
    """Map SKUs and check a converted payload: the order (or None), reasons, warnings,
    impact."""
    if document is None:
        return None, [], [], {}
    reasons: list[str] = []
    warnings: list[str] = []
    lines = _lines(document)
    mapped = lookups.aliases[(row.channel, row.account)]
    for line in lines:
        if str(line.get("sku")) in mapped:
            line["sku"] = mapped[str(line["sku"])]
    skus = {str(line.get("sku")) for line in lines}
    catalogue = {sku: lookups.catalogue[sku] for sku in skus if sku in lookups.catalogue}
    impact = _impact(document, lines, catalogue)
    for sku in sorted(skus - catalogue.keys()):
        reasons.append(f"unknown SKU {sku!r} (no product, and no alias for {row.channel})")
    try:
        order = OrderIn.model_validate(document)
    except ValidationError as error:
        reasons += [
            f"{'.'.join(str(p) for p in e['loc']) or 'order'}: {e['msg']}" for e in error.errors()
        ]
        return None, reasons, warnings, impact
    unit_prices: list[Decimal | None] | None = None
    if any(line_in.unit for line_in in order.lines):
        unit_prices = []
        for line_in in order.lines:
            each = line_in.to_request()
            try:
                each = in_single_units(each, lookups.packs.get(each.sku, {}))
            except NoPackSize as error:
                if each.sku in catalogue:  # an unknown SKU is reason enough, said above
                    reasons.append(str(error))
            unit_prices.append(each.unit_price)
    rules = lookups.rules[(row.channel, row.account)]
    errors, noted = check(order, catalogue, rules, unit_prices)
    reasons += errors
    warnings += noted
    return (None if reasons else order), reasons, warnings, impact


def _impact(
    document: dict[str, Any], lines: list[Any], catalogue: dict[str, Decimal | None]
) -> dict[str, Any]:
    """What a dead letter puts at risk: the order's value and the buyer's tier."""
    value = Decimal(0)
    for line in lines:
        if not isinstance(line, dict):
            continue
        try:
            quantity = int(line.get("quantity") or 0)
            price = line.get("unit_price")
            unit = (
                Decimal(str(price))
                if price not in (None, "")
                else catalogue.get(str(line.get("sku")))
            )
            value += unit * quantity if unit is not None and unit.is_finite() else 0
        except (ArithmeticError, ValueError, TypeError):
            continue
    customer: dict[str, Any] = (
        document["customer"] if isinstance(document.get("customer"), dict) else {}
    )
    currency = document.get("currency")
    return {
        "value": value.quantize(Decimal("0.0001")) if abs(value) < 10**14 else None,
        "currency": currency
        if isinstance(currency, str) and len(keepable(currency)) == 3
        else None,
        "tier": keepable(str(customer.get("tier") or "standard"))[:16],
    }


@retry(
    retry=retry_if_exception_type(OperationalError),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    stop=stop_after_attempt(5),
    reraise=True,
)
def _place(app: Backorder, row: Any, order: OrderIn, warnings: list[str]) -> tuple[str, bool]:
    """Place the order; the payload is marked accepted in the order's own transaction, and
    the parts of the order parked before it (BigCommerce) are settled there too."""
    request = order.to_request()

    def accepted(conn: Connection) -> None:
        parameters = {"payload": row.id, "ref": request.ref, "at": app.now()}
        conn.execute(_ACCEPT, parameters | {"noted": warnings or None})
        settle_parked(conn, row, request.ref, app)

    token = COMMIT_HOOKS.set((accepted,))
    try:
        placed = place_order(app, request)
    finally:
        COMMIT_HOOKS.reset(token)
    return placed.ref, placed.created


def process_many(app: Backorder, payload_ids: list[int], batch: int = 200) -> list[Outcome]:
    """Turn stored payloads into orders, duplicates or dead letters, in the order given."""
    outcomes: list[Outcome] = []
    for start in range(0, len(payload_ids), batch):
        chunk = payload_ids[start : start + batch]
        with app.db.read() as uow:
            rows = {
                row.id: row
                for row in uow.connection.execute(
                    select(intake_payloads).where(intake_payloads.c.id.in_(chunk))
                )
            }
        missing = [i for i in chunk if i not in rows]
        if missing:
            raise InvalidRequest(f"no intake payload {missing[0]}")
        outcomes += _process_stored(app, [rows[i] for i in chunk])
    return outcomes


def _process_stored(app: Backorder, rows: Sequence[Any], batch: int = 200) -> list[Outcome]:
    """Process payloads already read (or just stored). Each order is placed in its own
    transaction; what checking needs is read once per batch."""
    outcomes: list[Outcome] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        open_rows = [row for row in chunk if row.state in OPEN and not is_feed(row.channel)]
        converted = {row.id: _convert(row) for row in open_rows}
        lookups = _lookups(app, [(row, converted[row.id][0]) for row in open_rows])
        for row in chunk:
            if row.state not in OPEN:
                reasons = list(row.reasons or [])
                outcomes.append(
                    Outcome(row.id, row.state, row.order_ref, reasons, [], row.outcome, row.topic)
                )
                continue
            if is_feed(row.channel):  # a location's stock document: applied, no order
                outcomes.append(process_feed(app, row))
                continue
            outcomes.append(_process_one(app, row, converted[row.id], lookups))
    return outcomes


def _process_one(
    app: Backorder,
    row: Any,
    converted: tuple[dict[str, Any] | None, list[str], list[str]],
    lookups: _Lookups,
) -> Outcome:
    """Check and place one payload. One that breaks the code on the way (not the database
    being away) becomes a dead letter saying so, and the payloads after it go on."""
    document, reasons, warnings = converted
    try:
        handled = handle(app, row)  # a topic's event, or an order that is no backorder
        if handled is not None and handled.state == "parked":
            return _assemble(app, row, handled)
        if handled is not None:
            return handled
        order, more, noted, impact = _prepare(row, document, lookups)
        return _settle(app, row, order, reasons + more, warnings + noted, impact)
    except Exception as error:
        if unavailable(error):
            raise
        reasons = [f"could not be processed: {describe(error, 400)}"]
        log.error("intake payload %s is a dead letter: %s", row.id, reasons[0])
        log.debug("intake payload %s failed", row.id, exc_info=True)
        dead = {"state": "dead", "reasons": reasons}
        return finish(app, row.id, dead) or Outcome(row.id, "dead", None, reasons)


def _assemble(app: Backorder, row: Any, parked_: Outcome) -> Outcome:
    """A part just parked may complete the parts parked before it (an order, then its
    products): the whole they make is stored as a payload of its own and placed, which
    settles every part; what became of this part then."""
    whole = assembled(app, row)
    if whole is None:
        return parked_
    log.info("intake payload %s completes order %s: placing it", row.id, row.external_id)
    source = Source(row.channel, row.account)
    _process_stored(app, _store(app, source, whole.text)[0])
    with app.db.read() as uow:
        return outcome_of(
            uow.connection.execute(
                select(intake_payloads).where(intake_payloads.c.id == row.id)
            ).one()
        )


def _settle(
    app: Backorder,
    row: Any,
    order: OrderIn | None,
    reasons: list[str],
    warnings: list[str],
    impact: dict[str, Any],
) -> Outcome:
    """Place the checked order, or keep the payload as a dead letter."""
    reasons, warnings = [keepable(r) for r in reasons], [keepable(w) for w in warnings]
    if order is not None:
        try:
            ref, created = _place(app, row, order, warnings)
        except OperationalError:
            return Outcome(row.id, "pending", reasons=["database busy; will be retried"])
        except BackorderError as error:  # e.g. a SKU removed since the check
            reasons = [str(error)]
        else:
            if created:  # marked accepted with the order
                return Outcome(row.id, "accepted", ref, [], warnings)
            settled = finish(
                app, row.id, {"state": "duplicate", "order_ref": ref, "warnings": warnings}
            )
            if parks(row.channel):  # parts parked after the order came the first time
                with app.db.write() as uow:
                    settle_parked(uow.connection, row, ref, app)
                    uow.commit()
            return settled or Outcome(row.id, "duplicate", ref, [], warnings)
    dead = {"state": "dead", "reasons": reasons, "warnings": warnings, **impact}
    return finish(app, row.id, dead) or Outcome(row.id, "dead", None, reasons, warnings)


def drain(app: Backorder, limit: int = 10_000) -> list[Outcome]:
    """Process payloads left pending (a crash, a busy database), oldest first; settle the
    parts of orders parked for an order held."""
    settle_held(app)
    with app.db.read() as uow:
        ids = (
            uow.connection.execute(
                select(intake_payloads.c.id)
                .where(intake_payloads.c.state == "pending")
                .order_by(intake_payloads.c.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    return process_many(app, list(ids))


def replay(app: Backorder, payload_id: int | None = None) -> list[Outcome]:
    """Try dead letters again (one, or all of them, oldest first), after a fix."""
    query = select(intake_payloads.c.id).where(intake_payloads.c.state == "dead")
    if payload_id is not None:
        query = query.where(intake_payloads.c.id == payload_id)
    with app.db.read() as uow:
        ids = uow.connection.execute(query.order_by(intake_payloads.c.id)).scalars().all()
    if payload_id is not None and not ids:
        raise InvalidRequest(f"no dead letter {payload_id}")
    return process_many(app, list(ids))


def discard(app: Backorder, payload_id: int, reason: str) -> None:
    """Give up on a dead letter (or a part of an order whose order will not come), saying
    why; it stays in the store."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("say why the dead letter is discarded (--reason)")
    with app.db.write() as uow:
        done = uow.connection.execute(
            update(intake_payloads)
            .where(
                intake_payloads.c.id == payload_id,
                intake_payloads.c.state.in_(("dead", "parked")),
            )
            .values(state="discarded", discard_reason=reason[:500], processed_at=app.now())
        ).rowcount
        if done != 1:
            raise InvalidRequest(f"no dead letter (or parked payload) {payload_id}")
        uow.commit()


def dead_letters(app: Backorder, limit: int = 1000) -> list[dict[str, Any]]:
    """Dead letters, highest impact first: order value, then the buyer's tier, then age."""
    now, p = app.now(), intake_payloads.c
    weight = case(TIER_WEIGHT, value=p.tier, else_=0)
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(intake_payloads)
            .where(p.state == "dead")
            .order_by(func.coalesce(p.value, 0).desc(), weight.desc(), p.received_at, p.id)
            .limit(limit)
        ).all()
    return [
        listed(r, now)
        | {
            "reasons": list(r.reasons or []),
            "value": str(r.value) if r.value is not None else None,
            "currency": r.currency,
            "tier": r.tier,
            "attempts": r.attempts,
        }
        for r in rows
    ]


def add_alias(
    app: Backorder, channel: str, channel_sku: str, sku: str, account: str | None = None
) -> None:
    """Map a channel's name for a product onto our SKU (for one account, or for all); a
    family of feed channels (`stock`, for `stock-csv` and `stock-json`) is a channel here."""
    sender_known(channel)
    if account is not None:
        check_account(account)
    channel_sku = channel_sku.strip()
    if not channel_sku or len(channel_sku) > 128:
        raise InvalidRequest("the channel's SKU must be 1 to 128 characters")
    with app.db.write() as uow:
        conn = uow.connection
        if conn.execute(select(func.count()).where(products.c.sku == sku)).scalar_one() == 0:
            raise UnknownSku(sku)
        key = {"channel": channel, "account": account or "", "channel_sku": channel_sku}
        same = [sku_aliases.c[name] == value for name, value in key.items()]
        known = conn.execute(select(func.count()).select_from(sku_aliases).where(*same))
        if known.scalar_one():
            conn.execute(update(sku_aliases).where(*same).values(sku=sku))
        else:
            conn.execute(insert(sku_aliases).values(key | {"sku": sku, "created_at": app.now()}))
        uow.commit()


def health(app: Backorder) -> list[dict[str, Any]]:
    """Per channel and account: payloads by state, error rate, backlog, the oldest waiting
    (and the oldest part of an order parked) and the last accepted, so a silent or failing
    source shows; and, by topic, the payloads taken that placed and changed nothing (other
    topics, orders already cancelled or fulfilled in the shop, X12 997s, EDIFACT CONTRLs)."""
    now = app.now()
    p = intake_payloads.c
    with app.db.read() as uow:
        counts = uow.connection.execute(
            select(p.channel, p.account, p.state, func.count(), func.min(p.received_at)).group_by(
                p.channel, p.account, p.state
            )
        ).all()
        kept = uow.connection.execute(
            select(p.channel, p.account, p.topic, func.count())
            .where(
                p.outcome.is_not(None),
                p.order_ref.is_(None),
                p.state == "accepted",
                or_(p.topic.is_(None), p.topic.not_in(FEED_KINDS)),  # not a feed's, applied
            )
            .group_by(p.channel, p.account, p.topic)
        ).all()
        last = dict(
            ((r.channel, r.account), r.last)
            for r in uow.connection.execute(
                select(p.channel, p.account, func.max(p.processed_at).label("last"))
                .where(p.state == "accepted")
                .group_by(p.channel, p.account)
            )
        )
    sources: dict[tuple[str, str], dict[str, Any]] = {}
    for channel, account, state, count, oldest in counts:
        source = sources.setdefault(
            (channel, account),
            {"channel": channel, "account": account, "counts": dict.fromkeys(INTAKE_STATES, 0)},
        )
        source["counts"][state] = count
        if state in ("pending", "parked"):
            age = "oldest_waiting_seconds" if state == "pending" else "oldest_parked_seconds"
            source[age] = round((now - oldest).total_seconds(), 1)
    for channel, account, topic, count in kept:  # accepted, placing nothing: by topic
        ignored = sources[(channel, account)].setdefault("ignored", {})
        ignored[topic or "(none)"] = count
    report = []
    for key, source in sorted(sources.items()):
        counts_ = source["counts"]
        processed = sum(counts_[s] for s in ("accepted", "duplicate", "dead", "discarded"))
        failed = counts_["dead"] + counts_["discarded"]
        accepted_at = last.get(key)
        report.append(
            source
            | {
                "backlog": counts_["pending"],
                "error_rate": round(failed / processed, 4) if processed else 0.0,
                "oldest_waiting_seconds": source.get("oldest_waiting_seconds", 0.0),
                "oldest_parked_seconds": source.get("oldest_parked_seconds", 0.0),
                "last_accepted_at": accepted_at.isoformat() if accepted_at else None,
                "ignored": source.get("ignored", {}),
            }
        )
    return report
