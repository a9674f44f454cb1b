"""What messages an event calls for: a webhook per subscriber, customers' e-mail and texts
at their milestones (folded when they come in runs), staff alerts, the weekly report. Each
is a row of `deliveries`, built here and written by planning in its transaction."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from backorder.domain.alerts import ORDER_KINDS
from backorder.domain.events import WeeklyReportReady
from backorder.notify import FOLDED_KINDS, email, sms
from backorder.services.context import Backorder
from backorder.store.tables import (
    customer_preferences,
    deliveries,
    webhook_subscriptions,
)

PREFIX = {"email": "mail", "sms": "sms"}  # of message ids: mail_<event>_<what>
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164


def webhook_rows(conn: Connection, batch: Any, now: datetime) -> list[dict[str, Any]]:
    """The webhooks: every subscriber gets every event it subscribed to, whatever it says."""
    subs = conn.execute(
        select(webhook_subscriptions).where(webhook_subscriptions.c.active.is_(True))
    ).all()
    return [
        _row(event, "webhook", None, sub.url, f"msg_{event.id}_{sub.id}", now, now, sub.id)
        for event in batch
        for sub in subs
        if event.id > sub.after_event and (not sub.event_types or event.type in sub.event_types)
    ]


def people_rows(
    conn: Connection, app: Backorder, batch: Any, now: datetime
) -> list[dict[str, Any]]:
    """The messages people read: customers' e-mail and texts, staff alerts, the report."""
    settings = app.settings
    rows: list[dict[str, Any]] = []
    channels = [
        channel
        for channel, on in (("email", bool(settings.smtp_url)), ("sms", sms.configured(settings)))
        if on
    ]
    if channels:
        chosen = _preferences(conn, batch)
        rows += _fold(conn, _customer_messages(batch, now, settings, channels, chosen), now)
    rows += _staff_messages(batch, now, settings)
    rows += _report_messages(batch, now, settings)
    return rows


def _preferences(conn: Connection, batch: Any) -> dict[tuple[str, str], bool]:
    """What the customers of a batch of events chose per channel: True, they want to hear
    from us there; False, they do not. No entry: they said nothing (e-mail: they may; SMS:
    only with the consent their order carried)."""
    who = {
        str(customer["id"])
        for event in batch
        if isinstance(customer := event.payload.get("customer"), dict) and customer.get("id")
    }
    if not who:
        return {}
    p = customer_preferences.c
    return {
        (row.customer_id, row.channel): not row.opted_out
        for row in conn.execute(
            select(p.customer_id, p.channel, p.opted_out).where(p.customer_id.in_(who))
        )
    }


def _address(
    payload: dict[str, Any], channel: str, chosen: dict[tuple[str, str], bool]
) -> str | None:
    """Where a customer hears from us on a channel, if they may."""
    customer = payload.get("customer")
    if not isinstance(customer, dict):
        return None
    choice = chosen.get((str(customer.get("id")), channel))
    if channel == "email":
        return email.recipient(payload) if choice is not False else None
    phone = re.sub(r"[\s().-]", "", str(customer.get("phone") or ""))
    consent = choice if choice is not None else bool(customer.get("sms_consent"))
    return phone if consent and PHONE.fullmatch(phone) else None


def _customer_messages(
    batch: Any,
    now: datetime,
    settings: Any,
    channels: list[str],
    chosen: dict[tuple[str, str], bool],
) -> list[dict[str, Any]]:
    """The customer messages a batch of events calls for: one per milestone event and channel,
    but the milestones the deployment turned off; a backorder confirmation also schedules the
    status updates, N days after the order (each checked again when it falls due). Milestones
    that often come in runs (allocated, shipped, cancelled) wait the folding window."""
    rows = []
    fold = timedelta(seconds=settings.notify_fold_seconds)
    off = {"email": set(settings.email_off), "sms": set(settings.sms_off)}
    for event in batch:
        kind = email.milestone(event.type, event.payload)
        if kind is None:
            continue
        for channel in channels:
            to = _address(event.payload, channel, chosen)
            if to is None or kind in off[channel]:
                continue
            due = now + fold if kind in FOLDED_KINDS else now
            prefix = PREFIX[channel]
            rows.append(_row(event, channel, kind, to, f"{prefix}_{event.id}_{kind}", due, now))
            if kind == "backorder_confirmed" and "status_update" not in off[channel]:
                placed = datetime.fromisoformat(event.payload["placed_at"])
                for days in sorted(set(settings.status_update_days)):
                    due = placed + timedelta(days=days)
                    if due <= now:  # taken in late: the confirmation says it all
                        continue
                    rows.append(
                        _row(
                            event,
                            channel,
                            "status_update",
                            to,
                            f"{prefix}_{event.id}_status_{days}",
                            due,
                            now,
                        )
                    )
    return rows


