"""The customer's order page over HTTP, in process with the test's clock: the link answers a
browser with the page and a program with JSON; the page in each state (waiting, partly
shipped, cancelled, delayed); cancelling a line and the whole order through the confirmation
step; a form from elsewhere refused; a link that has expired."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.errors import InvalidRequest
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.customer_links import mint_link
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.preferences import preferences
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from backorder.store.tables import order_lines, orders
from backorder.words import day
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_review import make_late

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
X = "\N{MULTIPLICATION SIGN}"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        shop_name="Mugs & Co",
        shop_logo_url="https://shop.example/logo.png",
        shop_support_email="help@mugs.example",
        shop_colour="#7a1f5c",
        shop_accent_colour="#fbf0f6",
        shop_language="en-GB",
    )


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    """Blue mugs (1 in stock, lead time 10 days) and red mugs (none); order web:1 holds 4 blue
    mugs (1 ready, 3 waiting) in size Large and 2 red ones, known to the customer as #1001."""
    add_product(app, product("MUG-BLUE", name="Blue mug", lead_time_days=10))
    add_product(app, product("MUG-RED", name="Red <mug>", unit_price=Decimal("12.50")))
    receive_stock(app, "MUG-BLUE", 1)
    place_order(app, order("1", ("MUG-BLUE", 4), ("MUG-RED", 2)))
    with app.db.write() as uow:
        uow.connection.execute(
            update(orders).where(orders.c.external_id == "1").values(display_number="#1001")
        )
        uow.connection.execute(
            update(order_lines).where(order_lines.c.line_no == 1).values(variant="Large")
        )
        uow.commit()
    return app


def page_of(client: TestClient, app: Backorder, ref: str = "web:1") -> tuple[str, str]:
    """The order page the customer's link opens in a browser, and the link's token."""
    link = mint_link(app, ref)
    opened = client.get(link.url.removeprefix(app.settings.public_url), headers={"Accept": BROWSER})
    assert opened.status_code == 200, opened.text
    return opened.text, link.token


