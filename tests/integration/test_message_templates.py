"""Every message template, rendered the way the worker renders it (events planned, sent by
`send_due` to a real SMTP server and a stand-in SMS provider on loopback), with and without
its optional parts: a variant or none, an expected date or none, tracking or none, a support
address or none, one line or several, a delay with options or without. Each message is
read as a customer would: the product's name, the order's own number, dates in words and
money with its symbol are there; no `None`, no template syntax, no raw keys, no lines run
together; the HTML parses and escapes what the customer typed."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser

import pytest
from pytest_httpserver import HTTPServer

from backorder.config import Settings
from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
)
from backorder.notify import EMAIL_KINDS
from backorder.services.context import Backorder
from backorder.services.customer_links import customer_cancel, mint_link
from backorder.services.intake import place_order
from backorder.services.notifications import log
from backorder.services.orders import cancel_order, ship_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.sending import send_due
from backorder.services.stock import receive_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from tests.conftest import Clock
from tests.factories import jan, product
from tests.integration.test_sms_and_alerts import SID, TOKEN, Provider
from tests.mail import Inbox, parts

NAME = "Ada <Lovelace> & Co"  # what a customer typed: escaped in HTML, as typed in text
SUPPORT = "help@acme.example"
VOID = {"meta", "br", "img", "hr", "input", "link"}


@pytest.fixture
def provider(httpserver: HTTPServer) -> Provider:
    return Provider(httpserver)


@pytest.fixture
def settings(provider: Provider, inbox: tuple[Inbox, int]) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        public_url="https://shop.example",
        mail_from="Acme <orders@shop.example>",
        shop_name="Acme Mugs & Tees",
        shop_support_email=SUPPORT,
        shop_language="en",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        sms_url=provider.base,
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from="+15550000000",
        manager_phone="+15550009999",
        manager_email=["manager@shop.example"],
        procurement_email=["buyers@shop.example"],
        alert_stock_below=1,
        sms_threshold=Decimal("100"),
        notify_fold_seconds=0,
        delay_options=True,
    )


def an_order(
    number: str,
    *lines: tuple[str, int, str | None],
    display: str | None = None,
    language: str | None = None,
    phone: str,
) -> OrderRequest:
    return OrderRequest(
        channel="shopify",
        external_id=number,
        placed_at=jan(10),
        customer=Customer(
            id=f"c-{number}",
            name=NAME,
            email=f"{number}@example.com",
            phone=phone,
            sms_consent=True,
            language=language,
        ),
        currency="EUR",
        terms=OrderTerms(),
        lines=tuple(LineRequest(sku, qty, None, variant) for sku, qty, variant in lines),
        display_number=display,
    )


class Strict(HTMLParser):
    """An HTML parser that refuses what a lenient one would guess at: a closing tag that
    closes no open one, and tags left open at the end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def check(self, html: str) -> None:
        self.feed(html)
        self.close()
        assert self.open == [], f"left open: {self.open}"


RAW = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a key or code: customer_self_service, order_ref
URL = re.compile(r"https?://\S+|mailto:\S+|[\w.+-]+@[\w.-]+")
RUN_TOGETHER = re.compile(r"[a-z0-9.,;:)][A-Z][a-z]|\S- \d")  # "know itYou", "us:- 2 x"


def read_as_a_customer(text: str, where: str) -> None:
    """What every message must not do to its reader."""
    words = URL.sub(" ", text)
    assert "None" not in words, f"{where}: None in {text!r}"
    assert "{{" not in text and "{%" not in text and "}}" not in text, where
    assert not RAW.findall(words), f"{where}: raw keys {RAW.findall(words)} in {text!r}"
    assert not RUN_TOGETHER.findall(words), f"{where}: run together in {text!r}"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", words), f"{where}: an ISO date in {text!r}"
    assert "customer_self_service" not in text and "shopify:" not in words, where


def check_email(message: EmailMessage, support: bool) -> tuple[str, str, str]:
    subject = str(message["Subject"])
    text, html = parts(message)
    kind = f"e-mail {subject!r}"
    for part in (subject, text):
        read_as_a_customer(part, kind)
    Strict().check(html)
    shown = unescape(re.sub(r"<[^>]+>", " ", html))
    read_as_a_customer(shown, kind)
    assert NAME in text and "Ada &lt;Lovelace&gt; &amp; Co" in html and NAME not in html
    assert "Acme Mugs &amp; Tees" in html and "Acme Mugs & Tees" in text
    assert (SUPPORT in text) is support and (SUPPORT in html) is support, kind
    assert "\n\n\n" not in text, f"{kind}: blank lines pile up in {text!r}"
    link = re.search(r"https://shop\.example/\S+", text)
    assert link is not None and link.group(0).replace("&", "&amp;") in html, kind
    return subject, text, html


