"""Substitutes over HTTP, in process with the test's clock: naming them (the API's answers,
its problems), and the customer's order page, which shows an open offer in words with its two
buttons, takes the substitute (the order then holds it, ready), says no thanks (the line
keeps waiting), refuses in words when the stock went meanwhile, and refuses a form from
elsewhere."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.customer_links import mint_link
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.substitute_answers import order_offers
from backorder.services.substitute_offers import run_offers
from backorder.services.substitutes import add_substitute
from backorder.services.views import order_view
from tests.conftest import Clock
from tests.factories import jan, order, product

BROWSER = "text/html,application/xhtml+xml"
X = "\N{MULTIPLICATION SIGN}"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        shop_name="Clear Water",
        shop_language="en-GB",
        substitute_offer_days=3,
    )


@pytest.fixture
def db_url(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> str:
    """SQLite only: the page and its forms read the same on both backends, and what the
    answer does in the database is tested on both (tests/integration/test_substitutes.py)."""
    path = tmp_path_factory.mktemp("db") / "backorder.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def offered(app: Backorder, clock: Clock) -> Backorder:
    """Order web:1 waits for 2 filters FLT-10 (expected by 30 January) since 10 January; on
    14 January it is offered 2 x FLT-12, which has 5 in stock."""
    add_product(app, product("FLT-10", name="Filter FLT-10", lead_time_days=20))
    add_product(app, product("FLT-12", name="Filter FLT-12", unit_price=Decimal("11.50")))
    add_substitute(app, "FLT-10", "FLT-12", None)
    place_order(app, order("1", ("FLT-10", 2), placed_at=jan(10)))
    receive_stock(app, "FLT-12", 5)
    clock.advance(days=4)
    assert run_offers(app) == {"substitutes_offered": 1}
    return app


def text_of(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def open_page(client: TestClient, app: Backorder) -> tuple[str, str]:
    token = mint_link(app, "web:1").token
    page = client.get("/customer/orders/web:1", params={"token": token})
    assert page.status_code == 200, page.text
    return page.text, token


def form(html: str, choice: str) -> tuple[str, str]:
    """The action and form token of the offer's accept or decline form."""
    found = re.search(
        rf'<form method="post" action="([^"]+choice={choice})"><input type="hidden" '
        r'name="form_token" value="([^"]+)"',
        html,
    )
    assert found, html
    return unescape(found[1]), found[2]


def test_naming_substitutes_over_http(app: Backorder, client: TestClient) -> None:
    add_product(app, product("FLT-10"))
    add_product(app, product("FLT-12"))
    add_product(app, product("FLT-14"))
    headers = {"Authorization": f"Bearer {create_key(app, Role.ADMIN).key}"}
    base = "/api/v1/products/FLT-10/substitutes"
    assert client.put(f"{base}/FLT-12", headers=headers).status_code == 200
    made = client.put(f"{base}/FLT-14", json={"rank": 1}, headers=headers)
    assert [(s["rank"], s["sku"]) for s in made.json()["substitutes"]] == [
        (1, "FLT-14"),
        (2, "FLT-12"),
    ]
    itself = client.put(f"{base}/FLT-10", headers=headers)
    assert itself.status_code == 422 and "own substitute" in itself.json()["detail"]
    assert client.put(f"{base}/NOPE", headers=headers).status_code == 404
    assert client.put(f"{base}/FLT-12", json={"rank": 0}, headers=headers).status_code == 422
    gone = client.delete(f"{base}/FLT-14", headers=headers)
    assert [s["sku"] for s in gone.json()["substitutes"]] == ["FLT-12"]
    assert client.delete(f"{base}/FLT-14", headers=headers).status_code == 422
    listed = client.get(base, headers=headers).json()
    assert listed == {
        "sku": "FLT-10",
        "substitutes": [
            {"rank": 1, "sku": "FLT-12", "name": "Flt-12", "available": 0, "backordered": 0}
        ],
    }


def test_the_page_shows_the_offer_and_takes_it(offered: Backorder, client: TestClient) -> None:
    html, _ = open_page(client, offered)
    text = text_of(html)
    assert (
        f"2 {X} Filter FLT-10 is still on its way (expected by Friday 30 January). We can send "
        f"2 {X} Filter FLT-12 now instead, at the same price: US$19.99 each." in text
    ), text
    assert "This offer stands until Wednesday 21 January." in text
    assert "Send Filter FLT-12 instead" in text and "No thanks, I will wait" in text
    action, form_token = form(html, "accept")
    elsewhere = client.post(action, data={"form_token": "forged"}, follow_redirects=False)
    assert elsewhere.status_code == 403 and order_offers(offered, "web:1")[0]["state"] == "offered"
    done = client.post(action, data={"form_token": form_token}, follow_redirects=False)
    assert done.status_code == 303
    after = text_of(client.get(done.headers["location"]).text)
    assert (
        f"Done: we will send 2 {X} Filter FLT-12 instead of Filter FLT-10, at the same price."
        in after
    )
    assert "2 cancelled: you chose a substitute that we could send at once" in after
    assert "2 ready, being prepared for shipping" in after
    assert "Would you like it sooner" not in after
    lines = order_view(offered, "web:1")["lines"]
    assert [(ln["sku"], ln["allocated"], ln["backordered"]) for ln in lines] == [
        ("FLT-10", 0, 0),
        ("FLT-12", 2, 0),
    ]
    again = client.post(action, data={"form_token": form_token})
    assert (
        again.status_code == 409
        and "Nothing was changed: you already accepted this offer." in text_of(again.text)
    )


def test_no_thanks_keeps_the_line_waiting(offered: Backorder, client: TestClient) -> None:
    html, _ = open_page(client, offered)
    action, form_token = form(html, "decline")
    done = client.post(action, data={"form_token": form_token})
    assert done.status_code == 200
    text = text_of(done.text)
    assert "No problem: Filter FLT-10 stays on order, and ships as soon as it arrives." in text
    assert "Would you like it sooner" not in text
    assert order_view(offered, "web:1")["lines"][0]["backordered"] == 2


def test_the_page_refuses_in_words_when_the_stock_went(
    offered: Backorder, client: TestClient
) -> None:
    html, _ = open_page(client, offered)
    place_order(offered, order("2", ("FLT-12", 5)))  # sold meanwhile
    action, form_token = form(html, "accept")
    refused = client.post(action, data={"form_token": form_token})
    assert refused.status_code == 409
    text = text_of(refused.text)
    assert (
        "Nothing was changed: sorry, Filter FLT-12 has sold out meanwhile: none is left to send "
        "now. Your order stays as it was." in text
    ), text
    assert order_view(offered, "web:1")["lines"][0]["backordered"] == 2
