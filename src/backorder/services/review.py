"""The daily review of late backorders (`backorder review`, and the worker once a day).

First the delay notices whose answer date has passed are settled (services.delays). Then, in
one transaction with the late SKUs locked:

1-3. the waiting lines whose promised date has passed, their value and their delay;
4. each one stamped with the time it was checked and its status;
5-8. per late SKU: its supplier's lead time and open purchase orders, the queue dated again,
   a procurement review task (one open per SKU), an incident log entry for the day with the
   mitigation plan, and (11) an inventory task to correct the expected arrivals;
9. a delay notice for each line whose date slipped, one per slip (domain.review);
10. the warehouse manager alerted of each late order worth more than the SMS threshold;
12. the day's figures kept for the weekly report;
13. tasks of SKUs with nothing late any more closed, and alerts of orders served since
    resolved.

Every step looks before it writes, so a second run on the same day changes nothing."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from backorder.domain.alerts import ORDER_KINDS, Raise, alert_key
from backorder.domain.events import (
    DelayNoticed,
    Event,
    ReviewCompleted,
)
from backorder.domain.review import (
    DelayPolicy,
    LateSku,
    Outcome,
    Waiting,
    overdue_days,
    slip,
)
from backorder.domain.supply import Outlook
from backorder.services.alerts import raise_alert, resolve_alert, waiting_units
from backorder.services.context import Backorder
from backorder.services.delays import settle_unanswered
from backorder.services.schedule import reschedule
from backorder.services.self_healing import replan
from backorder.services.tasks import ROLES, close_tasks, log_incidents, open_tasks
from backorder.store.db import UnitOfWork, batches
from backorder.store.repos import Outbox, Products, line_from_row, line_select
from backorder.store.supply import outlooks
from backorder.store.tables import (
    alerts,
    delay_notices,
    order_lines,
    orders,
    products,
    reviews,
)

log = logging.getLogger(__name__)
OVERDUE = "overdue"


def policy_of(app: Backorder) -> DelayPolicy:
    s = app.settings
    return DelayPolicy(s.delay_options, s.delay_answer_days, s.delay_slack_days)


def candidates(conn: Connection, today: date, policy: DelayPolicy) -> list[dict[str, Any]]:
    """Waiting lines that are overdue or may have slipped, with their last delay notice."""
    n = delay_notices.c
    ol = order_lines.c
    latest = select(n.line_id, func.max(n.seq).label("seq")).group_by(n.line_id).subquery()
    last = delay_notices.alias("last")
    query = (
        select(
            ol.id,
            ol.order_id,
            ol.product_id,
            ol.backordered,
            ol.unit_price,
            ol.eta,
            ol.promised,
            ol.checked_at,
            ol.checked_status,
            orders.c.placed_at,
            orders.c.channel,
            orders.c.external_id,
            products.c.sku,
            latest.c.seq,
            last.c.revised,
        )
        .select_from(
            order_lines.join(orders, orders.c.id == ol.order_id)
            .join(products, products.c.id == ol.product_id)
            .outerjoin(latest, latest.c.line_id == ol.id)
            .outerjoin(last, and_(last.c.line_id == ol.id, last.c.seq == latest.c.seq))
        )
        .where(ol.backordered > 0)
        .order_by(ol.id)
    )
    if not policy.options:
        query = query.where(or_(ol.promised < today, last.c.revised < today))
    return [dict(row) for row in conn.execute(query).mappings()]


def waiting_of(row: dict[str, Any], supply: dict[int, Outlook] | None = None) -> Waiting:
    outlook = supply.get(row["product_id"]) if supply else None
    return Waiting(
        line_id=row["id"],
        placed_on=row["placed_at"].date(),
        eta=row["eta"],
        promised=row["promised"],
        notices=row["seq"] or 0,
        holds=row["revised"],
        beyond_supply=outlook is not None
        and row["eta"] is not None
        and row["eta"] == outlook.beyond_supply,
    )


def run_review(app: Backorder) -> dict[str, Any]:
    """Run the daily review as of the app's clock; its summary."""
    now = app.now()
    today = now.date()
    policy = policy_of(app)
    settled = settle_unanswered(app, today)
    with app.db.write() as uow:
        conn = uow.connection
        first = candidates(conn, today, policy)
        touched = {
            row["product_id"]
            for row in first
            if overdue_days(row["promised"], today) or slip(waiting_of(row), today, policy)
        }
        locked = Products(conn).lock_by_id(touched)
        facts: list[Event] = list(
            reschedule(uow, locked.values(), now, app.settings.eta_change_days)
        )
        rows = candidates(conn, today, policy)  # under the locks, with the new dates
        supply = outlooks(conn, locked.values(), today)
        overdue = [row for row in rows if overdue_days(row["promised"], today)]
        stamped = _stamp(conn, overdue, now)
        late = _late_skus(conn, overdue, locked, supply, today)
        healed, plans = replan(
            uow, [row for row in locked.values() if row.product.sku in late], app
        )
        facts += healed
        late = {sku: replace(entry, healing=plans.get(sku)) for sku, entry in late.items()}
        opened = 0
        for kind in ROLES:
            count, more = open_tasks(conn, kind, late, now, app)
            opened += count
            facts += more
        logged = log_incidents(conn, late, now)
        facts += logged
        notified = _notify(uow, [waiting_of(row, supply) for row in rows], now, policy)
        facts += notified
        alerted = _alert_manager(conn, overdue, app, now)
        closed = close_tasks(conn, set(late), now)
        facts += closed
        cleared = len(closed) + _resolve_alerts(conn, now)
        value = sum((row["unit_price"] * row["backordered"] for row in overdue), Decimal(0))
        customers = len({fact.order_ref for fact in notified})
        result = {
            "day": today.isoformat(),
            "overdue_lines": len(overdue),
            "value_at_risk": str(value),
            "tasks_opened": opened,
            "incidents": len(logged),
            "customers_notified": customers,
            "manager_alerted": alerted,
            "cleared": cleared,
            "delays_settled": settled,
            "lines": [_line_view(row, today) for row in overdue],
        }
        changed = any(
            [stamped, opened, logged, notified, alerted, cleared, facts, any(settled.values())]
        )
        if _keep_day(conn, result, len(late), now) or changed:
            facts.append(
                ReviewCompleted(
                    day=today,
                    overdue_lines=len(overdue),
                    value_at_risk=value,
                    tasks_opened=opened,
                    incidents=len(logged),
                    customers_notified=customers,
                    manager_alerted=alerted,
                    cleared=cleared,
                )
            )
        Outbox(conn).append(facts, now)
        uow.commit()
    return result


