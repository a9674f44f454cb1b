"""Sending: claim due deliveries, send each outside any transaction, record the outcome
only if the claim still holds."""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from jinja2 import TemplateError
from sqlalchemy import select, update

from backorder.domain.errors import BackorderError
from backorder.domain.events import WeeklyReportReady
from backorder.notify import Sent, email, sms, webhooks
from backorder.notify import shipping_orders as shipping
from backorder.report import render
from backorder.services import po_sending
from backorder.services.context import Backorder
from backorder.services.customer_links import delay_page, mint_link
from backorder.services.faults import describe
from backorder.services.po_sending import mark_sent
from backorder.services.report import weekly_report
from backorder.services.views import order_view
from backorder.store.db import unavailable
from backorder.store.tables import (
    deliveries,
    events,
    locations,
    shipping_orders,
    webhook_subscriptions,
)

log = logging.getLogger(__name__)


def _claim(app: Backorder, limit: int) -> Claim:
    """Take up to `limit` due deliveries (or ones whose claim lapsed). A text whose claim
    lapsed may have gone out (the provider honours no idempotency key): it is reported dead,
    with why, rather than sent twice. A message whose claim lapsed on its last attempt (the
    worker that held it stopped every time, perhaps because of it) is dead too."""
    now = app.now()
    settings = app.settings
    lease = now + timedelta(seconds=settings.notify_lease_seconds)
    d = deliveries.c
    with app.db.write() as uow:
        conn = uow.connection
        conn.execute(
            update(deliveries)
            .where(d.state == "sending", d.channel == "sms", d.due_at <= now)
            .values(state="dead", last_error=f"the worker stopped while sending; {sms.UNSURE}")
        )
        conn.execute(
            update(deliveries)
            .where(
                d.state == "sending",
                d.due_at <= now,
                d.attempts >= settings.notify_max_attempts,
            )
            .values(
                state="dead",
                last_error=f"the worker stopped while sending it, {settings.notify_max_attempts}"
                " times: not tried again (see the worker's log)",
            )
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
    return Claim(app, {row.id: row.attempts + 1 for row in claimed}, lease)


class Claim:
    """The deliveries one worker holds, and until when. A claim must not lapse while its
    holder is still working through it, or another worker would send the same message again:
    before each message the holder makes sure the lease has room for one more send, and
    renews it for everything it still holds when it has not."""

    def __init__(self, app: Backorder, attempts: dict[int, int], until: datetime) -> None:
        self.app = app
        self.attempts = attempts  # delivery id -> this attempt's number
        self.until = until
        settings = app.settings
        # Room for one send: a webhook or text (one HTTP exchange) or an e-mail (a connection,
        # then the message), each step within its timeout.
        self.room = timedelta(
            seconds=max(settings.webhook_timeout_seconds, 2 * settings.smtp_timeout_seconds)
        )

    def __bool__(self) -> bool:
        return bool(self.attempts)

    def holds(self, delivery_id: int) -> bool:
        """Whether this worker still holds a delivery, with room to send it."""
        if delivery_id not in self.attempts:
            return False
        if self.until - self.app.now() < self.room:
            self._renew()
        return delivery_id in self.attempts

    def done(self, delivery_id: int) -> None:
        self.attempts.pop(delivery_id, None)

    def _renew(self) -> None:
        """Extend the lease of every delivery still held; forget those lost meanwhile."""
        now = self.app.now()
        until = now + timedelta(seconds=self.app.settings.notify_lease_seconds)
        d = deliveries.c
        held = {}
        with self.app.db.write() as uow:
            conn = uow.connection
            for delivery_id, attempt in self.attempts.items():
                renewed = conn.execute(
                    update(deliveries)
                    .where(d.id == delivery_id, d.state == "sending", d.attempts == attempt)
                    .values(due_at=until)
                ).rowcount
                if renewed:
                    held[delivery_id] = attempt
            uow.commit()
        self.attempts, self.until = held, until


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
        if done and sent.ok:  # a purchase order's document: the supplier has it now
            mark_sent(uow.connection, delivery_id, now)
        uow.commit()
    return str(values["state"]) if done else "lost claim"


def send_due(app: Backorder, limit: int = 100) -> dict[str, int]:
    """Send what is due now; counts of what became of it."""
    claim = _claim(app, limit)
    counts: dict[str, int] = {}
    if not claim:
        return counts
    ids = list(claim.attempts)
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
                    shipping_orders.c.document,
                    locations.c.orders_secret,
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .outerjoin(
                    webhook_subscriptions,
                    webhook_subscriptions.c.id == deliveries.c.subscription_id,
                )
                .outerjoin(shipping_orders, shipping_orders.c.message_id == deliveries.c.message_id)
                .outerjoin(locations, locations.c.id == shipping_orders.c.location_id)
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
            for delivery_id in ids:
                if not claim.holds(delivery_id):
                    counts["lost claim"] = counts.get("lost claim", 0) + 1
                    continue
                sent = _attempt(app, rows[delivery_id], folded, client, writer)
                state = _record(app, delivery_id, claim.attempts[delivery_id], sent)
                claim.done(delivery_id)
                counts[state] = counts.get(state, 0) + 1
        finally:
            writer.close()
    return counts


def _attempt(
    app: Backorder, row: Any, folded: dict[int, Any], client: httpx.Client, writer: _Writer
) -> Sent:
    """Send one message. One that cannot be made (a payload its template cannot read, an
    address no mail header can carry) fails at once with its reason and is never tried
    again; the messages after it go on."""
    try:
        if row.channel == "webhook":
            if row.format == "slack":
                body = webhooks.text_body(row.type, row.payload)
            else:
                body = webhooks.body_of(row.type, row.occurred_at, row.event_id, row.payload)
            return webhooks.post(client, row.recipient, row.secret, row.message_id, app.now(), body)
        if row.channel == po_sending.CHANNEL:  # a purchase order to its supplier
            return po_sending.send(app, row, client, writer.smtp)
        if row.channel == "warehouse":  # a shipping order to a 3PL: its document as kept
            media = shipping.MEDIA[row.kind]
            secret = row.orders_secret
            return webhooks.post(
                client, row.recipient, secret, row.message_id, app.now(), row.document, media
            )
        payloads = [row.payload] + [folded[i] for i in row.folded or [] if i in folded]
        return writer.send(row, payloads)
    except Exception as error:
        if unavailable(error):  # not this message's fault: the pass stops, the lease lapses
            raise
        told = f"cannot be sent: {describe(error, 480)}"
        log.error("message %s failed at once: %s", row.message_id, told)
        log.debug("message %s failed", row.message_id, exc_info=True)
        return Sent(False, None, told, permanent=True)


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
        if sms.configured(settings):
            self.sms = sms.Twilio(
                client,
                settings.sms_url,
                str(settings.sms_account_sid),
                str(settings.sms_auth_token),
                str(settings.sms_from),
            )
        self.templates: email.Templates | None = None
        self.reports: dict[str, render.MailParts] = {}
        self.shop = email.Shop(
            name=settings.shop_name,
            support_email=settings.shop_support_email,
            language=settings.shop_language,
            logo_url=settings.shop_logo_url,
            colour=settings.shop_colour,
        )

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
                context = row.payload | {"shop": self.shop.name}
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
        except TemplateError as error:  # the same template and data fail the same way again
            return Sent(False, None, f"template {row.kind}: {error}"[:500], permanent=True)
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
        view = order_view(self.app, ref)
        context = email.context_of(
            payloads,
            link,
            self.app.settings.customer_link_days,
            self.shop,
            view,
            self.app.now().date(),
        )
        if row.kind == "status_update":
            waiting = [email.named(line, view) for line in view["lines"] if line["backordered"]]
            if not waiting:  # fulfilled or cancelled since: nothing to tell
                return Sent(False, None, "nothing waits any more", withdrawn=True)
            context |= {"waiting": waiting, "status": view["status"]}
        if row.kind == "eta_changed":
            moved = _new_dates(context["items"], view)
            if not moved:  # served, cancelled or back on the date told: nothing to tell
                return Sent(False, None, "the date told holds again", withdrawn=True)
            noticed = {notice["line"]: notice["revised"] for notice in view["delays"]}
            items = [
                email.named(item, view)
                for item in moved
                if item["line"] not in noticed or noticed[item["line"]] != item["eta"]
            ]
            if not items:  # the customer has the news already
                return Sent(False, None, "a delay notice gave the new date", withdrawn=True)
            context |= {"items": items}
        if row.kind == "delay_notice":
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
        if row.kind == "substitute_offer":
            line = row.payload.get("line")
            offers = [o for o in view.get("substitutes", []) if o["line"] == line]
            if not offers or offers[0]["state"] != "offered":  # answered, lapsed, moot
                return Sent(False, None, "the substitute offer is no longer open", withdrawn=True)
            total = Decimal(str(row.payload["unit_price"])) * int(row.payload["units"])
            context |= {"total": total}
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
