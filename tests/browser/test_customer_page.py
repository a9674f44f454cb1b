"""A customer in a real browser (headless Chromium through Playwright) against a real
`backorder serve`: the link in the e-mail the worker sent opens the order page, the customer
cancels one line through the confirmation step, the page says so, and the next e-mail says
the line was cancelled. The link of a delay notice opens the same page in its delay state.
Each state is saved as a phone-size screenshot."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import log
from backorder.services.orders import ship_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.sending import send_due
from backorder.services.stock import receive_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.services.views import order_view
from backorder.store.db import Database
from backorder.store.tables import order_lines, orders
from tests.api.live import serving
from tests.browser.conftest import ARTIFACTS
from tests.conftest import Clock
from tests.factories import order, product
from tests.mail import Inbox, parts

pytestmark = pytest.mark.browser
X = "\N{MULTIPLICATION SIGN}"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40">'
    '<rect width="40" height="40" rx="8" fill="#7a1f5c"/>'
    '<text x="50" y="27" font-family="sans-serif" font-size="18" fill="#7a1f5c">'
    "Mugs &amp; Co</text>"
    "</svg>"
)
SHOP = {
    "shop_name": "Mugs & Co",
    "shop_support_email": "help@mugs.example",
    "shop_colour": "#7a1f5c",
    "shop_accent_colour": "#fbf0f6",
    "shop_language": "en-GB",
}


def link_in(message: EmailMessage, pattern: str) -> str:
    text, _ = parts(message)
    found = re.search(pattern, text)
    assert found, text
    return found[0]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.fixture
def shop(
    migrated_sqlite: Path,
    tmp_path: Path,
    inbox: tuple[Inbox, int],
    httpserver: HTTPServer,
) -> Iterator[tuple[Backorder, str, Inbox]]:
    """A served shop: order web:1001 (4 blue mugs: one shipped, 3 waiting; 2 red mugs
    waiting) was just placed; order web:900, placed 40 days ago, is late and its customer was sent a
    delay notice. The test process is the worker: it composes and sends the e-mail."""
    path = tmp_path / "shop.db"
    shutil.copyfile(migrated_sqlite, path)
    url = f"sqlite:///{path}"
    httpserver.expect_request("/logo.svg").respond_with_data(LOGO, content_type="image/svg+xml")
    logo = httpserver.url_for("/logo.svg")
    env = {f"BACKORDER_{k.upper()}": v for k, v in SHOP.items()} | {"BACKORDER_SHOP_LOGO_URL": logo}
    with serving(url, env=env) as base:
        settings = Settings(
            database_url=url,
            public_url=base,
            smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
            mail_from="Mugs & Co <orders@mugs.example>",
            notify_fold_seconds=0,
            delay_options=True,
            shop_logo_url=logo,
            **SHOP,  # type: ignore[arg-type]
        )
        now = datetime.now(UTC)
        clock = Clock(now - timedelta(days=40))
        app = Backorder(Database(url), settings, clock)
        try:
            add_supplier(app, SupplierIn("ACME", "Acme Mugs", 10, "buy@acme.example"))
            add_product(app, product("MUG-BLUE", name="Blue mug", supplier="ACME"))
            add_product(app, product("MUG-RED", name="Red mug", supplier="ACME"))
            add_product(app, product("TEAPOT", name="Teapot", supplier="ACME"))
            place_order(app, order("900", ("TEAPOT", 2), placed_at=clock.current))
            clock.current = now
            add_purchase_order(
                app, "PO-7", "ACME", [PoLineIn("TEAPOT", 5, (now + timedelta(days=9)).date())]
            )
            run_review(app)
            receive_stock(app, "MUG-BLUE", 1)
            place_order(app, order("1001", ("MUG-BLUE", 4), ("MUG-RED", 2), placed_at=now))
            the_order = select(orders.c.id).where(orders.c.external_id == "1001").scalar_subquery()
            with app.db.write() as uow:  # what the shop's own intake will record (#1001, Large)
                uow.connection.execute(
                    update(orders)
                    .where(orders.c.external_id == "1001")
                    .values(display_number="#1001")
                )
                uow.connection.execute(
                    update(order_lines)
                    .where(order_lines.c.order_id == the_order, order_lines.c.line_no == 1)
                    .values(variant="Large")
                )
                uow.commit()
            plan(app)
            send_due(app)
            ship_order(app, "web:1001", tracking="1Z999AA10123456784")  # the ready blue mug
            plan(app)
            send_due(app)
            yield app, base, inbox[0]
        finally:
            app.close()


def test_a_customer_cancels_a_line_from_the_email_link(
    browser: Any, shop: tuple[Backorder, str, Inbox]
) -> None:
    app, base, box = shop
    mine = [m for m in box.messages if m["To"] == "1001@example.com"]
    assert len(mine) == 2  # the backorder confirmation, then the shipment
    link = link_in(mine[0], re.escape(base) + r"/api/v1/customer/orders/web:1001\?token=\S+")

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(link)  # the browser asks for HTML: the order page
    assert page.url.startswith(f"{base}/customer/orders/web:1001?token=")
    assert page.inner_text("h1") == "Order #1001"
    assert page.inner_text("[data-testid=order-status]") == "Partly shipped"
    tracking = page.locator("[data-testid=shipments] a")
    assert tracking.inner_text() == "1Z999AA10123456784"
    assert tracking.get_attribute("href").startswith("https://www.ups.com/track?")
    blue = page.inner_text("[data-testid=line-1]")
    assert "Blue mug" in blue and "Large" in blue and "expected to ship by" in blue
    assert page.locator("header img").evaluate("img => img.naturalWidth") > 0  # the logo
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "i17-order-page-phone.png")

    page.click("[data-testid=cancel-line-2]")
    assert f"Cancel 2 {X} Red mug?" in page.inner_text("[data-testid=confirm] h2")
    shot(page, "i17-order-confirm-phone.png")
    page.click("button[type=submit]")
    assert "cancelled=2" in page.url  # Post/Redirect/Get
    done = page.inner_text("[data-testid=done]")
    assert done.startswith(f"You cancelled 2 {X} Red mug.")
    assert "2 cancelled: you cancelled it" in page.inner_text("[data-testid=line-2]")
    assert page.locator("[data-testid=cancel-line-2]").count() == 0
    assert page.locator("[data-testid=cancel-line-1]").count() == 1
    shot(page, "i17-order-cancelled-phone.png")
    lines = order_view(app, "web:1001")["lines"]
    assert [(ln["cancelled"], ln["cancellations"][-1:]) for ln in lines][1][0] == 2
    assert lines[1]["cancellations"][0]["reason"] == "customer_self_service"
    assert lines[0]["cancelled"] == 0

    desktop = browser.new_context(viewport=DESKTOP)
    wide = desktop.new_page()
    wide.goto(page.url)
    shot(wide, "i17-order-page-desktop.png")
    desktop.close()

    # the worker's next e-mail says the line was cancelled
    plan(app)
    send_due(app)
    after = [m for m in box.messages if m["To"] == "1001@example.com"][2:]
    assert len(after) == 1
    sent = [row for row in log(app, "web:1001") if row["state"] == "sent"]
    assert sent[-1]["type"] == "units_cancelled"
    text, _ = parts(after[0])
    assert after[0]["Subject"] == "Cancelled from your order #1001: Red mug"
    assert "2 x Red mug, because you cancelled it" in text

    # the delay notice's link opens the order page in its delay state
    (notice,) = [m for m in box.messages if m["To"] == "900@example.com" and "delay" in text_of(m)]
    accept = link_in(notice, re.escape(base) + r"/customer/orders/web:900/delay\?token=\S+accept")
    page.goto(accept)
    assert "Part of your order is delayed" in page.inner_text("[data-testid=delay]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "i17-order-delay-phone.png")
    page.click("button[type=submit]")
    assert "we keep your order" in page.inner_text("[data-testid=done]")
    assert order_view(app, "web:900")["delays"][0]["outcome"] == "accepted"
    context.close()


def text_of(message: EmailMessage) -> str:
    return parts(message)[0].lower()
