"""`order list` and `product list`: the service's pages as JSON, and as tables that keep
every identifier whole in an 80-column terminal."""

from __future__ import annotations

import json
import re
from dataclasses import asdict

from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.search import OrderFilter, list_orders
from tests.factories import jan, order, product

LONG_SKU = "SLEEPING-BAG-DOWN-MINUS-SEVEN-LONG"
LONG_REF = "shopify:ORDER-2026-000000012345678"
NARROW = {"COLUMNS": "80"}


def shop(app: Backorder) -> None:
    add_product(app, product(LONG_SKU, name="Down sleeping bag, -7 °C, long, in forest green"))
    add_product(app, product("MUG-RED", name="Red mug"))
    place_order(
        app,
        order(LONG_REF.split(":")[1], (LONG_SKU, 1), ("MUG-RED", 2), channel="shopify"),
    )
    for n in range(3):
        place_order(app, order(f"{n}", ("MUG-RED", 1), placed_at=jan(6 + n)))


def whole(text: str, word: str, column: int) -> bool:
    """Whether `word` stands whole in a table's column, perhaps folded over its lines, and
    nothing was cut with an ellipsis."""
    cells = [re.split(r"[│┃]", line)[column].strip() for line in text.splitlines() if "│" in line]
    return word in "".join(cells) and "…" not in text


def test_order_list_filters_pages_and_keeps_identifiers_whole(app: Backorder, db_url: str) -> None:
    shop(app)
    runner = CliRunner(env=NARROW)
    done = runner.invoke(cli, ["--db", db_url, "order", "list", "--sku", LONG_SKU])
    assert done.exit_code == 0, done.output
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    assert whole(done.stdout, LONG_REF, 0) and whole(done.stdout, LONG_SKU, -1)
    assert "1 order" in done.stdout and "web:0" not in done.stdout
    paged = runner.invoke(cli, ["--db", db_url, "order", "list", "--limit", "2", "--json"])
    page = json.loads(paged.stdout)
    assert page == asdict(list_orders(app, OrderFilter(), limit=2))
    first = runner.invoke(cli, ["--db", db_url, "order", "list", "--limit", "2", "-q", "red mug"])
    # the next page's command keeps the filters it was given
    hint = "next page: backorder order list --search 'red mug' --limit 2 --cursor"
    assert hint in " ".join(first.stdout.split()), first.stdout
    rest = runner.invoke(
        cli, ["--db", db_url, "order", "list", "--limit", "2", "--cursor", page["next_cursor"]]
    )
    assert "web:0" in rest.stdout and "2 orders" in rest.stdout and "--cursor" not in rest.stdout
    for flags, shown in (
        (["--status", "backordered", "--channel", "web"], "web:2"),
        (["--since", "2026-01-08"], "web:2"),
        (["--customer", "c-1"], "web:1"),
        (["-q", "red mug"], "web:1"),
    ):
        listed = runner.invoke(cli, ["--db", db_url, "order", "list", *flags])
        assert listed.exit_code == 0 and shown in listed.stdout, (flags, listed.output)
    wrong = runner.invoke(cli, ["--db", db_url, "order", "list", "--status", "lost"])
    assert wrong.exit_code == 1 and "status must be one of open" in wrong.output


def test_product_list_fits_80_columns_without_cutting_a_sku(app: Backorder, db_url: str) -> None:
    shop(app)
    done = CliRunner(env=NARROW).invoke(cli, ["--db", db_url, "product", "list"])
    assert done.exit_code == 0, done.output
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    assert whole(done.stdout, LONG_SKU, 0) and whole(done.stdout, "MUG-RED", 0)
    assert "2 products" in done.stdout
    one = CliRunner().invoke(cli, ["--db", db_url, "product", "list", "-q", "mug", "--json"])
    assert [p["sku"] for p in json.loads(one.stdout)["items"]] == ["MUG-RED"]
