"""Customer e-mail: which events are worth a message (the milestones), the message itself
from Jinja2 templates (HTML and plain text; a deployment can override any template in its
own folder), and sending it over SMTP.

`BACKORDER_SMTP_URL` is `smtp://[user:password@]host[:port][?starttls=true]` (port 25, or
587 with STARTTLS) or `smtps://…` (implicit TLS, port 465)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    pass_context,
)
from jinja2.runtime import Context

from backorder import words
from backorder.canonical import is_address
from backorder.domain.events import line_entries
from backorder.domain.units import ordered_as, part_in_words
from backorder.notify import Sent


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
        # a substitute's units take the place of these: the order page said so, no refund
        return "cancelled" if payload.get("reason") != "substituted" else None
    if event_type == "substitute_offered":
        return "substitute_offer"
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


@pass_context
def _day(context: Context, value: date | str | None) -> str:
    """A date in words in the message's language: "Tuesday, January 20"."""
    if value is None or value == "":
        return ""
    when = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return words.day(when, context.get("locale") or words.DEFAULT_LOCALE, context.get("today"))


@pass_context
def _money(context: Context, value: Decimal | str | int | None) -> str:
    """An amount in the order's currency, with its symbol: "$59.97", "59,97 €"."""
    locale = context.get("locale") or words.DEFAULT_LOCALE
    return words.money(value, str(context.get("currency") or "USD"), locale)


def units(count: Any, line: dict[str, Any] | None = None) -> str:
    """Units of a line as the buyer counts them: "44" for a line in single units; for one
    ordered in cases, "3 cases of 12 (36 units)" when they make whole cases, else "44 of
    144 units (12 cases of 12)". Written before "x <product>" in the messages."""
    if not isinstance(count, int) or isinstance(count, bool):
        return str(count)
    return part_in_words(count, ordered_as((line or {}).get("ordered")))


def fact(value: Any) -> str:
    """A staff alert's fact in words: order lines as "2 x BOWL" (and how late), a list
    joined, nothing as "none", never a Python repr."""
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        sku = value.get("sku")
        count = next((value[k] for k in ("backordered", "units", "quantity") if k in value), None)
        if sku is not None and count is not None:
            late = value.get("days")
            told = f"{units(count, value)} x {sku}"
            return told + (f", {words.count(int(late), 'day')} late" if late else "")
        return ", ".join(f"{str(k).replace('_', ' ')} {fact(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fact(item) for item in value)
    return str(value)


class Templates:
    """The message templates: a deployment's own folder first, then the built-in ones.

    Whitespace is the template's as written (no `trim_blocks`): a tag at the end of a line
    of text must not take that line's break with it, or a plain-text message runs two
    lines together. A template controls its own line breaks with `{%- … -%}`."""

    def __init__(self, folder: Path | None = None) -> None:
        loaders: list[Any] = [FileSystemLoader(str(folder))] if folder else []
        loaders.append(PackageLoader("backorder.notify", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=lambda name: bool(name and name.endswith(".html")),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self.env.filters["day"] = _day
        self.env.filters["money"] = _money
        self.env.filters["fact"] = fact
        self.env.filters["units"] = units

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


@dataclass(frozen=True)
class Shop:
    """Who the messages come from, as the customer knows the shop."""

    name: str
    support_email: str | None = None
    language: str = words.DEFAULT_LOCALE
    logo_url: str | None = None
    colour: str = "#1f4e79"


def label(name: str | None, variant: str | None, sku: str) -> str:
    """A line's product as the customer knows it: "Blue mug (Large)"; the SKU when the
    catalogue has no name for it."""
    what = (name or "").strip() or sku
    return f"{what} ({variant})" if variant else what


def named(entry: dict[str, Any], view: dict[str, Any] | None) -> dict[str, Any]:
    """A line entry of an event with the product's name and variant, and what the buyer
    ordered when not in single units (12 cases of 12), as the order has them."""
    names = {line["line"]: line for line in (view or {}).get("lines", [])}
    line = names.get(entry.get("line")) if isinstance(entry.get("line"), int) else None
    name = entry.get("name") or (line or {}).get("name")
    variant = entry.get("variant") or (line or {}).get("variant")
    sku = str(entry.get("sku") or (line or {}).get("sku") or "")
    ordered = entry.get("ordered") or (line or {}).get("ordered")
    return entry | {
        "name": name,
        "variant": variant,
        "label": label(name, variant, sku),
        "ordered": ordered,
    }


def context_of(
    payloads: list[dict[str, Any]],
    view_url: str,
    link_days: int,
    shop: Shop,
    view: dict[str, Any] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """What a template may use: the first event's fields; `items`, every event the message
    tells of (later changes of the same kind to the same order are folded into one message);
    the lines that wait and those ready; the customer link; whether the customer paid at
    order (so is refunded) or pays at shipment; and the words the customer knows: the order's
    `number` (the shop's own), each line's `label` (product name and variant), `reason_text`
    for a cancellation, and the `locale` the `day` and `money` filters write in (the
    customer's language, else the shop's), with the shop's name and support address."""
    payload = payloads[0]
    terms = payload.get("terms") or {}
    items = [
        named(item, view) | {"reason_text": words.reason_in_words(str(item.get("reason") or ""))}
        for item in payloads
    ]
    for item in items:
        if isinstance(item.get("lines"), list):  # a shipment's lines
            item["lines"] = [named(line, view) for line in line_entries(item)]
    lines = [named(line, view) for line in line_entries(payload)]
    refund = sum((Decimal(str(item.get("value") or 0)) for item in payloads), Decimal(0))
    timing = payload.get("payment_timing") or terms.get("payment_timing")
    ref = str(payload.get("order_ref") or "")
    customer = payload.get("customer") or {}
    language = ((view or {}).get("customer") or {}).get("language") or customer.get("language")
    return payload | {
        "order_ref": ref,
        "number": (view or {}).get("display_number") or ref.partition(":")[2] or ref,
        "customer": customer,
        "items": items,
        "lines": lines,
        "waiting": [line for line in lines if line.get("backordered")],
        "ready": [line for line in lines if line.get("allocated")],
        "view_url": view_url,
        "link_days": link_days,
        "paid": timing != "at_ship",
        "refund": refund,
        "reason_text": items[0]["reason_text"],
        "shop": shop.name,
        "support_email": shop.support_email,
        "shop_logo_url": shop.logo_url,
        "shop_colour": shop.colour,
        "locale": words.locale_of(language, shop.language),
        "today": today,
    }


def message_domain(mail_from: str) -> str:
    """The right-hand side of our Message-IDs: the domain of the From address."""
    return mail_from.rsplit("@", 1)[-1].strip(" >") or "backorder"


# Headers folded at 78 characters are folded badly by the standard library when they hold a
# parenthesis (the whole subject moves to a continuation line, and the reader's mail program
# shows it with a leading space: "Subject:\n Your order #9001: Blue mug (Large) …"). Lines
# may be 998 characters long (RFC 5322 2.1.1): a subject fits on one. (Only the headers: the
# bodies are encoded first, with the usual policy.)
HEADERS_ON_ONE_LINE = default.clone(max_line_length=998)


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
    message.set_content(text)  # bodies encoded for lines of 78 characters, as before
    message.add_alternative(html, subtype="html")
    message.policy = HEADERS_ON_ONE_LINE  # what the headers are written with
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