def review_days(app: Backorder, since: date | None = None) -> list[dict[str, Any]]:
    """The days the review ran, newest first, with the day's figures (the weekly report's
    feed)."""
    query = select(reviews).order_by(reviews.c.day.desc()).limit(1000)
    if since is not None:
        query = query.where(reviews.c.day >= since)
    with app.db.read() as uow:
        rows = uow.connection.execute(query).mappings().all()
    return [
        {
            "day": row["day"].isoformat(),
            "ran_at": row["ran_at"].isoformat(),
            "overdue_lines": row["overdue_lines"],
            "value_at_risk": str(row["value_at_risk"]),
            "skus": row["skus"],
        }
        for row in rows
    ]


def review_due(app: Backorder, now: datetime) -> bool:
    """Whether the day's review is due: the review time has come and it has not run today."""
    if now.timetz().replace(tzinfo=None) < app.settings.review_at:
        return False
    with app.db.read() as uow:
        ran = uow.connection.execute(
            select(reviews.c.day).where(reviews.c.day == now.date())
        ).first()
    return ran is None


def run_daily(app: Backorder) -> bool:
    """The worker's part: run the day's review once it is due; whether it ran. Workers that
    start it together are serialised by the locks of the late SKUs; one that loses the race
    for the day's row finds the review done."""
    now = app.now()
    if not review_due(app, now):
        return False
    try:
        run_review(app)
    except IntegrityError:
        log.info("the review of %s was run by another worker", now.date())
        return False
    return True


def _line_view(row: dict[str, Any], today: date) -> dict[str, Any]:
    return {
        "order": f"{row['channel']}:{row['external_id']}",
        "sku": row["sku"],
        "backordered": row["backordered"],
        "value": str(row["unit_price"] * row["backordered"]),
        "promised": row["promised"].isoformat(),
        "eta": row["eta"].isoformat() if row["eta"] else None,
        "delay_days": overdue_days(row["promised"], today),
    }


