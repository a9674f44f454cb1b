"""Feeds through the governed intake: a feed channel's payload, stored like an order's, is
read by its adapter to a document (a snapshot, a receipt, a shipment confirmation) and
applied by the applier for its type, in one transaction that also marks the payload
accepted and records the document as applied, so the same document delivered again is a
duplicate. What it did is said in words (`intake_payloads.outcome`). Bad input (a location
or SKU not known, a negative count, an unreadable file) is a dead letter with the reason,
nothing applied; it can be replayed after the fix (an alias added) or discarded."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.intake import FEEDS, Payload, Unreadable, family
from backorder.intake.confirmations import Ignored
from backorder.intake.feeds import Count, FeedDocument, Receipt, ShipmentConfirmation, Snapshot
from backorder.intake.feeds import Units as Moved
from backorder.intake.x12_997 import read_997
from backorder.services.context import Backorder
from backorder.services.faults import describe
from backorder.services.fulfilment import confirm_shipment
from backorder.services.location_aliases import resolve
from backorder.services.payloads import FEED_KINDS, OPEN, Outcome, finish, outcome_of
from backorder.services.stock import count_locked, lock_skus, receive_locked
from backorder.store.db import UnitOfWork, unavailable
from backorder.store.tables import (
    feed_documents,
    intake_payloads,
    order_lines,
    products,
    shipment_lines,
    shipments,
    sku_aliases,
    stock_levels,
    stock_movements,
)
from backorder.store.types import keepable

log = logging.getLogger(__name__)

# What each kind of document is called, as stored in the payload's topic.
KINDS: dict[type, str] = dict(
    zip((Snapshot, Receipt, ShipmentConfirmation), FEED_KINDS, strict=True)
)
Applier = Callable[[Backorder, UnitOfWork, int, Any], str]


def apply_snapshot(app: Backorder, uow: UnitOfWork, location_id: int, doc: Snapshot) -> str:
    """Set on hand at the location to each count, plus what was received there and minus
    what shipped from there after `as_of`; a SKU whose last snapshot there is newer is
    skipped. Counted below what is allocated there, the lowest-ranked allocations there go
    back to waiting."""
    conn = uow.connection
    rows = lock_skus(uow, [count.sku for count in doc.counts])
    ids = [row.id for row in rows.values()]
    newer = _newer_snapshots(conn, location_id, ids, doc.as_of)
    fresh = [c for c in doc.counts if rows[c.sku].id not in newer]
    received, shipped = _since(conn, location_id, ids, doc.as_of)
    ref = f"snapshot as of {doc.as_of.isoformat()}"[:128]
    levels = []
    for count in fresh:
        pid = rows[count.sku].id
        levels.append((count.sku, max(0, count.on_hand + received[pid] - shipped[pid]), ref))
    changes = count_locked(app, uow, (rows, location_id), levels) if levels else []
    _record_as_of(conn, location_id, [rows[c.sku].id for c in fresh], doc.as_of)
    words = [f"snapshot as of {doc.as_of.isoformat()}: {len(levels)} SKU(s) set"]
    on_top = sum(received[rows[c.sku].id] - shipped[rows[c.sku].id] for c in fresh)
    if on_top:
        words.append(f"{on_top:+d} unit(s) received/shipped since as_of applied on top")
    taken = sum(change.units_taken_back for change in changes)
    if taken:
        words.append(f"{taken} allocated unit(s) taken back")
    served = sum(change.lines_served for change in changes)
    if served:
        words.append(f"{served} waiting line(s) served")
    skipped = sorted(c.sku for c in doc.counts if rows[c.sku].id in newer)
    if skipped:
        shown = ", ".join(skipped[:5]) + (" …" if len(skipped) > 5 else "")
        words.append(f"{len(skipped)} skipped, a newer snapshot is applied ({shown})")
    return "; ".join(words)


def _newer_snapshots(
    conn: Connection, location_id: int, ids: list[int], as_of: datetime
) -> set[int]:
    level = stock_levels.c
    query = select(level.product_id).where(
        level.location_id == location_id,
        level.product_id.in_(bindparam("ids", expanding=True)),
        level.counted_as_of > as_of,
    )
    return set(conn.execute(query, {"ids": ids}).scalars())


def _since(
    conn: Connection, location_id: int, ids: list[int], as_of: datetime
) -> tuple[dict[int, int], dict[int, int]]:
    """Units received at the location after `as_of`, and units shipped from it, per
    product: two grouped reads, whatever the number of SKUs."""
    wanted = set(ids)
    moves = stock_movements.c
    received = dict.fromkeys(ids, 0)
    for pid, units in conn.execute(
        select(moves.product_id, func.sum(moves.units))
        .where(moves.location_id == location_id, moves.kind == "receipt", moves.moved_at > as_of)
        .group_by(moves.product_id)
    ):
        if pid in wanted:
            received[pid] = int(units)
    shipped = dict.fromkeys(ids, 0)
    for pid, units in conn.execute(
        select(order_lines.c.product_id, func.sum(shipment_lines.c.units))
        .select_from(shipments)
        .join(shipment_lines, shipment_lines.c.shipment_id == shipments.c.id)
        .join(order_lines, order_lines.c.id == shipment_lines.c.line_id)
        .where(shipments.c.location_id == location_id, shipments.c.shipped_at > as_of)
        .group_by(order_lines.c.product_id)
    ):
        if pid in wanted:
            shipped[pid] = int(units)
    return received, shipped


def _record_as_of(conn: Connection, location_id: int, ids: list[int], as_of: datetime) -> None:
    if not ids:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(stock_levels)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["product_id", "location_id"],
            set_={"counted_as_of": stmt.excluded.counted_as_of},
        ),
        [{"product_id": pid, "location_id": location_id, "counted_as_of": as_of} for pid in ids],
    )


def apply_receipt(app: Backorder, uow: UnitOfWork, location_id: int, doc: Receipt) -> str:
    """Units arrived at the location: on hand goes up there and the network queue is
    served from it, among the lines that location can serve."""
    merged: dict[str, int] = {}
    for line in doc.lines:
        merged[line.sku] = merged.get(line.sku, 0) + line.units
    rows = lock_skus(uow, list(merged))
    receipts = [(sku, units, doc.reference[:128]) for sku, units in merged.items()]
    changes = receive_locked(app, uow, (rows, location_id), receipts)
    words = [f"received {sum(merged.values())} unit(s) of {len(merged)} SKU(s) ({doc.reference})"]
    served = sum(change.lines_served for change in changes)
    if served:
        units = sum(change.units_allocated for change in changes)
        words.append(f"{units} unit(s) allocated to {served} waiting line(s)")
    return "; ".join(words)


def apply_shipment(
    app: Backorder, uow: UnitOfWork, location_id: int, doc: ShipmentConfirmation
) -> str:
    return confirm_shipment(uow, location_id, doc, app.now())


APPLY: dict[type, Applier] = {
    Snapshot: apply_snapshot,
    Receipt: apply_receipt,
    ShipmentConfirmation: apply_shipment,
}


def is_feed(channel: str) -> bool:
    return channel in FEEDS


def process(app: Backorder, row: Any) -> Outcome:
    """Read and apply one stored feed payload; a dead letter with the reason when it cannot
    be. One that breaks the code on the way (not the database being away) is a dead letter
    too, and the payloads after it go on."""
    if family(row.channel) == "x12":  # a 997 answering our 940s comes back this way
        words = read_997(row.raw)
        if words is not None:
            kept = {"state": "accepted", "outcome": words[:500], "topic": "997"}
            return finish(app, row.id, kept) or Outcome(
                row.id, "accepted", outcome=words[:500], topic="997"
            )
    try:
        document = FEEDS[row.channel].read(Payload(row.raw, row.external_id))
    except Ignored as error:  # readable, and no shipment: recorded, nothing done
        said = keepable(f"ignored: {error}")[:500]
        values = {"state": "accepted", "outcome": said, "reasons": None}
        return finish(app, row.id, values) or Outcome(row.id, "accepted", outcome=said)
    except Unreadable as error:
        return _dead(app, row, str(error))
    except (ValueError, TypeError, ArithmeticError, RecursionError) as error:
        return _dead(app, row, f"unreadable: {error}")
    try:
        return _apply(app, row, document)
    except OperationalError:
        return Outcome(row.id, "pending", reasons=["database busy; will be retried"])
    except BackorderError as error:
        return _dead(app, row, str(error))
    except Exception as error:
        if unavailable(error):
            raise
        log.error("feed payload %s is a dead letter: %s", row.id, describe(error, 400))
        log.debug("feed payload %s failed", row.id, exc_info=True)
        return _dead(app, row, f"could not be processed: {describe(error, 400)}")


def _dead(app: Backorder, row: Any, reason: str) -> Outcome:
    reasons = [keepable(reason)[:500]]
    return finish(app, row.id, {"state": "dead", "reasons": reasons}) or Outcome(
        row.id, "dead", None, reasons
    )


def document_key(row: Any) -> str:
    """What names a payload's document: the sender's id for it, else its content."""
    return str(row.external_id) if row.external_id else f"sha256:{row.content_hash}"


def _apply(app: Backorder, row: Any, document: FeedDocument) -> Outcome:
    kind = KINDS[type(document)]
    key = document_key(row)[:200]
    with app.db.write() as uow:
        conn = uow.connection
        claimed = _claim(conn, row, key, app.now())
        if claimed is None:
            location_id = resolve(conn, row.channel, document.location)
            document = _our_skus(conn, row, document)
            outcome = keepable(APPLY[type(document)](app, uow, location_id, document))[:500]
            done = conn.execute(
                update(intake_payloads)
                .where(intake_payloads.c.id == row.id, intake_payloads.c.state.in_(OPEN))
                .values(
                    state="accepted",
                    outcome=outcome,
                    topic=kind,
                    processed_at=app.now(),
                    attempts=intake_payloads.c.attempts + 1,
                    reasons=None,
                )
            ).rowcount
            if done:
                uow.commit()
                return Outcome(row.id, "accepted", None, [], [], outcome, kind)
    # rolled back: applied before (from payload `claimed`), or settled by another worker
    if claimed is not None:
        said = f"duplicate of payload {claimed}"
        values = {"state": "duplicate", "outcome": said, "topic": kind}
        return finish(app, row.id, values) or Outcome(row.id, "duplicate", outcome=said, topic=kind)
    with app.db.read() as again:
        found = again.connection.execute(
            select(intake_payloads).where(intake_payloads.c.id == row.id)
        ).one()
    return outcome_of(found)


def _claim(conn: Connection, row: Any, key: str, now: datetime) -> int | None:
    """Record the document as applied by this payload; the payload that applied it before,
    if one did (a concurrent one waits here for the first to commit or roll back)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {"channel": row.channel, "account": row.account, "document_key": key}
    inserted = conn.execute(
        dialect.insert(feed_documents)
        .values(values | {"payload_id": row.id, "applied_at": now})
        .on_conflict_do_nothing()
        .returning(feed_documents.c.payload_id)
    ).first()
    if inserted is not None:
        return None
    f = feed_documents.c
    return int(
        conn.execute(
            select(f.payload_id).where(
                f.channel == row.channel, f.account == row.account, f.document_key == key
            )
        ).scalar_one()
    )