def test_every_message_reads_well_with_and_without_its_optional_parts(
    app: Backorder, inbox: tuple[Inbox, int], provider: Provider, clock: Clock
) -> None:
    box, _ = inbox
    add_supplier(app, SupplierIn("POTTERY", "Pottery Co", 20))
    add_product(app, product("MUG-BLUE", name="Blue mug", supplier="POTTERY"))
    add_product(app, product("TEE", name="Field tee"))  # no lead time, no supplier: no date
    add_product(
        app, product("BOWL", name="Soup bowl", unit_price=Decimal("60.00"), supplier="POTTERY")
    )
    add_product(app, product("VASE", name="Tall vase", lead_time_days=2))
    receive_stock(app, "MUG-BLUE", 1)
    clock.current = jan(10)

    def deliver() -> None:
        plan(app)
        send_due(app)

    # Several lines, one with a variant and one without, one with a date and one without,
    # part ready now, the shop's number and the customer's language (en-GB: "Friday 30
    # January"); one line, no number of the shop's, no language (the shop's, en-GB), costly
    # enough for a staff alert.
    several = an_order(
        "1001",
        ("MUG-BLUE", 3, "Blue & White"),
        ("TEE", 1, None),
        display="#9001",
        language="en-GB",
        phone="+15550100001",
    )
    place_order(app, several)
    place_order(app, an_order("1002", ("BOWL", 2, None), phone="+15550100002"))
    deliver()
    receive_stock(app, "MUG-BLUE", 2)  # allocated: the two mugs that waited
    ship_order(app, "shopify:1001", tracking="1Z999AA10123456784")  # the rest follows
    deliver()
    clock.advance(days=7)
    deliver()  # a week on: status updates, the tee with no date, the bowls with theirs
    customer_cancel(app, "shopify:1001", mint_link(app, "shopify:1001").token)
    deliver()  # the tee: "you cancelled it"

    app.settings.shop_support_email = None  # from here on, no support address
    supported = len(box.messages)
    add_purchase_order(app, "PO-1", "POTTERY", [PoLineIn("BOWL", 2, date(2026, 2, 5))])
    run_review(app)  # the bowls will miss 30 January: the customer may choose
    deliver()
    app.settings.delay_options = False
    vase = an_order("1003", ("VASE", 1, "Large"), display="PO 77", phone="+15550100003")
    place_order(app, replace(vase, terms=OrderTerms(payment_timing=PaymentTiming.AT_SHIP)))
    clock.advance(days=4)
    run_review(app)  # its date passed: a notice without options
    deliver()
    clock.current = datetime(2026, 2, 7, 10, tzinfo=UTC)
    run_review(app)  # the bowls, worth more than 100, are late: the manager hears of it
    deliver()
    receive_stock(app, "BOWL", 2)
    receive_stock(app, "VASE", 1)
    ship_order(app, "shopify:1002")  # no tracking
    cancel_order(app, "shopify:1003", reason="customer_request")  # not charged: pays at ship
    deliver()

    made = [m for ref in ("shopify:1001", "shopify:1002", "shopify:1003") for m in log(app, ref)]
    unmade = [(m["kind"], m["last_error"]) for m in made if m["state"] not in ("sent", "withdrawn")]
    assert unmade == []  # no template failed on its data
    sent = [
        (m["channel"], m["kind"])
        for ref in ("shopify:1001", "shopify:1002", "shopify:1003")
        for m in log(app, ref)
        if m["state"] == "sent"
    ]
    # every customer template, by e-mail and by text (substitute offers: test_substitute_email)
    for channel in ("email", "sms"):
        kinds = set(EMAIL_KINDS) - {"substitute_offer"}
        assert {kind for c, kind in sent if c == channel} >= kinds, channel
    staff = [(m["channel"], m["kind"]) for m in log(app, "shopify:1002") if m["state"] == "sent"]
    assert {
        ("email", "staff_alert"),
        ("sms", "costly_backorder"),
        ("sms", "overdue_costly"),
    } <= set(staff)
    # The bowls' later date came in a delay notice: no second message with the same news.
    (repeat,) = [
        m
        for m in log(app, "shopify:1002")
        if m["kind"] == "eta_changed" and m["channel"] == "email"
    ]
    assert (repeat["state"], repeat["last_error"]) == (
        "withdrawn",
        "a delay notice gave the new date",
    )

    emails = {}
    for n, message in enumerate(box.messages):
        if message["To"].endswith("@shop.example"):
            staff_alert(message)
        else:
            emails[message["Subject"]] = check_email(message, support=n < supported)
    procurement = [str(m["Subject"]) for m in box.messages if m["To"] == "buyers@shop.example"]
    assert any(subject.startswith("Resolved: ") for subject in procurement), procurement
    texts = [t["Body"] for t in provider.texts if t["To"] != "+15550009999"]
    for body in texts:
        read_as_a_customer(body, f"text {body!r}")
        assert body.startswith("Acme Mugs & Tees: ")
    manager = [t["Body"] for t in provider.texts if t["To"] == "+15550009999"]
    assert [body.split(":")[0] for body in manager] == ["Backorder alert", "Backorder overdue"]
    for body in manager:
        assert "None" not in body and "{" not in body and "[" not in body, body
        assert "2 x BOWL" in body, body

    # What the customer knows, where they look for it:
    _, text, html = emails["Your order #9001: 2 items on backorder"]  # the shop's number
    assert "- 2 x Blue mug (Blue & White): expected to ship by Friday 30 January\n" in text
    assert "- 1 x Field tee: we will tell you the date as soon as we know it\n" in text
    assert "Ready now:\n- 1 x Blue mug (Blue & White)\n\nYou may cancel" in text
    assert "Blue &amp; White" in html and "<strong>Friday 30 January</strong>" in html
    assert "Questions? Write to us at help@acme.example." in text
    # no language on the order: the shop's (en: month first); no number: the channel's id
    _, text, _ = emails["Your order 1002: Soup bowl is on backorder"]
    assert "- 2 x Soup bowl: expected to ship by Friday, January 30\n" in text
    _, text, _ = emails[
        "Your order #9001: Blue mug (Blue & White) is on its way (the rest follows)"
    ]
    assert "- 3 x Blue mug (Blue & White)\n  Tracking number: 1Z999AA10123456784\n" in text
    _, text, _ = emails["Cancelled from your order #9001: Field tee"]
    assert "- 1 x Field tee, because you cancelled it\n\nWe are refunding €19.99." in text
    _, text, _ = emails["Cancelled from your order PO 77: Tall vase (Large)"]
    assert (
        "because you asked us to cancel it" in text and "not been charged for it (€19.99)" in text
    )
    _, text, html = emails["Your order 1002 is delayed: please tell us what you prefer"]
    assert "we said Friday, January 30; we now expect to ship it by Thursday, February 5" in text
    assert ">Accept the delay</a>" in html and "&amp;choice=cancel" in html
    _, text, _ = emails["Your order PO 77 is delayed"]  # without options
    assert "Accept" not in text and "You may cancel what has not shipped" in text
    assert "Tracking" not in emails["Your order 1002: Soup bowl is on its way"][1]
    assert any("#9001" in body and "Tracking number: 1Z999AA10123456784" in body for body in texts)
    assert texts[0].startswith(
        "Acme Mugs & Tees: order #9001 confirmed. On backorder: 2 x Blue mug (Blue & White), "
        "expected Friday 30 January; 1 x Field tee, date to follow. Cancel any time before"
    )


def staff_alert(message: EmailMessage) -> None:
    """Staff read SKUs and references (they look them up), but no Python, no None."""
    text, html = parts(message)
    Strict().check(html)
    for part in (str(message["Subject"]), text, unescape(re.sub(r"<[^>]+>", " ", html))):
        assert "None" not in part and "{" not in part and "[" not in part, part
        assert not RAW.findall(URL.sub(" ", part).replace("shopify:", "")), part
    assert not RUN_TOGETHER.findall(text) and "\n\n\n" not in text, text
    if message["To"] == "manager@shop.example":
        assert "Lines: 2 x BOWL" in text and "2 x BOWL" in html
