"""Webhook subscriptions: which URLs hear of which events, signed with whose secret."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update

from backorder.domain.errors import InvalidRequest
from backorder.domain.events import EVENT_TYPES
from backorder.notify import webhooks
from backorder.services.context import Backorder
from backorder.store.tables import (
    deliveries,
    events,
    webhook_subscriptions,
)

SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{16,}={0,2}$")
FORMATS = ("standard", "slack")


def add_subscription(
    app: Backorder,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    secret: str | None = None,
    format: str = "standard",
) -> dict[str, Any]:
    """Subscribe a URL to events from now on (every type, or those named); the answer holds
    the signing secret, shown this once. The `slack` format posts `{"text": …}`, which Slack
    and Teams incoming webhooks take."""
    if format not in FORMATS:
        raise InvalidRequest(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a bracket that does not make an IPv6 address
        parts = urlsplit("")
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
            "format": format,
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
        "format": fields["format"],
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