def _stamp(conn: Connection, overdue: list[dict[str, Any]], now: datetime) -> int:
    """Step 4: when each overdue line was last checked, and what was found (once a day)."""
    start = datetime.combine(now.date(), time.min, UTC)
    due = [
        row["id"]
        for row in overdue
        if row["checked_at"] is None
        or row["checked_at"] < start
        or row["checked_status"] != OVERDUE
    ]
    for chunk in batches(due):
        conn.execute(
            update(order_lines)
            .where(order_lines.c.id.in_(chunk))
            .values(checked_at=now, checked_status=OVERDUE)
        )
    return len(due)


def _late_skus(
    conn: Connection,
    overdue: list[dict[str, Any]],
    locked: dict[int, Any],
    supply: dict[int, Outlook],
    today: date,
) -> dict[str, LateSku]:
    """Steps 5-7: per late SKU, the facts of its overdue lines and of its supply."""
    by_sku: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in overdue:
        by_sku[row["product_id"]].append(row)
    ready = _ready_orders(conn, {row["order_id"] for row in overdue})
    late = {}
    for pid, rows in by_sku.items():
        product = locked[pid].product
        outlook = supply[pid]
        refs = tuple(sorted({f"{row['channel']}:{row['external_id']}" for row in rows}))
        etas = [row["eta"] for row in rows]
        late[product.sku] = LateSku(
            sku=product.sku,
            lines=len(rows),
            orders=refs,
            units=sum(row["backordered"] for row in rows),
            value=sum((row["unit_price"] * row["backordered"] for row in rows), Decimal(0)),
            max_delay_days=max(overdue_days(row["promised"], today) or 0 for row in rows),
            supplier=product.supplier,
            lead_time_days=outlook.lead_time_days,
            on_time_percent=outlook.on_time_percent,
            inbound=outlook.inbound,
            new_eta=None if None in etas else max(etas),
            ready_orders=tuple(ref for ref in refs if ready.get(ref)),
        )
    return late


def _ready_orders(conn: Connection, order_ids: set[int]) -> dict[str, int]:
    """Units ready to ship now per order (for the partial-shipment offer)."""
    if not order_ids:
        return {}
    ready: dict[str, int] = {}
    for chunk in batches(sorted(order_ids)):
        query = (
            select(orders.c.channel, orders.c.external_id, func.sum(order_lines.c.allocated))
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .where(orders.c.id.in_(chunk))
            .group_by(orders.c.channel, orders.c.external_id)
        )
        ready |= {f"{c}:{e}": int(units or 0) for c, e, units in conn.execute(query)}
    return ready


def _notify(
    uow: UnitOfWork, lines: list[Waiting], now: datetime, policy: DelayPolicy
) -> list[Event]:
    """Step 9: a delay notice for each line whose date slipped (one per slip), gathered per
    order into one message. An earlier notice still waiting for an answer is superseded, and
    the revised date becomes the date the customer was told."""
    conn = uow.connection
    today = now.date()
    slips = {line.line_id: s for line in lines if (s := slip(line, today, policy))}
    if not slips:
        return []
    n = delay_notices.c
    per_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    contexts = {}
    notices = []
    for chunk in batches(sorted(slips)):
        conn.execute(
            update(delay_notices)
            .where(n.line_id.in_(chunk), n.outcome == Outcome.PENDING.value)
            .values(outcome=Outcome.SUPERSEDED.value, settled_at=now)
        )
    slipped = [
        line_from_row(row)
        for chunk in batches(sorted(slips))
        for row in conn.execute(line_select().where(order_lines.c.id.in_(chunk))).mappings()
    ]
    for line in slipped:
        s = slips[line.id]
        notices.append(
            {
                "line_id": line.id,
                "order_id": line.order_id,
                "seq": s.seq,
                "noticed_on": today,
                "missed": s.missed,
                "revised": s.revised,
                "backordered": line.qty.backordered,
                "consent": s.consent.value,
                "answer_by": s.answer_by,
                "outcome": s.outcome.value,
                "created_at": now,
            }
        )
        contexts[line.order.ref] = line.order
        per_order[line.order.ref].append(
            {
                "line": line.line_no,
                "sku": line.sku,
                "backordered": line.qty.backordered,
                "seq": s.seq,
                "missed": s.missed.isoformat(),
                "revised": s.revised.isoformat() if s.revised else None,
                "consent": s.consent.value,
                "answer_by": s.answer_by.isoformat() if s.answer_by else None,
            }
        )
    conn.execute(insert(delay_notices), notices)
    conn.execute(
        update(order_lines)
        .where(order_lines.c.id == bindparam("lid"))
        .values(eta_told=bindparam("told")),
        [{"lid": notice["line_id"], "told": notice["revised"]} for notice in notices],
    )
    return [
        DelayNoticed(order=contexts[ref], lines=tuple(items), options=policy.options)
        for ref, items in sorted(per_order.items())
    ]