def text_of(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_browser_gets_the_page_and_a_program_gets_json(
    shop: Backorder, client: TestClient
) -> None:
    link = mint_link(shop, "web:1")
    path = urlsplit(link.url)
    api = f"{path.path}?{path.query}"
    for accept in (None, "application/json", "*/*", "application/json, text/html;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        answer = client.get(api, headers=headers)
        assert answer.headers["content-type"] == "application/json", accept
        assert answer.json()["display_number"] == "#1001"
    browser = client.get(api, headers={"Accept": BROWSER}, follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"].startswith("/customer/orders/web:1?token=")
    page = client.get(browser.headers["location"])
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/v1/customer/orders/{ref}"]["get"]["responses"]["200"]
    assert "application/json" in ok["content"]


def test_the_waiting_order_in_the_shops_name(
    shop: Backorder, client: TestClient, clock: Clock
) -> None:
    html, _ = page_of(client, shop)
    text = text_of(html)
    eta = date.fromisoformat(order_view(shop, "web:1")["lines"][0]["eta"])
    assert "Order #1001" in text and "Waiting for stock" in text
    assert "Blue mug Large" in text and "Quantity 4" in text
    assert "1 ready, being prepared for shipping" in text
    assert f"3 on backorder, expected to ship by {day(eta, 'en-GB', clock.current.date())}" in text
    raw = client.get(
        "/customer/orders/web:1", params={"token": mint_link(shop, "web:1").token}
    ).text
    assert "Red &lt;mug&gt;" in raw and "Red <mug>" not in raw  # autoescaped
    assert '<img src="https://shop.example/logo.png" alt="Mugs &amp; Co">' in raw
    assert "--shop: #7a1f5c" in html and "--accent: #fbf0f6" in html
    assert "mailto:help@mugs.example" in html
    assert "Cancel 4 items" in text and "Cancel 2 items" in text
    assert "Cancel the whole order" in text
    assert "None" not in text and "customer_self_service" not in text


def test_a_partly_shipped_order_shows_its_tracking(shop: Backorder, client: TestClient) -> None:
    ship_order(shop, "web:1", tracking="1Z999AA10123456784")
    html, _ = page_of(client, shop)
    text = text_of(html)
    assert "Partly shipped" in text and "1 shipped" in text
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert "Cancel 3 items" in text  # what has shipped cannot be cancelled


def test_a_cancelled_order_says_why_and_offers_no_cancel(
    shop: Backorder, client: TestClient
) -> None:
    cancel_order(shop, "web:1", 1, reason="discontinued")
    cancel_order(shop, "web:1", 2, reason="customer_self_service")
    text = text_of(page_of(client, shop)[0])
    assert "Cancelled" in text
    assert "4 cancelled: it has been discontinued" in text
    assert "2 cancelled: you cancelled it" in text
    assert "Cancel the whole order" not in text and "Cancel 4 items" not in text


def test_cancel_one_line_after_confirming(shop: Backorder, client: TestClient) -> None:
    html, token = page_of(client, shop)
    confirm_path = unescape(re.search(r'href="([^"]+line=2)"', html)[1])  # type: ignore[index]
    confirm = client.get(confirm_path)
    text = text_of(confirm.text)
    assert f"Cancel 2 {X} Red <mug>?" in text and "This cannot be undone" in text
    assert "You will be refunded US$25.00" in text
    form = {"form_token": FORM_TOKEN.search(confirm.text)[1]}  # type: ignore[index]
    done = client.post(confirm_path, data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/customer/orders/web:1?token={token}&cancelled=2"
    result = text_of(client.get(done.headers["location"]).text)
    assert f"You cancelled 2 {X} Red <mug>. You will be refunded US$25.00." in result
    assert "2 cancelled: you cancelled it" in result
    line = order_view(shop, "web:1")["lines"][1]
    assert line["cancelled"] == 2 and line["cancellations"][0]["reason"] == "customer_self_service"
    assert order_view(shop, "web:1")["lines"][0]["cancelled"] == 0  # the other line stays

    again = client.post(confirm_path, data=form)  # a second tab, a double click
    assert again.status_code == 409
    assert "Nothing was cancelled: Red &lt;mug&gt; has already shipped or been cancelled" in (
        again.text
    )
    assert "no line" in text_of(client.get(confirm_path.replace("line=2", "line=9")).text)


def test_cancel_the_whole_order_after_confirming(shop: Backorder, client: TestClient) -> None:
    ship_order(shop, "web:1", tracking="TRACK-1")
    html, _ = page_of(client, shop)
    confirm_path = unescape(re.search(r'href="([^"]+/cancel\?token=[^"&]+)"', html)[1])  # type: ignore[index]
    confirm = client.get(confirm_path)
    text = text_of(confirm.text)
    assert "Cancel everything not yet shipped?" in text
    assert f"3 {X} Blue mug (Large)" in text and f"2 {X} Red <mug>" in text
    form = {"form_token": FORM_TOKEN.search(confirm.text)[1]}  # type: ignore[index]
    result = client.post(confirm_path, data=form)  # the redirect is followed
    assert result.status_code == 200
    said = text_of(result.text)
    assert f"You cancelled 3 {X} Blue mug (Large), 2 {X} Red <mug>." in said
    assert "Partly shipped" not in said and "Shipped" in said  # what shipped, shipped
    assert [ln["cancelled"] for ln in order_view(shop, "web:1")["lines"]] == [3, 2]


def test_a_form_from_elsewhere_is_refused(shop: Backorder, client: TestClient) -> None:
    place_order(shop, order("2", ("MUG-RED", 1)))
    _, token = page_of(client, shop)
    path = "/customer/orders/web:1/cancel"
    for form in ({}, {"form_token": "0" * 64}, {"form_token": "x" * 5000}):
        refused = client.post(path, params={"token": token}, data=form)
        assert refused.status_code == 403
        assert "did not come from your order&#39;s page" in refused.text
    # the form token of another order's page does not cancel this one
    other = client.get(
        "/customer/orders/web:2/cancel", params={"token": mint_link(shop, "web:2").token}
    )
    stolen = {"form_token": FORM_TOKEN.search(other.text)[1]}  # type: ignore[index]
    assert client.post(path, params={"token": token}, data=stolen).status_code == 403
    assert all(ln["cancelled"] == 0 for ln in order_view(shop, "web:1")["lines"])


def test_an_expired_or_forged_link_opens_a_friendly_page(
    shop: Backorder, client: TestClient, clock: Clock
) -> None:
    link = mint_link(shop, "web:1")
    clock.current += timedelta(days=shop.settings.customer_link_days + 1)
    expired = client.get("/customer/orders/web:1", params={"token": link.token})
    assert expired.status_code == 403
    text = text_of(expired.text)
    assert "This link does not open your order" in text and "expired" in text
    assert "help@mugs.example" in text and "Mugs & Co" in text
    forged = client.get("/customer/orders/web:1", params={"token": "forged"})
    assert forged.status_code == 403 and "not valid" in forged.text
    other = client.get("/customer/orders/web:9", params={"token": link.token})
    assert other.status_code == 403 and "another order" in other.text
    with pytest.raises(InvalidRequest):
        mint_link(shop, "no-channel")


def test_the_delay_notice_is_a_state_of_the_order_page(
    app: Backorder, client: TestClient, clock: Clock, settings: Settings
) -> None:
    settings.delay_options = True
    make_late(app)
    clock.current = datetime(2026, 2, 2, 6, tzinfo=UTC)
    run_review(app)
    html, _ = page_of(client, app)
    text = text_of(html)
    assert "Part of your order is delayed" in text
    assert f"4 {X} Widget-Blue: we said Friday 30 January; now expected Monday 9 February" in text
    # The line says the date the notice told, not the supply's own: the page says one date.
    assert "on backorder, expected to ship by Monday 9 February" in text
    assert text.count("expected to ship by") == 1
    # Staff see both: the supply's date, and under it what the customer was told.
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    staff = text_of(client.get("/records/orders/web:1").text)
    assert re.search(r"Monday, February 2\S* customer told Monday, February 9", staff), staff
    client.post("/logout")
    accept = unescape(re.search(r'href="([^"]+choice=accept)"', html)[1])  # type: ignore[index]
    delay = client.get(accept)
    assert delay.status_code == 200 and "Accept the delay" in delay.text
    assert "Mugs &amp; Co" in delay.text and "--shop: #7a1f5c" in delay.text
    form = {"form_token": FORM_TOKEN.search(delay.text)[1]}  # type: ignore[index]
    assert client.post(accept, data={}).status_code == 403
    answered = client.post(accept, data=form)
    assert answered.status_code == 200 and "we keep your order" in answered.text
    assert order_view(app, "web:1")["delays"][0]["outcome"] == "accepted"
    after = text_of(page_of(client, app)[0])
    assert "now expected Monday 9 February. You keep it on order." in after
    assert "Accept the new date" not in after and "Cancel the delayed items" in after


def test_dates_are_in_the_customers_language(
    shop: Backorder, client: TestClient, clock: Clock
) -> None:
    with shop.db.write() as uow:
        uow.connection.execute(
            update(orders).where(orders.c.external_id == "1").values(customer_language="de-DE")
        )
        uow.commit()
    eta = date.fromisoformat(order_view(shop, "web:1")["lines"][0]["eta"])
    german = day(eta, "de_DE", clock.current.date())
    assert german != day(eta, "en-GB", clock.current.date())
    assert f"expected to ship by {german}" in text_of(page_of(client, shop)[0])


def test_the_unsubscribe_address_opened_in_a_browser_asks_first(
    shop: Backorder, client: TestClient
) -> None:
    link = mint_link(shop, "web:1")
    address = urlsplit(link.url.replace("?token=", "/unsubscribe?token=", 1))  # as e-mail has it
    program = client.get(f"{address.path}?{address.query}")
    assert (program.status_code, program.headers["allow"]) == (405, "POST")
    opened = client.get(f"{address.path}?{address.query}", headers={"Accept": BROWSER})
    assert opened.status_code == 200 and "Stop e-mail from Mugs &amp; Co?" in opened.text
    assert preferences(shop, "c-1")["email"] == "default"  # a GET changes nothing
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', opened.text)[1])  # type: ignore[index]
    assert client.post(action, data={}).status_code == 403
    form = {"form_token": FORM_TOKEN.search(opened.text)[1]}  # type: ignore[index]
    done = client.post(action, data=form)
    assert done.status_code == 200 and "we will not e-mail you" in done.text
    assert preferences(shop, "c-1")["email"] == "out"
