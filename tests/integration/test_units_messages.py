"""A line ordered in cases is told in cases: the customer's e-mails, the staff alert and the
order-accepted event say what the buyer ordered (12 cases of 12), and units that do not
make whole cases are told in units beside the cases ordered. Events written before lines
said what was ordered still read as they did."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backorder.canonical import parse_orders
from backorder.config import Settings
from backorder.notify.email import Shop, Templates, context_of, fact
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import ship_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.stock import receive_stock
from backorder.services.views import events_view
from tests.factories import product
from tests.mail import Inbox, parts

CASES = (
    '{"channel": "x12", "external_id": "HARBOR.HS-1", "display_number": "HS-1", '
    '"placed_at": "2026-01-05T10:00:00Z", "customer": {"id": "harbor", "name": "Sam Ortiz", '
    '"email": "sam@harbor.example", "tier": "wholesale"}, "lines": [{"sku": "24776", '
    '"quantity": 12, "unit": "CA", "pack": 12, "unit_price": "30.00"}]}'
)


@pytest.fixture
def settings(inbox: tuple[Inbox, int], tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        mail_from="Acme Supply <orders@shop.example>",
        shop_name="Acme Supply",
        public_url="https://shop.example",
        notify_fold_seconds=0,
    )


def deliver(app: Backorder) -> dict[str, int]:
    plan(app)
    return send_due(app)


def test_the_customer_hears_of_a_line_in_cases_in_cases(
    app: Backorder, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    add_product(app, product("24776", name="Shop towels", lead_time_days=10))
    receive_stock(app, "24776", 100)
    (request,) = parse_orders(CASES)
    place_order(app, request)
    assert deliver(app) == {"sent": 1}
    text, html = parts(box.messages[0])
    print(f"Subject: {box.messages[0]['Subject']}\n\n{text}")  # read it as the customer does
    assert "- 44 of 144 units (12 cases of 12) x Shop towels: expected to ship by" in text
    assert "Ready now:\n- 100 of 144 units (12 cases of 12) x Shop towels" in text
    assert "44 of 144 units (12 cases of 12) \N{MULTIPLICATION SIGN} Shop towels" in html

    receive_stock(app, "24776", 44)
    ship_order(app, "x12:HARBOR.HS-1", tracking="1Z42")
    assert deliver(app) == {"sent": 2}
    allocated, shipped = (parts(m)[0] for m in box.messages[1:])
    assert "- 44 of 144 units (12 cases of 12) x Shop towels" in allocated
    assert "- 12 cases of 12 (144 units) x Shop towels" in shipped
    print(shipped)

    (accepted,) = (e for e in events_view(app) if e["type"] == "order_accepted")
    (line,) = accepted["payload"]["lines"]
    assert line["ordered"] == {"quantity": 12, "unit": "CA", "pack": 12}
    assert (line["quantity"], line["unit_price"]) == (144, "2.5000")


def test_an_event_written_before_lines_said_what_was_ordered_reads_as_before() -> None:
    old = {
        "type": "order_accepted",
        "order_ref": "web:7",
        "customer": {"name": "Ann"},
        "currency": "USD",
        "payment_timing": "at_order",
        "lines": [
            {"line": 1, "sku": "MUG", "quantity": 3, "allocated": 1, "backordered": 2,
             "cancelled": 0, "unit_price": "5", "eta": None},
        ],
    }  # fmt: skip
    context = context_of([old], "https://shop.example/o", 30, Shop("Mugs"), None, date(2026, 1, 5))
    _, text, _ = Templates().render("backorder_confirmed", context)
    assert "- 2 x MUG: we will tell you the date" in text and "Ready now:\n- 1 x MUG" in text
    cased = old | {
        "lines": [old["lines"][0] | {"ordered": {"quantity": 1, "unit": "DZ", "pack": 12},
                                     "quantity": 12, "allocated": 0, "backordered": 12}]
    }  # fmt: skip
    context = context_of([cased], "https://shop.example/o", 30, Shop("Mugs"), None, None)
    assert "- 1 dozen (12 units) x MUG:" in Templates().render("backorder_confirmed", context)[1]
    assert (
        Templates()
        .text("backorder_confirmed", context)
        .startswith(
            "Mugs: order 7 confirmed. On backorder: 1 dozen (12 units) x MUG, date to follow."
        )
    )
    # the staff alert's lines
    assert fact({"sku": "MUG", "backordered": 24, "ordered": {"quantity": 3, "unit": "CA",
                                                              "pack": 12}}) == (
        "2 cases of 12 (24 units) x MUG"
    )  # fmt: skip
    assert fact({"sku": "MUG", "backordered": 5}) == "5 x MUG"
