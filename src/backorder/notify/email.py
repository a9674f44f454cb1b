"""Customer e-mail: which events are worth a message (the milestones), the message itself
from Jinja2 templates (HTML and plain text; a deployment can override any template in its
own folder), and sending it over SMTP.

`BACKORDER_SMTP_URL` is `smtp://[user:password@]host[:port][?starttls=true]` (port 25, or
587 with STARTTLS) or `smtps://…` (implicit TLS, port 465)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from backorder.notify import Sent

REASONS = {
    "customer": "at your request",
    "not_backorderable": "it cannot be backordered",
    "discontinued": "it has been discontinued",
    "over_customer_limit": "it is over the limit per customer",
}


def milestone(event_type: str, payload: dict[str, Any]) -> str | None:
    """The customer message an event calls for, if any. Messages speak of what waits: an
    order with nothing backordered needs no backorder confirmation, and units allocated at
    intake are part of that confirmation, not news of their own."""
    if event_type == "order_accepted":
        waiting = any(line.get("backordered") for line in payload.get("lines") or [])
        return "backorder_confirmed" if waiting else None
    if event_type == "units_allocated":
        return "allocated" if payload.get("source") != "intake" else None
    if event_type == "units_shipped":
        return "shipped"
    if event_type == "units_cancelled":
        return "cancelled"
    return None


def recipient(payload: dict[str, Any]) -> str | None:
    customer = payload.get("customer") or {}
    email = customer.get("email") if isinstance(customer, dict) else None
    return email if isinstance(email, str) and "@" in email else None


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

    def render(self, kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, plain text, HTML)."""
        subject = self.env.get_template(f"email/{kind}.subject.txt").render(context)
        subject = " ".join(subject.split())
        context = context | {"subject": subject}
        text = self.env.get_template(f"email/{kind}.txt").render(context)
        html = self.env.get_template(f"email/{kind}.html").render(context)
        return subject, text, html


def context_of(payload: dict[str, Any], view_url: str, link_days: int) -> dict[str, Any]:
    """What a template may use: the event's fields, plus the lines that wait and those ready,
    the customer link, and whether the customer paid at order (refund) or pays at shipment."""
    lines = payload.get("lines") or []
    terms = payload.get("terms") or {}
    return payload | {
        "order_ref": payload.get("order_ref"),
        "customer": payload.get("customer") or {},
        "waiting": [line for line in lines if line.get("backordered")],
        "ready": [line for line in lines if line.get("allocated")],
        "view_url": view_url,
        "link_days": link_days,
        "paid": terms.get("payment_timing") != "at_ship",
        "reason_text": REASONS.get(str(payload.get("reason")), str(payload.get("reason") or "")),
    }


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


def send(smtp: Smtp, message: EmailMessage, timeout: float) -> Sent:
    """One attempt. A refused recipient or a server error is a failure to retry."""
    try:
        client: smtplib.SMTP
        if smtp.implicit_tls:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        code = getattr(error, "smtp_code", None)
        return Sent(
            False, code if isinstance(code, int) else None, f"{type(error).__name__}: {error}"[:500]
        )
    if refused:
        return Sent(False, None, f"refused: {refused}"[:500])
    return Sent(True, 250)