def _our_skus(conn: Connection, row: Any, document: FeedDocument) -> FeedDocument:
    """The document with the sender's SKUs mapped to ours (an alias for the channel's
    account, then the channel, then the channel's family; else our SKU itself);
    InvalidRequest naming the SKUs that are none of ours."""
    names = (
        {c.sku for c in document.counts}
        if isinstance(document, Snapshot)
        else {line.sku for line in document.lines}
    )
    a = sku_aliases.c
    found = conn.execute(
        select(a.channel, a.account, a.channel_sku, a.sku).where(
            a.channel.in_({row.channel, family(row.channel)}),
            a.account.in_({row.account, ""}),
            a.channel_sku.in_(bindparam("names", expanding=True)),
        ),
        {"names": sorted(names)},
    ).all()
    mapped: dict[str, str] = {}
    # the most general first, so the most specific is written last and wins
    for alias in sorted(found, key=lambda r: (r.channel == row.channel, r.account != "")):
        mapped[alias.channel_sku] = alias.sku
    ours = {name: mapped.get(name, name) for name in names}
    known = set(
        conn.execute(
            select(products.c.sku).where(products.c.sku.in_(bindparam("skus", expanding=True))),
            {"skus": sorted(set(ours.values()))},
        ).scalars()
    )
    unknown = sorted(name for name, sku in ours.items() if sku not in known)
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise InvalidRequest(
            f"unknown SKU(s) {shown} ({len(unknown)} in all): no product, and no alias for "
            f"{row.channel} (backorder sku alias {family(row.channel)} THEIRS OURS)"
        )
    if isinstance(document, Snapshot):
        counts = [Count(ours[c.sku], c.on_hand) for c in document.counts]
        if len({c.sku for c in counts}) != len(counts):
            raise InvalidRequest("a snapshot counts one SKU twice")
        return dataclasses.replace(document, counts=tuple(counts))
    lines = tuple(Moved(ours[line.sku], line.units) for line in document.lines)
    return dataclasses.replace(document, lines=lines)
