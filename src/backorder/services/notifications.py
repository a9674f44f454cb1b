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
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from jinja2 import TemplateError
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from backorder.domain.alerts import ORDER_KINDS
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.events import EVENT_TYPES, WeeklyReportReady
from backorder.notify import FOLDED_KINDS, Sent, email, sms, webhooks
from backorder.report import render
from backorder.services import alerts
from backorder.services.consumers import save_position
from backorder.services.context import Backorder
from backorder.services.customer_links import delay_page, mint_link
from backorder.services.report import weekly_report
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
FORMATS = ("standard", "slack")
PREFIX = {"email": "mail", "sms": "sms"}  # of message ids: mail_<event>_<what>
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164


# --- subscriptions --------------------------------------------------------------------------


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


def plan(app: Backorder, limit: int = 1000, rounds: int = 100) -> int:
    """Turn the events not yet planned into deliveries, a batch per transaction, until none
    are left (alerts raised on the way write events of their own, planned in a later round).
    How many deliveries were planned."""
    planned = 0
    for _ in range(rounds):
        made, seen = _plan_batch(app, limit)
        planned += made
        if not seen:
            break
    return planned


def _plan_batch(app: Backorder, limit: int) -> tuple[int, int]:
    """Plan the next events, keep the staff alerts they call for, and move the notifier's
    position past them, in one transaction: (deliveries planned, events read)."""
    now = app.now()
    settings = app.settings
    with app.db.write() as uow:
        conn = uow.connection
        position = _position(conn, uow.dialect)
        batch = conn.execute(
            select(events.c.id, events.c.type, events.c.order_ref, events.c.payload)
            .where(events.c.id > position)
            .order_by(events.c.id)
            .limit(limit)
        ).all()
        if not batch:
            return 0, 0
        subs = conn.execute(
            select(webhook_subscriptions).where(webhook_subscriptions.c.active.is_(True))
        ).all()
        rows = [
            _row(event, "webhook", None, sub.url, f"msg_{event.id}_{sub.id}", now, now, sub.id)
            for event in batch
            for sub in subs
            if event.id > sub.after_event and (not sub.event_types or event.type in sub.event_types)
        ]
        channels = [
            channel
            for channel, on in (("email", bool(settings.smtp_url)), ("sms", sms_ready(settings)))
            if on
        ]
        if channels:
            chosen = _preferences(conn, batch)
            rows += _fold(conn, _customer_messages(batch, now, settings, channels, chosen), now)
        rows += _staff_messages(batch, now, settings)
        rows += _report_messages(batch, now, settings)
        if rows:
            conn.execute(insert(deliveries), rows)
        waiting = alerts.keep(conn, app, batch, now)
        settled = [ref for ref, units in waiting.items() if units == 0]
        if settled:  # nothing waits: status updates not yet sent have nothing to say
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.order_ref.in_(settled),
                    deliveries.c.kind == "status_update",
                    deliveries.c.state == "due",
                )
                .values(state="withdrawn", last_error="nothing waits any more")
            )
        save_position(conn, uow.dialect, NOTIFIER, batch[-1].id, now)
        uow.commit()
    return len(rows), len(batch)


def sms_ready(settings: Any) -> bool:
    return bool(settings.sms_account_sid and settings.sms_auth_token and settings.sms_from)


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
            and sms_ready(settings)
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


# --- sending --------------------------------------------------------------------------------


