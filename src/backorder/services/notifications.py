"""The dispatcher: it turns outbox events into deliveries (one per event and recipient) and
sends what is due, with retries, so every event reaches each subscriber once.

Planning reads the events after the `notifier` position and writes their deliveries and the
new position in one transaction: an event is planned exactly once. Sending claims due
deliveries (on PostgreSQL with FOR UPDATE SKIP LOCKED, so several workers share the work),
marks them `sending` with a lease, sends outside any transaction, and records the outcome
only if its claim still holds. A worker that dies after sending and before recording leaves
a lapsed lease: the delivery is sent again with the same `webhook-id`, which the subscriber
uses to drop the repeat."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from jinja2 import TemplateError
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.events import EVENT_TYPES
from backorder.notify import Sent, email, webhooks
from backorder.services.consumers import save_position
from backorder.services.context import Backorder
from backorder.services.customer_links import mint_link
from backorder.services.views import order_view
from backorder.store.tables import (
    customer_preferences,
    deliveries,
    event_consumers,
    events,
    webhook_subscriptions,
)

NOTIFIER = "notifier"  # the dispatcher's position among the outbox's consumers
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{16,}={0,2}$")


# --- subscriptions --------------------------------------------------------------------------


def add_subscription(
    app: Backorder,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    secret: str | None = None,
) -> dict[str, Any]:
    """Subscribe a URL to events from now on (every type, or those named); the answer holds
    the signing secret, shown this once."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidRequest(f"{url!r} is not an http(s) URL")
    types = sorted(set(event_types or []))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidRequest(f"unknown event type(s) {unknown}; known: {', '.join(EVENT_TYPES)}")
    if secret is not None and not SECRET.fullmatch(secret):
        raise InvalidRequest("a secret is whsec_ followed by base64 (at least 16 characters)")
    description = description.strip()[:200]
    with app.db.write() as uow:
        conn = uow.connection
        head = conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
        row = {
            "url": url,
            "secret": secret or webhooks.new_secret(),
            "event_types": types,
            "description": description,
            "active": True,
            "after_event": head,
            "created_at": app.now(),
        }
        new_id = conn.execute(
            insert(webhook_subscriptions).returning(webhook_subscriptions.c.id), row
        ).scalar_one()
        uow.commit()
    return _subscription_view(row | {"id": new_id}) | {"secret": row["secret"]}


def _subscription_view(row: Any) -> dict[str, Any]:
    fields: dict[str, Any] = row if isinstance(row, dict) else dict(row._mapping)
    return {
        "id": fields["id"],
        "url": fields["url"],
        "event_types": list(fields["event_types"] or []),
        "description": fields["description"] or "",
        "active": bool(fields["active"]),
        "created_at": fields["created_at"].isoformat(),
    }


