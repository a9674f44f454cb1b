"""The substitute offer as the customer receives it: planned from its event and sent by the
worker's own functions to a real SMTP server (and a stand-in SMS provider) on loopback, read
as a customer reads it (the shop's number, the product's names, the date in words, the
price with its symbol, the link to the order's page, no raw keys); only to customers who did
not opt out; withdrawn when the customer answered on the page before it went."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import log
from backorder.services.planning import plan
from backorder.services.preferences import set_preference
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.stock import receive_stock
from backorder.services.substitute_answers import decline_offer
from backorder.services.substitute_offers import run_offers
from backorder.services.substitutes import add_substitute
from tests.conftest import Clock
from tests.factories import product
from tests.integration.test_message_templates import (
    SUPPORT,
    an_order,
    check_email,
    read_as_a_customer,
)
from tests.integration.test_sms_and_alerts import SID, TOKEN, Provider
from tests.mail import Inbox


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
        notify_fold_seconds=0,
        substitute_offer_days=3,
    )


@pytest.fixture
def db_url(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> str:
    """SQLite only: the message read the same on both backends, and what the answer does in the
    database is tested on both (tests/integration/test_substitutes.py)."""
    path = tmp_path_factory.mktemp("db") / "backorder.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


def test_the_offer_by_email_and_text(
    app: Backorder, inbox: tuple[Inbox, int], provider: Provider, clock: Clock
) -> None:
    box, _ = inbox
    add_product(app, product("FLT-10", name="Filter FLT-10", lead_time_days=20))
    add_product(app, product("FLT-12", name="Filter FLT-12", unit_price=Decimal("24.00")))
    add_substitute(app, "FLT-10", "FLT-12", None)
    receive_stock(app, "FLT-12", 10)
    for number in ("2001", "2002", "2003"):
        place_order(
            app,
            an_order(
                number,
                ("FLT-10", 2, "Large"),
                display=f"#{number}",
                language="en-GB",
                phone=f"+1555010{number}",
            ),
        )
    plan(app)
    send_due(app)
    confirmations = len(box.messages)
    set_preference(app, "c-2002", "email", opted_out=True)
    clock.advance(days=4)
    assert run_offers(app) == {"substitutes_offered": 3}
    plan(app)
    decline_offer(app, "shopify:2003", 1)  # answered on the page before the e-mail went
    send_due(app)

    offers = box.messages[confirmations:]
    assert [m["To"] for m in offers] == ["2001@example.com"]  # 2002 opted out, 2003 answered
    subject, text, html = check_email(offers[0], support=True)
    assert (
        subject
        == "Your order #2001: we can send Filter FLT-12 now instead of Filter FLT-10 (Large)"
    )
    assert (
        "2 x Filter FLT-10 (Large) from your order #2001 are still on their way (expected by "
        "Friday 30 January).\n\nWe can send 2 x Filter FLT-12 instead, now, at the same price: "
        "€19.99 each, €39.98 in all.\n\nIf you would like that, say so on your order's page by "
        "Wednesday 21 January:\nhttps://shop.example/api/v1/customer/orders/shopify:2001?token="
    ) in text, text
    assert "Filter FLT-10 (Large) stays on order and ships as soon as it arrives" in text
    assert ">See the offer</a>" in html and "Filter FLT-12</div>" in html
    withdrawn = [m for m in log(app, "shopify:2003") if m["kind"] == "substitute_offer"]
    assert {(m["state"], m["last_error"]) for m in withdrawn} == {
        ("withdrawn", "the substitute offer is no longer open")
    }
    texts = [t["Body"] for t in provider.texts if "instead" in t["Body"]]
    assert len(texts) == 2  # texts for 2001 and 2002 (who opted out of e-mail only)
    for body in texts:
        read_as_a_customer(body, body)
    assert texts[0].startswith(
        "Acme Mugs & Tees: Filter FLT-10 (Large) from order #2001 is still on its way. We can "
        "send 2 x Filter FLT-12 now instead, same price. Say yes by Wednesday 21 January: "
        "https://shop.example/"
    ), texts[0]
