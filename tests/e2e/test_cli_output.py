"""What the `backorder` command prints, read at 80 columns as an operator's terminal is:
identifiers whole, words instead of `None`, plurals right, money with its symbol, and option
errors that say what is wrong. In process (Typer's runner), on SQLite: the engine's own tests
cover both backends."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from backorder.cli import app as cli
from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.store.db import Database
from tests.conftest import Clock
from tests.factories import order, product

LONG_SKU = "SOCK-MERINO-3-PAIRS-XL"
LONG_REF = "amazon:113-9010530-0000061"
NARROW = {"COLUMNS": "80"}


@pytest.fixture
def shop(tmp_path: Path, migrated_sqlite: Path, clock: Clock) -> Iterator[str]:
    """A SKU with a long name, waiting lines of orders with long references."""
    shutil.copyfile(migrated_sqlite, tmp_path / "shop.db")
    sqlite_url = f"sqlite:///{tmp_path / 'shop.db'}"
    app = Backorder(Database(sqlite_url), Settings(database_url=sqlite_url), clock)
    try:
        add_product(app, product(LONG_SKU, lead_time_days=1))
        place_order(app, order("113-9010530-0000061", (LONG_SKU, 1), channel="amazon"))
        place_order(app, order("113-9010530-0000062", (LONG_SKU, 3), channel="amazon"))
    finally:
        app.close()
    yield sqlite_url


def cli_run(db: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner(env=NARROW).invoke(cli, ["--db", db, *args], input=stdin)


def test_a_negative_quantity_is_refused_for_what_it_is(shop: str) -> None:
    for command, says in (("receive", "must be positive"), ("set", "cannot be negative")):
        done = cli_run(shop, "stock", command, LONG_SKU, "-3")
        assert done.exit_code == 1
        assert says in done.output and "No such option" not in done.output


def test_a_price_is_exact_money_on_every_path_refused_in_the_api_words(
    shop: str, tmp_path: Path
) -> None:
    words = 'money must be a decimal string such as "19.99"'
    for price in ("1e3", "19.99999", "-1", " 12"):
        done = cli_run(shop, "product", "add", "NEW", "--name", "New", "--price", price)
        assert done.exit_code == 1 and words in done.output, done.output
    added = cli_run(shop, "product", "add", "NEW", "--name", "New", "--price", "12.50")
    assert added.exit_code == 0
    placed = {
        "channel": "web",
        "external_id": "float-1",
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": "c", "name": "C", "email": "c@example.com"},
        "currency": "USD",
        "lines": [{"sku": "NEW", "quantity": 1, "unit_price": 19.99}],  # a float, as JSON reads
    }
    refused = cli_run(shop, "order", "place", "-", stdin=json.dumps(placed))
    assert refused.exit_code == 1 and words in refused.output
    whole = placed | {"lines": [{"sku": "NEW", "quantity": 1.0, "unit_price": 19.0}]}
    assert cli_run(shop, "order", "place", "-", stdin=json.dumps(whole)).exit_code == 0
    csv = tmp_path / "products.csv"
    csv.write_text("sku,name,price\nCSV-1,From a file,1e3\n")
    imported = cli_run(shop, "product", "import", str(csv))
    assert imported.exit_code == 1 and words in imported.output