def _alert_manager(
    conn: Connection, overdue: list[dict[str, Any]], app: Backorder, now: datetime
) -> int:
    """Step 10: each late order whose overdue backorder is worth more than the SMS threshold
    raises an `overdue_costly` alert for the warehouse manager (once, while it stays late)."""
    threshold = app.settings.sms_threshold
    if threshold is None or not overdue:
        return 0
    per_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in overdue:
        per_order[f"{row['channel']}:{row['external_id']}"].append(row)
    costly = {
        ref: rows
        for ref, rows in per_order.items()
        if sum(row["unit_price"] * row["backordered"] for row in rows) > threshold
    }
    if not costly:
        return 0
    keys = {alert_key("overdue_costly", None, ref): ref for ref in costly}
    open_keys = {
        key
        for chunk in batches(sorted(keys))
        for key in conn.execute(
            select(alerts.c.key).where(alerts.c.key.in_(chunk), alerts.c.state == "open")
        ).scalars()
    }
    today = now.date()
    raised = 0
    for key, ref in sorted(keys.items()):
        if key in open_keys:
            continue
        rows = costly[ref]
        value = sum((row["unit_price"] * row["backordered"] for row in rows), Decimal(0))
        days = max(overdue_days(row["promised"], today) or 0 for row in rows)
        raise_alert(
            conn,
            Raise(
                "overdue_costly",
                f"Order {ref} has {value} on backorder, up to {days} days late",
                {
                    "value": str(value),
                    "lines": [
                        {
                            "sku": row["sku"],
                            "backordered": row["backordered"],
                            "days": overdue_days(row["promised"], today),
                        }
                        for row in rows
                    ],
                },
                order_ref=ref,
            ),
            now,
        )
        raised += 1
    return raised


def _resolve_alerts(conn: Connection, now: datetime) -> int:
    """Step 13: order alerts of orders with nothing waiting any more are resolved."""
    open_refs = list(
        conn.execute(
            select(alerts.c.order_ref).where(
                alerts.c.state == "open", alerts.c.kind.in_(ORDER_KINDS)
            )
        ).scalars()
    )
    if not open_refs:
        return 0
    waiting = waiting_units(conn, set(open_refs))
    gone = 0
    for ref in sorted(ref for ref, units in waiting.items() if not units):
        for kind in ORDER_KINDS:
            gone += resolve_alert(
                conn, alert_key(kind, None, ref), "nothing of it waits any more", now
            )
    return gone


def _keep_day(conn: Connection, result: dict[str, Any], skus: int, now: datetime) -> bool:
    """Step 12: the day's figures, for the weekly report; whether they are new."""
    today = now.date()
    figures = {
        "overdue_lines": result["overdue_lines"],
        "value_at_risk": Decimal(result["value_at_risk"]),
        "skus": skus,
    }
    known = conn.execute(select(reviews).where(reviews.c.day == today)).mappings().first()
    summary_ = {k: v for k, v in result.items() if k != "lines"}
    if known is None:
        conn.execute(insert(reviews), {"day": today, "ran_at": now, "summary": summary_} | figures)
        return True
    if {k: known[k] for k in figures} == figures:
        return False
    conn.execute(
        update(reviews)
        .where(reviews.c.day == today)
        .values(ran_at=now, summary=summary_, **figures)
    )
    return True