def _claim(app: Backorder, limit: int) -> list[tuple[int, int]]:
    """Take up to `limit` due deliveries (or ones whose claim lapsed): (id, attempt). A text
    whose claim lapsed may have gone out (the provider honours no idempotency key): it is
    reported dead, with why, rather than sent twice."""
    now = app.now()
    lease = now + timedelta(seconds=app.settings.notify_lease_seconds)
    d = deliveries.c
    with app.db.write() as uow:
        conn = uow.connection
        conn.execute(
            update(deliveries)
            .where(d.state == "sending", d.channel == "sms", d.due_at <= now)
            .values(state="dead", last_error=f"the worker stopped while sending; {sms.UNSURE}")
        )
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
    elif sent.permanent or attempt >= app.settings.notify_max_attempts:
        values = {"state": "dead", "last_error": sent.error}
    else:
        wait = backoff(app, attempt)
        if sent.retry_after is not None:  # the far side said how long; we never hurry it
            asked = min(sent.retry_after, app.settings.notify_retry_cap_seconds)
            wait = max(wait, timedelta(seconds=asked))
        values = {"state": "due", "due_at": now + wait, "last_error": sent.error}
    values["last_status"] = sent.status
    if sent.provider_id:
        values["provider_id"] = sent.provider_id
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
        conn = uow.connection
        rows = {
            row.id: row
            for row in conn.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.channel,
                    deliveries.c.kind,
                    deliveries.c.message_id,
                    deliveries.c.recipient,
                    deliveries.c.folded,
                    events.c.id.label("event_id"),
                    events.c.type,
                    events.c.occurred_at,
                    events.c.payload,
                    webhook_subscriptions.c.secret,
                    webhook_subscriptions.c.format,
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .outerjoin(
                    webhook_subscriptions,
                    webhook_subscriptions.c.id == deliveries.c.subscription_id,
                )
                .where(deliveries.c.id.in_(ids))
            )
        }
        more = sorted({i for row in rows.values() for i in row.folded or []})
        folded = (
            dict(
                conn.execute(
                    select(events.c.id, events.c.payload).where(events.c.id.in_(more))
                ).all()
            )
            if more
            else {}
        )
    settings = app.settings
    with httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
        writer = _Writer(app, client)
        try:
            _send_each(app, claimed, rows, folded, client, writer, counts)
        finally:
            writer.close()
    return counts


def _send_each(
    app: Backorder,
    claimed: list[tuple[int, int]],
    rows: dict[int, Any],
    folded: dict[int, Any],
    client: httpx.Client,
    writer: _Writer,
    counts: dict[str, int],
) -> None:
    for delivery_id, attempt in claimed:
        row = rows[delivery_id]
        if row.channel == "webhook":
            if row.format == "slack":
                body = webhooks.text_body(row.type, row.payload)
            else:
                body = webhooks.body_of(row.type, row.occurred_at, row.event_id, row.payload)
            sent = webhooks.post(client, row.recipient, row.secret, row.message_id, app.now(), body)
        else:
            payloads = [row.payload] + [folded[i] for i in row.folded or [] if i in folded]
            sent = writer.send(row, payloads)
        state = _record(app, delivery_id, attempt, sent)
        counts[state] = counts.get(state, 0) + 1