def _row(
    event: Any,
    channel: str,
    kind: str | None,
    to: str,
    message_id: str,
    due: datetime,
    now: datetime,
    subscription_id: int | None = None,
) -> dict[str, Any]:
    """One delivery to plan. Every row names every column, so one executemany takes them all."""
    return {
        "event_id": event.id,
        "channel": channel,
        "kind": kind,
        "subscription_id": subscription_id,
        "recipient": to,
        "message_id": message_id,
        "order_ref": event.order_ref,
        "folded": None,
        "state": "due",
        "attempts": 0,
        "due_at": due,
        "created_at": now,
    }


def _fold(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Fold runs of one milestone for one order and recipient into one message: into a
    planned message still waiting out its window, or else into the first of the run. The
    rows left to insert."""
    runs: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    kept: list[dict[str, Any]] = []
    for row in rows:
        if row["kind"] in FOLDED_KINDS and row["order_ref"]:
            key = (row["order_ref"], row["channel"], row["kind"], row["recipient"])
            runs.setdefault(key, []).append(row)
        else:
            kept.append(row)
    if not runs:
        return kept
    d = deliveries.c
    waiting = {
        (r.order_ref, r.channel, r.kind, r.recipient): r
        for r in conn.execute(
            select(d.id, d.order_ref, d.channel, d.kind, d.recipient, d.folded).where(
                d.order_ref.in_({key[0] for key in runs}),
                d.kind.in_(FOLDED_KINDS),
                d.state == "due",
                d.attempts == 0,
                d.due_at > now,
            )
        )
    }
    for key, run in runs.items():
        into = waiting.get(key)
        if into is not None:
            folded = list(into.folded or []) + [row["event_id"] for row in run]
            done = conn.execute(
                update(deliveries)
                .where(d.id == into.id, d.state == "due", d.attempts == 0)
                .values(folded=folded)
            ).rowcount
            if done == 1:
                continue
        first, rest = run[0], run[1:]
        kept.append(first | {"folded": [row["event_id"] for row in rest] or None})
    return kept


def _staff_messages(batch: Any, now: datetime, settings: Any) -> list[dict[str, Any]]:
    """Staff hear of each alert raised (a notice or a problem) by e-mail to its audience, the
    warehouse manager of a costly backorder by SMS too, and procurement when low stock is
    back (the crossing up)."""
    addresses = {
        "sales": settings.sales_email,
        "procurement": settings.procurement_email,
        "manager": settings.manager_email,
    }
    rows = []
    for event in batch:
        if event.type not in ("alert_raised", "alert_resolved"):
            continue
        payload = event.payload
        if event.type == "alert_resolved" and payload.get("kind") != "stock_low":
            continue
        targets: list[tuple[str, str]] = []
        if settings.smtp_url:
            emails = {
                address
                for role in payload.get("audience") or []
                for address in addresses.get(role, [])
            }
            targets += [("email", address) for address in sorted(emails)]
        if (
            event.type == "alert_raised"
            and payload.get("kind") in ORDER_KINDS
            and settings.manager_phone
            and sms.configured(settings)
        ):
            targets.append(("sms", settings.manager_phone))
        for n, (channel, to) in enumerate(targets):
            kind = "staff_alert" if channel == "email" else str(payload.get("kind"))
            message_id = f"{PREFIX[channel]}_{event.id}_staff{n}"
            rows.append(_row(event, channel, kind, to, message_id, now, now))
    return rows


def _report_messages(batch: Any, now: datetime, settings: Any) -> list[dict[str, Any]]:
    """The weekly report, e-mailed to each of its recipients."""
    if not settings.smtp_url:
        return []
    return [
        _row(event, "email", "weekly_report", to, f"mail_{event.id}_report{n}", now, now)
        for event in batch
        if event.type == WeeklyReportReady.type
        for n, to in enumerate(event.payload.get("recipients") or [])
    ]
