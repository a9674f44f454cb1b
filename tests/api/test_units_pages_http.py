"""A line ordered in cases, on the pages people read: the customer's order page says the
cases and what became of its units, the dashboard's order page puts the cases under the
units, and `order show` does the same in the terminal."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backorder.api.app import create_app
from backorder.canonical import parse_orders
from backorder.cli import app as cli
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.customer_links import mint_link
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.store.db import Database
from tests.conftest import Clock
from tests.factories import product

BROWSER = "text/html,application/xhtml+xml"
CASES = (
    '{"channel": "x12", "external_id": "HARBOR.HS-1", "display_number": "HS-1", '
    '"placed_at": "2026-01-05T10:00:00Z", "customer": {"id": "harbor", "name": "Sam Ortiz", '
    '"email": "sam@harbor.example", "tier": "wholesale"}, "lines": [{"sku": "24776", '
    '"quantity": 12, "unit": "CA", "pack": 12, "unit_price": "30.00"}, {"sku": "MUG", '
    '"quantity": 2}]}'
)
REF = "x12:HARBOR.HS-1"


def stock_and_order(app: Backorder) -> None:
    add_product(app, product("24776", name="Shop towels", lead_time_days=10))
    add_product(app, product("MUG", name="Mug"))
    receive_stock(app, "24776", 100)
    (request,) = parse_orders(CASES)
    place_order(app, request)


@pytest.fixture
def client(app: Backorder) -> Iterator[TestClient]:
    stock_and_order(app)
    with TestClient(create_app(app), follow_redirects=False) as http:
        yield http


def text_of(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_customers_page_tells_the_cases(client: TestClient, app: Backorder) -> None:
    link = mint_link(app, REF)
    path = link.url.removeprefix(app.settings.public_url)
    page = client.get(path, headers={"Accept": BROWSER}, follow_redirects=True)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Shop towels Quantity 12 cases of 12 (144 units) ·" in text
    assert "100 of 144 units (12 cases of 12) ready, being prepared for shipping" in text
    assert "44 of 144 units (12 cases of 12) on backorder" in text
    assert "Cancel 144 units" in text
    assert "Mug Quantity 2 ·" in text and "Cancel 2 items" in text  # single units as before


def test_the_dashboard_puts_the_cases_under_the_units(client: TestClient, app: Backorder) -> None:
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    page = client.get(f"/records/orders/{REF}")
    assert page.status_code == 200
    assert '<div class="sub" data-testid="ordered-1">12 cases of 12 (144 units)</div>' in page.text
    assert 'data-testid="ordered-2"' not in page.text


def test_order_show_puts_the_cases_under_the_units(
    tmp_path: Path, migrated_sqlite: Path, clock: Clock
) -> None:
    shutil.copyfile(migrated_sqlite, tmp_path / "shop.db")
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    app = Backorder(Database(url), Settings(database_url=url), clock)
    try:
        stock_and_order(app)
    finally:
        app.close()
    shown = CliRunner(env={"COLUMNS": "100"}).invoke(cli, ["--db", url, "order", "show", REF])
    assert shown.exit_code == 0, shown.output
    print(shown.output)
    assert "12 cases of 12" in shown.output and "144" in shown.output