def subscriptions(app: Backorder) -> list[dict[str, Any]]:
    """Every active subscription (without its secret)."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(webhook_subscriptions)
            .where(webhook_subscriptions.c.active.is_(True))
            .order_by(webhook_subscriptions.c.id)
        ).all()
    return [_subscription_view(row) for row in rows]


def remove_subscription(app: Backorder, subscription_id: int) -> int:
    """Stop a subscription; its deliveries not yet sent are withdrawn. How many were."""
    with app.db.write() as uow:
        conn = uow.connection
        done = conn.execute(
            update(webhook_subscriptions)
            .where(
                webhook_subscriptions.c.id == subscription_id,
                webhook_subscriptions.c.active.is_(True),
            )
            .values(active=False)
        ).rowcount
        if done != 1:
            raise InvalidRequest(f"no active webhook subscription {subscription_id}")
        withdrawn = conn.execute(
            update(deliveries)
            .where(
                deliveries.c.subscription_id == subscription_id,
                deliveries.c.state.in_(("due", "dead")),
            )
            .values(state="withdrawn", last_error="subscription removed")
        ).rowcount
        uow.commit()
    return int(withdrawn)


# --- planning -------------------------------------------------------------------------------


def _position(conn: Connection, dialect: str) -> int:
    """The notifier's position, locked for this transaction. The migration that brought the
    dispatcher records the newest event then; without that row it starts at the beginning
    (webhook subscriptions still get only the events written after they were made)."""
    query = select(event_consumers.c.position).where(event_consumers.c.name == NOTIFIER)
    if dialect != "sqlite":
        query = query.with_for_update()
    position = conn.execute(query).scalar_one_or_none()
    return int(position) if position is not None else 0


def plan(app: Backorder, limit: int = 1000) -> int:
    """Turn the next events into deliveries, and move the notifier's position past them, in
    one transaction. How many deliveries were planned."""
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        position = _position(conn, uow.dialect)
        batch = conn.execute(
            select(events.c.id, events.c.type, events.c.payload)
            .where(events.c.id > position)
            .order_by(events.c.id)
            .limit(limit)
        ).all()
        if not batch:
            return 0
        subs = conn.execute(
            select(webhook_subscriptions).where(webhook_subscriptions.c.active.is_(True))
        ).all()
        rows = [
            {
                "event_id": event.id,
                "channel": "webhook",
                "subscription_id": sub.id,
                "recipient": sub.url,
                "message_id": f"msg_{event.id}_{sub.id}",
                "state": "due",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
            for event in batch
            for sub in subs
            if event.id > sub.after_event and (not sub.event_types or event.type in sub.event_types)
        ]
        if app.settings.smtp_url:
            rows += _emails(batch, now, app.settings, _opted_out(conn, batch, "email"))
        if rows:
            conn.execute(insert(deliveries), rows)
        save_position(conn, uow.dialect, NOTIFIER, batch[-1].id, now)
        uow.commit()
    return len(rows)


def _opted_out(conn: Connection, batch: Any, channel: str) -> set[str]:
    """The customers of a batch of events who do not want to hear from us on a channel."""
    who = {
        str(customer["id"])
        for event in batch
        if isinstance(customer := event.payload.get("customer"), dict) and customer.get("id")
    }
    if not who:
        return set()
    p = customer_preferences.c
    return set(
        conn.execute(
            select(p.customer_id).where(
                p.customer_id.in_(who), p.channel == channel, p.opted_out.is_(True)
            )
        ).scalars()
    )


def _emails(batch: Any, now: datetime, settings: Any, opted_out: set[str]) -> list[dict[str, Any]]:
    """The customer e-mails a batch of events calls for: one per milestone event, but the
    milestones the deployment turned off; a backorder confirmation also schedules the status
    updates, N days after the order (each checked again when it falls due)."""
    off = set(settings.email_off)
    rows = []

    def row(event: Any, kind: str, to: str, key: str, due: datetime) -> dict[str, Any]:
        return {
            "event_id": event.id,
            "channel": "email",
            "kind": kind,
            "subscription_id": None,
            "recipient": to,
            "message_id": f"mail_{event.id}_{key}",
            "state": "due",
            "attempts": 0,
            "due_at": due,
            "created_at": now,
        }

    for event in batch:
        kind = email.milestone(event.type, event.payload)
        customer = event.payload.get("customer") or {}
        if kind in off or str(customer.get("id")) in opted_out:
            continue
        to = email.recipient(event.payload) if kind else None
        if not (kind and to):
            continue
        rows.append(row(event, kind, to, kind, now))
        if kind == "backorder_confirmed" and "status_update" not in off:
            placed = datetime.fromisoformat(event.payload["placed_at"])
            for days in sorted(set(settings.status_update_days)):
                due = max(now, placed + timedelta(days=days))
                rows.append(row(event, "status_update", to, f"status_{days}", due))
    return rows


# --- sending --------------------------------------------------------------------------------


def _claim(app: Backorder, limit: int) -> list[tuple[int, int]]:
    """Take up to `limit` due deliveries (or ones whose claim lapsed): (id, attempt)."""
    now = app.now()
    lease = now + timedelta(seconds=app.settings.notify_lease_seconds)
    d = deliveries.c
    with app.db.write() as uow:
        conn = uow.connection
        query = (
            select(d.id, d.attempts)
            .where(d.state.in_(("due", "sending")), d.due_at <= now)
            .order_by(d.due_at, d.id)
            .limit(limit)
        )
        if uow.dialect != "sqlite":
            query = query.with_for_update(skip_locked=True)
        claimed = conn.execute(query).all()
        if claimed:
            conn.execute(
                update(deliveries)
                .where(d.id.in_([row.id for row in claimed]))
                .values(state="sending", due_at=lease, attempts=d.attempts + 1)
            )
        uow.commit()
    return [(row.id, row.attempts + 1) for row in claimed]


def backoff(app: Backorder, attempt: int) -> timedelta:
    """When to try again after a failed attempt: exponential, with full jitter."""
    settings = app.settings
    grown = settings.notify_retry_base_seconds * 2 ** (attempt - 1)
    ceiling = min(settings.notify_retry_cap_seconds, grown)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _record(app: Backorder, delivery_id: int, attempt: int, sent: Sent) -> str:
    """Record an attempt, if this worker's claim still holds; the delivery's state after."""
    now = app.now()
    d = deliveries.c
    if sent.withdrawn:
        values: dict[str, Any] = {"state": "withdrawn", "last_error": sent.error}
    elif sent.ok:
        values = {"state": "sent", "sent_at": now, "last_error": None}
    elif attempt >= app.settings.notify_max_attempts:
        values = {"state": "dead", "last_error": sent.error}
    else:
        values = {"state": "due", "due_at": now + backoff(app, attempt), "last_error": sent.error}
    values["last_status"] = sent.status
    with app.db.write() as uow:
        done = uow.connection.execute(
            update(deliveries)
            .where(d.id == delivery_id, d.state == "sending", d.attempts == attempt)
            .values(values)
        ).rowcount
        uow.commit()
    return str(values["state"]) if done else "lost claim"


def send_due(app: Backorder, limit: int = 100) -> dict[str, int]:
    """Send what is due now; counts of what became of it."""
    claimed = _claim(app, limit)
    counts: dict[str, int] = {}
    if not claimed:
        return counts
    ids = [delivery_id for delivery_id, _ in claimed]
    with app.db.read() as uow:
        rows = {
            row.id: row
            for row in uow.connection.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.channel,
                    deliveries.c.kind,
                    deliveries.c.message_id,
                    deliveries.c.recipient,
                    events.c.id.label("event_id"),
                    events.c.type,
                    events.c.occurred_at,
                    events.c.payload,
                    webhook_subscriptions.c.secret,
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .outerjoin(
                    webhook_subscriptions,
                    webhook_subscriptions.c.id == deliveries.c.subscription_id,
                )
                .where(deliveries.c.id.in_(ids))
            )
        }
    timeout = app.settings.webhook_timeout_seconds
    mailer = _Mailer(app)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for delivery_id, attempt in claimed:
            row = rows[delivery_id]
            if row.channel == "email":
                sent = mailer.send(row)
            else:
                body = webhooks.body_of(row.type, row.occurred_at, row.event_id, row.payload)
                sent = webhooks.post(
                    client, row.recipient, row.secret, row.message_id, app.now(), body
                )
            state = _record(app, delivery_id, attempt, sent)
            counts[state] = counts.get(state, 0) + 1
    return counts


class _Mailer:
    """Renders and sends customer e-mail for one sending pass."""

    def __init__(self, app: Backorder) -> None:
        self.app = app
        settings = app.settings
        self.smtp = email.parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.templates: email.Templates | None = None

    def send(self, row: Any) -> Sent:
        if self.smtp is None:
            return Sent(False, None, "no SMTP server: set BACKORDER_SMTP_URL")
        settings = self.app.settings
        if self.templates is None:
            self.templates = email.Templates(settings.templates_dir)
        ref = row.payload.get("order_ref")
        try:
            minted = mint_link(self.app, ref)
        except BackorderError as error:
            return Sent(False, None, f"no customer link: {error}")
        link = minted.url
        unsubscribe = link.replace("?token=", "/unsubscribe?token=", 1)
        context = email.context_of(row.payload, link, settings.customer_link_days)
        if row.kind == "status_update":
            view = order_view(self.app, ref)
            waiting = [line for line in view["lines"] if line["backordered"]]
            if not waiting:  # fulfilled or cancelled since: nothing to tell
                return Sent(False, None, "nothing waits any more", withdrawn=True)
            context |= {"waiting": waiting, "status": view["status"]}
        try:
            subject, text, html = self.templates.render(row.kind, context)
        except TemplateError as error:
            return Sent(False, None, f"template {row.kind}: {error}"[:500])
        domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "backorder"
        message = email.compose(
            settings.mail_from,
            row.recipient,
            subject,
            text,
            html,
            row.message_id,
            domain,
            unsubscribe,
        )
        return email.send(self.smtp, message, settings.smtp_timeout_seconds)


# --- looking after them ---------------------------------------------------------------------


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "type": row.type,
        "order_ref": row.order_ref,
        "channel": row.channel,
        "kind": row.kind,
        "recipient": row.recipient,
        "message_id": row.message_id,
        "state": row.state,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "created_at": row.created_at.isoformat(),
    }


def _listing() -> Any:
    return select(deliveries, events.c.type, events.c.order_ref).join(
        events, events.c.id == deliveries.c.event_id
    )


def failed(app: Backorder, limit: int = 1000) -> list[dict[str, Any]]:
    """Deliveries that used up their attempts, oldest first."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            _listing().where(deliveries.c.state == "dead").order_by(deliveries.c.id).limit(limit)
        ).all()
    return [_view(row) for row in rows]


def log(app: Backorder, ref: str) -> list[dict[str, Any]]:
    """Every message about one order, with its outcome, in the order they were planned."""
    with app.db.read() as uow:
        rows = uow.connection.execute(
            _listing().where(events.c.order_ref == ref).order_by(deliveries.c.id)
        ).all()
    return [_view(row) for row in rows]


def retry(app: Backorder, delivery_id: int | None = None) -> int:
    """Send again: one delivery (a dead one, or a sent one: a manual redelivery, with the same
    webhook-id), or every dead one. How many were queued."""
    d = deliveries.c
    if delivery_id is None:
        where = d.state == "dead"
    else:
        where = and_(d.id == delivery_id, or_(d.state == "dead", d.state == "sent"))
    with app.db.write() as uow:
        queued = uow.connection.execute(
            update(deliveries).where(where).values(state="due", due_at=app.now(), attempts=0)
        ).rowcount
        uow.commit()
    if delivery_id is not None and queued != 1:
        raise InvalidRequest(f"no dead or sent delivery {delivery_id}")
    return int(queued)
