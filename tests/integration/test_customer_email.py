"""Customer e-mail through a real SMTP server on loopback (aiosmtpd): each milestone of a
backordered order reaches the customer once, in HTML and plain text, with the backordered
quantities, the products' names, the expected date in words and the signed link; templates can
be overridden."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Product
from backorder.services.context import Backorder
from backorder.services.customer_links import customer_unsubscribe
from backorder.services.intake import place_order
from backorder.services.notifications import failed, log
from backorder.services.orders import cancel_order, ship_order
from backorder.services.planning import plan
from backorder.services.preferences import preferences, set_preference
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.sending import send_due
from backorder.services.stock import receive_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.mail import Inbox, free_port, parts


@pytest.fixture
def settings(inbox: tuple[Inbox, int], tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        mail_from="Acme Shop <orders@shop.example>",
        shop_name="Acme Shop",
        public_url="https://shop.example",
        notify_max_attempts=2,
        notify_retry_base_seconds=10,
        notify_fold_seconds=0,  # folding has a test of its own
    )


def deliver(app: Backorder) -> dict[str, int]:
    plan(app)
    return send_due(app)


def test_each_milestone_reaches_the_customer_once(app: Backorder, inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    add_product(app, product("WIDGET-BLUE", lead_time_days=10))
    receive_stock(app, "WIDGET-BLUE", 1)
    place_order(app, order("500", ("WIDGET-BLUE", 4)))
    assert deliver(app) == {"sent": 1}
    (confirmed,) = box.messages
    assert confirmed["To"] == "500@example.com"
    assert confirmed["From"] == "Acme Shop <orders@shop.example>"
    assert confirmed["Subject"] == "Your order 500: Widget-Blue is on backorder"
    text, html = parts(confirmed)
    assert "- 3 x Widget-Blue: expected to ship by Tuesday, January 20" in text  # 3 of 4 wait
    assert "Ready now:\n- 1 x Widget-Blue" in text
    assert "https://shop.example/api/v1/customer/orders/web:500?token=" in text
    assert "cancel" in text and "<strong>Tuesday, January 20</strong>" in html
    assert confirmed["Message-ID"] == f"<{log(app, 'web:500')[0]['message_id']}@shop.example>"

    receive_stock(app, "WIDGET-BLUE", 2)
    ship_order(app, "web:500", tracking="1Z999")
    cancel_order(app, "web:500")
    assert deliver(app) == {"sent": 3}
    subjects = [m["Subject"] for m in box.messages[1:]]
    assert subjects == [
        "Your order 500: Widget-Blue is in stock",
        "Your order 500: Widget-Blue is on its way (the rest follows)",
        "Cancelled from your order 500: Widget-Blue",
    ]
    assert "1 more still waits" in parts(box.messages[1])[0]
    assert "Tracking number: 1Z999" in parts(box.messages[2])[0]
    assert "We are refunding $19.99" in parts(box.messages[3])[0]  # paid at order
    assert deliver(app) == {}  # once each
    kinds = [(m["kind"], m["state"]) for m in log(app, "web:500") if m["channel"] == "email"]
    assert kinds == [
        ("backorder_confirmed", "sent"),
        ("status_update", "withdrawn"),  # day 7: nothing waits since the cancellation
        ("status_update", "withdrawn"),  # day 14
        ("allocated", "sent"),
        ("shipped", "sent"),
        ("cancelled", "sent"),
    ]


def test_status_updates_on_a_cadence_while_waiting_and_withdrawn_once_resolved(
    app: Backorder, inbox: tuple[Inbox, int], clock: Clock
) -> None:
    box, _ = inbox
    add_product(app, product("WIDGET-BLUE", lead_time_days=30))
    clock.current = jan(5)
    place_order(app, order("800", ("WIDGET-BLUE", 2), placed_at=jan(5)))
    assert deliver(app) == {"sent": 1}
    clock.advance(days=6, hours=23)
    assert send_due(app) == {}  # not yet a week
    clock.advance(hours=1)
    assert send_due(app) == {"sent": 1}
    update = box.messages[-1]
    assert update["Subject"] == "Your order 800: still on its way to us"
    text = parts(update)[0]
    assert "- 2 x Widget-Blue: expected to ship by Wednesday, February 4" in text

    receive_stock(app, "WIDGET-BLUE", 2)
    ship_order(app, "web:800")
    clock.advance(days=7)
    # allocated, shipped; the day-14 update was withdrawn when the receipt left nothing waiting
    assert deliver(app) == {"sent": 2}
    assert len(box.messages) == 4
    states = [(m["kind"], m["state"]) for m in log(app, "web:800") if m["kind"] == "status_update"]
    assert states == [("status_update", "sent"), ("status_update", "withdrawn")]


def test_no_backorder_no_confirmation_and_templates_can_be_overridden(
    app: Backorder, inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    box, _ = inbox
    own = tmp_path / "templates" / "email"
    own.mkdir(parents=True)
    (own / "allocated.subject.txt").write_text("{{ sku }} is here, {{ customer.name }}!\n")
    app.settings.templates_dir = own.parent
    add_product(app, Product("WIDGET-RED", "Red", product().unit_price))
    receive_stock(app, "WIDGET-RED", 5)
    place_order(app, order("600", ("WIDGET-RED", 2)))  # all in stock: nothing to tell yet
    place_order(app, order("601", ("WIDGET-RED", 4)))
    receive_stock(app, "WIDGET-RED", 1)
    assert deliver(app) == {"sent": 2}
    assert [m["Subject"] for m in box.messages] == [
        "Your order 601: Red is on backorder",
        "WIDGET-RED is here, Customer 601!",
    ]
    app.settings.email_off = ["backorder_confirmed"]  # this deployment does not send those
    place_order(app, order("602", ("WIDGET-RED", 1)))
    assert deliver(app) == {}
    with pytest.raises(ValueError, match="unknown e-mail milestone"):
        Settings(email_off=["birthday"])


def test_a_mail_server_that_is_down_means_retries_then_a_failed_message(
    app: Backorder, clock: Clock
) -> None:
    app.settings.smtp_url = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("700", ("WIDGET-BLUE", 1)))
    assert deliver(app) == {"due": 1}
    clock.advance(seconds=20)
    assert send_due(app) == {"dead": 1}
    (dead,) = failed(app)
    assert dead["channel"] == "email" and "ConnectionRefusedError" in dead["last_error"]


def test_a_customer_who_opts_out_hears_nothing_more_by_email(
    app: Backorder, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("900", ("WIDGET-BLUE", 2)))
    assert deliver(app) == {"sent": 1}
    (confirmed,) = box.messages
    unsubscribe = confirmed["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://shop.example/api/v1/customer/orders/web:900/unsubscribe")
    assert confirmed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    token = unsubscribe.split("token=", 1)[1]
    assert customer_unsubscribe(app, "web:900", token) == "c-900"
    assert preferences(app, "c-900") == {"email": "out", "sms": "default"}
    pending = [m["state"] for m in log(app, "web:900") if m["kind"] == "status_update"]
    assert pending == ["withdrawn", "withdrawn"]
    receive_stock(app, "WIDGET-BLUE", 2)
    place_order(app, order("901", ("WIDGET-BLUE", 5), customer="c-900"))
    assert deliver(app) == {}
    set_preference(app, "c-900", "email", opted_out=False)
    cancel_order(app, "web:901")
    assert deliver(app) == {"sent": 1}
    with pytest.raises(InvalidRequest):
        set_preference(app, "c-900", "pigeon", opted_out=True)


def test_the_customer_hears_of_a_new_date_once(app: Backorder, inbox: tuple[Inbox, int]) -> None:
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_product(app, product("WIDGET-BLUE", supplier="ACME"))
    place_order(app, order("1", ("WIDGET-BLUE", 4)))
    plan(app)
    send_due(app)
    box, _ = inbox
    assert len(box.messages) == 1  # the confirmation, with 30 January
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("WIDGET-BLUE", 4, date(2026, 1, 18))])
    plan(app)
    outcome = send_due(app)
    assert outcome == {"sent": 1}, [(m["kind"], m["last_error"]) for m in log(app, "web:1")]
    message = box.messages[1]
    assert message["Subject"] == "Your order 1: sooner than we said"
    text, html = parts(message)
    assert (
        "4 x Widget-Blue: now expected by Sunday, January 18 (we said Friday, January 30)" in text
    )
    assert "<strong>Sunday, January 18</strong>" in html
    plan(app)
    assert send_due(app) == {}


def test_a_delay_notice_offers_the_choice_under_the_policy(
    app: Backorder, inbox: tuple[Inbox, int], settings: Settings, clock: Clock
) -> None:
    settings.delay_options = True
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20))
    add_product(app, product("WIDGET-BLUE", supplier="ACME"))
    place_order(app, order("1", ("WIDGET-BLUE", 4)))  # promised 30 January
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("WIDGET-BLUE", 4, date(2026, 2, 5))])
    clock.advance(days=1)
    run_review(app)
    plan(app)
    send_due(app)
    box, _ = inbox
    (notice,) = [m for m in box.messages if "delayed" in m["Subject"]]
    assert notice["Subject"] == "Your order 1 is delayed: please tell us what you prefer"
    text, html = parts(notice)
    said = "we said Friday, January 30; we now expect to ship it by Thursday, February 5"
    assert f"- 4 x Widget-Blue: {said}" in text
    assert "https://shop.example/customer/orders/web:1/delay?token=" in text
    assert "&choice=accept" in text and "&choice=cancel" in text
    assert "If we do not hear from you by Friday, January 30" in text  # silence: a short delay
    assert ">Accept the delay</a>" in html
    run_review(app)  # the same day: no second notice
    plan(app)
    assert send_due(app) == {}
