"""Customer e-mail: which events are worth a message (the milestones), the message itself
from Jinja2 templates (HTML and plain text; a deployment can override any template in its
own folder), and sending it over SMTP.

`BACKORDER_SMTP_URL` is `smtp://[user:password@]host[:port][?starttls=true]` (port 25, or
587 with STARTTLS) or `smtps://…` (implicit TLS, port 465)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from backorder.canonical import is_address
from backorder.domain.events import line_entries
from backorder.notify import Sent

REASONS = {
    "customer": "at your request",
    "not_backorderable": "it cannot be backordered",
    "discontinued": "it has been discontinued",
    "over_customer_limit": "it is over the limit per customer",
    "over_backorder_cap": "we are not taking more orders of it for now",
    "backorder_window_closed": "we are no longer taking orders of it",
    "no_known_date": "we do not know yet when it will be back in stock",
    "lead_time_too_long": "it would take too long to come back in stock",
    "supplier_unreliable": "we cannot promise a date for it with confidence",
    "customer_request": "at your request",
    "delay_cancelled": "you chose to cancel it after our delay notice",
    "delay_not_accepted": "it was delayed and we did not hear that you accept the new date",
}


def milestone(event_type: str, payload: dict[str, Any]) -> str | None:
    """The customer message an event calls for, if any. Messages speak of what waits: an
    order with nothing backordered needs no backorder confirmation, and units allocated at
    intake are part of that confirmation, not news of their own."""
    if event_type == "order_accepted":
        waiting = any(line.get("backordered") for line in line_entries(payload))
        return "backorder_confirmed" if waiting else None
    if event_type == "units_allocated":
        return "allocated" if payload.get("source") != "intake" else None
    if event_type == "eta_changed":
        return "eta_changed" if payload.get("backordered") else None
    if event_type == "delay_noticed":
        return "delay_notice"
    if event_type == "units_shipped":
        return "shipped"
    if event_type == "units_cancelled":
        return "cancelled"
    return None


def recipient(payload: dict[str, Any]) -> str | None:
    customer = payload.get("customer") or {}
    email = customer.get("email") if isinstance(customer, dict) else None
    # an order stored before addresses were checked at intake may hold one that is not
    return email if isinstance(email, str) and is_address(email) else None


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    implicit_tls: bool


def parse_smtp_url(url: str) -> Smtp:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            "an SMTP URL is smtp://[user:pass@]host[:port][?starttls=true] or smtps://…"
        )
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    return Smtp(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=query.get("starttls") in ("true", "1", "yes"),
        implicit_tls=implicit,
    )


class Templates:
    """The message templates: a deployment's own folder first, then the built-in ones."""

    def __init__(self, folder: Path | None = None) -> None:
        loaders: list[Any] = [FileSystemLoader(str(folder))] if folder else []
        loaders.append(PackageLoader("backorder.notify", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=lambda name: bool(name and name.endswith(".html")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(
        self, kind: str, context: dict[str, Any], folder: str = "email"
    ) -> tuple[str, str, str]:
        """(subject, plain text, HTML)."""
        subject = self.env.get_template(f"{folder}/{kind}.subject.txt").render(context)
        subject = " ".join(subject.split())
        context = context | {"subject": subject}
        text = self.env.get_template(f"{folder}/{kind}.txt").render(context)
        html = self.env.get_template(f"{folder}/{kind}.html").render(context)
        return subject, text, html

    def text(self, kind: str, context: dict[str, Any]) -> str:
        """A short text message (sms/<kind>.txt)."""
        return self.env.get_template(f"sms/{kind}.txt").render(context)


def context_of(
    payloads: list[dict[str, Any]], view_url: str, link_days: int, shop: str
) -> dict[str, Any]:
    """What a template may use: the first event's fields; `items`, every event the message
    tells of (later changes of the same kind to the same order are folded into one message);
    the lines that wait and those ready; the customer link; and whether the customer paid at
    order (so is refunded) or pays at shipment."""
    payload = payloads[0]
    lines = line_entries(payload)
    terms = payload.get("terms") or {}
    items = [
        item | {"reason_text": REASONS.get(str(item.get("reason")), str(item.get("reason") or ""))}
        for item in payloads
    ]
    refund = sum((Decimal(str(item.get("value") or 0)) for item in payloads), Decimal(0))
    timing = payload.get("payment_timing") or terms.get("payment_timing")
    return payload | {
        "order_ref": payload.get("order_ref"),
        "customer": payload.get("customer") or {},
        "items": items,
        "waiting": [line for line in lines if line.get("backordered")],
        "ready": [line for line in lines if line.get("allocated")],
        "view_url": view_url,
        "link_days": link_days,
        "paid": timing != "at_ship",
        "refund": refund,
        "reason_text": items[0]["reason_text"],
        "shop": shop,
    }


def message_domain(mail_from: str) -> str:
    """The right-hand side of our Message-IDs: the domain of the From address."""
    return mail_from.rsplit("@", 1)[-1].strip(" >") or "backorder"


def shop_name(mail_from: str) -> str:
    """How texts sign: the display name of the From address."""
    return parseaddr(mail_from)[0] or "Backorder"


def compose(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    domain: str,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id}@{domain}>"  # the same on a resend
    if unsubscribe_url:  # one click, from the mail program (RFC 8058)
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class Session:
    """One connection to the SMTP server for a sending pass, opened on first use and again
    after a failure; close it when the pass ends."""

    def __init__(self, smtp: Smtp, timeout: float) -> None:
        self.smtp = smtp
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        client: smtplib.SMTP
        if smtp.implicit_tls:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
        try:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def send(self, message: EmailMessage) -> Sent:
        """One attempt. A server that cannot be reached or answers 4xx is worth another try;
        a 5xx answer (no such mailbox, refused) is permanent."""
        try:
            if self.client is None:
                self.client = self._connect()
            refused = self.client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            codes = [code for code, _ in error.recipients.values()]
            return Sent(
                False,
                codes[0] if codes else None,
                f"refused: {error.recipients}"[:500],
                permanent=bool(codes) and all(code >= 500 for code in codes),
            )
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            code = getattr(error, "smtp_code", None)
            code = code if isinstance(code, int) else None
            return Sent(
                False,
                code,
                f"{type(error).__name__}: {error}"[:500],
                permanent=code is not None and code >= 500,
            )
        if refused:
            return Sent(False, None, f"refused: {refused}"[:500])
        return Sent(True, 250, provider_id=str(message["Message-ID"])[:128])
