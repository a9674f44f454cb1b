"""Staff alerts, kept by the dispatcher: within the transaction that plans a batch of events
it reads the stock and orders the batch touches, lets the domain decide (domain.alerts), and
writes each raised or resolved alert with an `alert_raised` / `alert_resolved` event, which
the next planning pass turns into staff e-mail, the manager's SMS and webhooks. Resolving an
alert withdraws its e-mail and texts not yet sent, so nobody hears of a problem that is gone
(webhooks still get both events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, tuple_, update

from backorder.domain.alerts import AUDIENCES, ORDER_KINDS, Raise, Watch, alert_key, decide
from backorder.domain.events import line_entries
from backorder.services.context import Backorder
from backorder.store.repos import take_event_ids_in_commit_order
from backorder.store.tables import alerts, deliveries, events, order_lines, orders, products

# Messages read by people, withdrawn when what they tell of is gone. A webhook subscriber
# keeps a record of its own: it gets `alert_raised` before `alert_resolved`, always.
HUMAN_CHANNELS = ("email", "sms")
# Events whose order may have nothing waiting any more afterwards.
SETTLING = ("units_allocated", "units_shipped", "units_cancelled")


def waiting_units(conn: Connection, refs: set[str]) -> dict[str, int]:
    """Units still backordered per order reference (every reference asked for is answered)."""
    pairs = [tuple(ref.split(":", 1)) for ref in refs if ":" in ref]
    found: dict[str, int] = dict.fromkeys(refs, 0)
    for chunk in (pairs[i : i + 500] for i in range(0, len(pairs), 500)):
        rows = conn.execute(
            select(orders.c.channel, orders.c.external_id, func.sum(order_lines.c.backordered))
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .where(tuple_(orders.c.channel, orders.c.external_id).in_(chunk))
            .group_by(orders.c.channel, orders.c.external_id)
        ).all()
        for channel, external_id, units in rows:
            found[f"{channel}:{external_id}"] = int(units or 0)
    return found


def keep(conn: Connection, app: Backorder, batch: Any, now: datetime) -> dict[str, int]:
    """Raise and resolve the alerts a batch of events calls for; the units still waiting per
    order the batch settled (for the dispatcher, which withdraws their status updates)."""
    settings = app.settings
    items = [(e.type, e.payload) for e in batch if e.type not in ("alert_raised", "alert_resolved")]
    if not items:
        return {}
    skus: set[str] = set()
    refs: set[str] = set()
    for kind, payload in items:
        if isinstance(payload.get("sku"), str):
            skus.add(payload["sku"])
        for line in line_entries(payload):
            if isinstance(line.get("sku"), str):
                skus.add(line["sku"])
        if (kind in SETTLING or kind == "order_accepted") and isinstance(
            payload.get("order_ref"), str
        ):
            refs.add(payload["order_ref"])
    available = (
        {
            sku: max(0, int(on_hand) - int(allocated))
            for sku, on_hand, allocated in conn.execute(
                select(products.c.sku, products.c.on_hand, products.c.allocated).where(
                    products.c.sku.in_(skus)
                )
            )
        }
        if skus
        else {}
    )
    keys = [alert_key(k, sku, None) for sku in skus for k in ("sold_out_demand", "stock_low")]
    keys += [alert_key(kind, None, ref) for ref in refs for kind in ORDER_KINDS]
    open_keys = (
        set(
            conn.execute(
                select(alerts.c.key).where(alerts.c.key.in_(keys), alerts.c.state == "open")
            ).scalars()
        )
        if keys
        else set()
    )
    waiting = waiting_units(conn, refs) if refs else {}
    watch = decide(
        items,
        Watch(
            available=available,
            waiting=waiting,
            open_keys=open_keys,
            stock_below=settings.alert_stock_below,
            costly_above=settings.sms_threshold,
        ),
    )
    for gone in watch.resolved:  # first: a problem gone and back within a batch is a new one
        resolve_alert(conn, gone.key, gone.resolution, now)
    for alert in watch.raised:
        raise_alert(conn, alert, now)
    return waiting


def _payload(alert_id: int, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "kind": row["kind"],
        "audience": list(AUDIENCES[row["kind"]]),
        "state": row["state"],
        "summary": row["summary"],
        "facts": row["facts"],
        "sku": row["sku"],
        "order_ref": row["order_ref"],
        "resolution": row.get("resolution"),
    }


def raise_alert(conn: Connection, alert: Raise, now: datetime) -> None:
    row = {
        "kind": alert.kind,
        "key": alert.key,
        "sku": alert.sku,
        "order_ref": alert.order_ref,
        "state": "notice" if alert.notice else "open",
        "summary": alert.summary[:500],
        "facts": alert.facts,
        "event_id": 0,
        "opened_at": now,
    }
    alert_id = conn.execute(insert(alerts).returning(alerts.c.id), row).scalar_one()
    take_event_ids_in_commit_order(conn)
    event_id = conn.execute(
        insert(events).returning(events.c.id),
        {
            "type": "alert_raised",
            "occurred_at": now,
            "order_ref": alert.order_ref,
            "sku": alert.sku,
            "payload": {"type": "alert_raised"} | _payload(alert_id, row),
        },
    ).scalar_one()
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(event_id=event_id))


def resolve_alert(conn: Connection, key: str, resolution: str, now: datetime) -> int:
    gone = (
        conn.execute(
            update(alerts)
            .where(alerts.c.key == key, alerts.c.state == "open")
            .values(state="resolved", resolved_at=now, resolution=resolution[:500])
            .returning(alerts)
        )
        .mappings()
        .all()
    )
    for row in gone:
        take_event_ids_in_commit_order(conn)
        conn.execute(
            insert(events),
            {
                "type": "alert_resolved",
                "occurred_at": now,
                "order_ref": row["order_ref"],
                "sku": row["sku"],
                "payload": {"type": "alert_resolved"} | _payload(row["id"], dict(row)),
            },
        )
        conn.execute(  # people only: a subscriber gets every event it subscribed to
            update(deliveries)
            .where(
                deliveries.c.event_id == row["event_id"],
                deliveries.c.state == "due",
                deliveries.c.channel.in_(HUMAN_CHANNELS),
            )
            .values(state="withdrawn", last_error=f"resolved before it was sent: {resolution}")
        )
    return len(gone)


def alert_list(
    app: Backorder, state: str | None = "open", limit: int = 1000
) -> list[dict[str, Any]]:
    """Alerts, newest first: the open ones by default."""
    query = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(alerts.c.state == state)
    with app.db.read() as uow:
        rows = uow.connection.execute(query).mappings().all()
    return [
        _payload(row["id"], dict(row))
        | {
            "opened_at": row["opened_at"].isoformat(),
            "resolved_at": row["resolved_at"].isoformat() if row["resolved_at"] else None,
        }
        for row in rows
    ]