class _Writer:
    """Renders and sends e-mail and texts for one sending pass."""

    def __init__(self, app: Backorder, client: httpx.Client) -> None:
        self.app = app
        settings = app.settings
        self.smtp = (
            email.Session(email.parse_smtp_url(settings.smtp_url), settings.smtp_timeout_seconds)
            if settings.smtp_url
            else None
        )
        self.sms: sms.SmsProvider | None = None
        if sms_ready(settings):
            self.sms = sms.Twilio(
                client,
                settings.sms_url,
                str(settings.sms_account_sid),
                str(settings.sms_auth_token),
                str(settings.sms_from),
            )
        self.templates: email.Templates | None = None
        self.reports: dict[str, render.MailParts] = {}
        self.shop = email.shop_name(settings.mail_from)

    def send(self, row: Any, payloads: list[dict[str, Any]]) -> Sent:
        if row.channel == "email" and self.smtp is None:
            return Sent(False, None, "no SMTP server: set BACKORDER_SMTP_URL")
        if row.channel == "sms" and self.sms is None:
            return Sent(False, None, "no SMS provider: set BACKORDER_SMS_ACCOUNT_SID and friends")
        settings = self.app.settings
        if self.templates is None:
            self.templates = email.Templates(settings.templates_dir)
        if row.type == WeeklyReportReady.type:
            return self._report(row)
        staff = row.type in ("alert_raised", "alert_resolved")
        try:
            if staff:
                context = row.payload | {"shop": self.shop}
                unsubscribe = None
            else:
                made = self._customer_context(row, payloads)
                if isinstance(made, Sent):
                    return made
                context, unsubscribe = made
            if row.channel == "sms":
                assert self.sms is not None
                return self.sms.send(row.recipient, self.templates.text(row.kind, context))
            subject, text, html = self.templates.render(
                row.kind if not staff else "alert", context, "email" if not staff else "staff"
            )
        except TemplateError as error:
            return Sent(False, None, f"template {row.kind}: {error}"[:500])
        message = email.compose(
            settings.mail_from,
            row.recipient,
            subject,
            text,
            html,
            row.message_id,
            email.message_domain(settings.mail_from),
            unsubscribe,
        )
        assert self.smtp is not None
        return self.smtp.send(message)

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()

    def _report(self, row: Any) -> Sent:
        """The week's report, made once per sending pass (as of then) for all recipients."""
        week = str(row.payload.get("week"))
        try:
            if week not in self.reports:
                self.reports[week] = render.mail_parts(weekly_report(self.app, week))
        except BackorderError as error:
            return Sent(False, None, f"report {week}: {error}"[:500], permanent=True)
        sender = self.app.settings.mail_from
        message = render.email(self.reports[week], sender, row.recipient, row.message_id)
        assert self.smtp is not None
        return self.smtp.send(message)

    def _customer_context(
        self, row: Any, payloads: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], str | None] | Sent:
        ref = row.payload.get("order_ref")
        try:
            minted = mint_link(self.app, ref)
        except BackorderError as error:
            return Sent(False, None, f"no customer link: {error}")
        link = minted.url
        unsubscribe: str | None = link.replace("?token=", "/unsubscribe?token=", 1)
        if row.channel == "sms":
            unsubscribe = None
        context = email.context_of(payloads, link, self.app.settings.customer_link_days, self.shop)
        if row.kind == "status_update":
            view = order_view(self.app, ref)
            waiting = [line for line in view["lines"] if line["backordered"]]
            if not waiting:  # fulfilled or cancelled since: nothing to tell
                return Sent(False, None, "nothing waits any more", withdrawn=True)
            context |= {"waiting": waiting, "status": view["status"]}
        if row.kind == "eta_changed":
            items = _new_dates(context["items"], order_view(self.app, ref))
            if not items:  # served, cancelled or back on the date told: nothing to tell
                return Sent(False, None, "the date told holds again", withdrawn=True)
            context |= {"items": items}
        if row.kind == "delay_notice":
            view = order_view(self.app, ref)
            still = {line["line"] for line in view["lines"] if line["backordered"]}
            lines = [line for line in context["lines"] if line["line"] in still]
            if not lines:  # served or cancelled since: nothing is delayed any more
                return Sent(False, None, "nothing delayed waits any more", withdrawn=True)
            page = delay_page(self.app, ref, minted.token)
            context |= {
                "lines": lines,
                "accept_url": f"{page}&choice=accept",
                "cancel_url": f"{page}&choice=cancel",
            }
        return context, unsubscribe


def _days_between(before: str | None, after: str | None) -> int | None:
    if before is None or after is None:
        return None
    return (date.fromisoformat(after) - date.fromisoformat(before)).days


def _new_dates(items: list[dict[str, Any]], view: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per line that still waits, with the date told before the first change in
    this message and the date expected now (as of sending), if those differ."""
    waiting = {line["line"]: line for line in view["lines"] if line["backordered"]}
    told: dict[int, Any] = {}
    for item in items:
        told.setdefault(item["line"], item.get("previous"))
    return [
        {
            "line": number,
            "sku": waiting[number]["sku"],
            "backordered": waiting[number]["backordered"],
            "previous": before,
            "eta": waiting[number]["eta"],
            "promised": waiting[number]["promised"],
            "days": _days_between(before, waiting[number]["eta"]),
        }
        for number, before in told.items()
        if number in waiting and waiting[number]["eta"] != before
    ]


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
        "provider_id": row.provider_id,
        "folded": list(row.folded or []),
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
