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
from backorder.cli import common
from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.store.db import Database
from tests.conftest import Clock
from tests.factories import order, product
from tests.mail import Inbox

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


@pytest.fixture(autouse=True)
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-column terminal. The command's console reads COLUMNS when it is made, at import,
    which in this process was before the test."""
    monkeypatch.setattr(common.out, "width", 80)


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


def test_identifiers_are_never_cut_and_counts_read_right(shop: str) -> None:
    queue = cli_run(shop, "queue", LONG_SKU)
    assert queue.exit_code == 0, queue.output
    assert f"{LONG_SKU} (fifo): 2 lines, 4 units waiting" in queue.output
    for ref in ("amazon:113-9010530-0000061", "amazon:113-9010530-0000062"):
        assert ref in queue.output  # whole, on one line
    assert "…" not in queue.output
    shown = cli_run(shop, "order", "show", LONG_REF)
    assert shown.exit_code == 0, shown.output
    assert LONG_SKU in shown.output and "…" not in shown.output
    assert "$19.99" in shown.output  # the line's value, with its currency's symbol
    assert max(len(line) for line in shown.output.splitlines()) <= 80


def test_an_order_link_is_one_line_whatever_the_width(shop: str) -> None:
    done = cli_run(shop, "order", "link", LONG_REF)
    assert done.exit_code == 0, done.output
    url = done.output.splitlines()[0]
    assert len(url) > 80 and url.startswith("http") and "token=" in url
    assert done.output.splitlines()[1].startswith("(valid until ")


def test_a_product_reads_in_words(shop: str) -> None:
    done = cli_run(shop, "product", "show", LONG_SKU)
    assert done.exit_code == 0, done.output
    for raw in ("None", "False", "True", "_"):
        assert raw not in done.output.replace(LONG_SKU, ""), raw
    assert "lead time:" in done.output and "1 day\n" in done.output  # 1 day, not 1 days
    assert "most per customer:" in done.output and "no limit" in done.output


def test_the_message_log_names_each_message_kind(
    shop: str, inbox: tuple[Inbox, int], clock: Clock
) -> None:
    settings = Settings(database_url=shop, smtp_url=f"smtp://127.0.0.1:{inbox[1]}")
    app = Backorder(Database(shop), settings, clock)
    try:
        plan(app)
    finally:
        app.close()
    done = cli_run(shop, "notify", "log", LONG_REF)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "email backorder_confirmed -> 113-9010530-0000061@example.com: due" in said
    assert "email status_update -> " in said and "(0 attempts)" in said
    retried = cli_run(shop, "notify", "retry", "--all")
    assert " ".join(retried.output.split()) == (
        "0 failed messages queued again, 0 messages waiting on a retry made due now; "
        "the worker sends them"
    )


def test_kpis_by_group_keep_the_key_and_leave_out_what_does_not_fit(shop: str) -> None:
    period = ["--from", "2026-01-01", "--to", "2026-01-31"]
    done = cli_run(shop, "kpi", *period, "--by", "sku")
    assert done.exit_code == 0, done.output
    row = next(line for line in done.output.splitlines() if line.startswith(f" {LONG_SKU} "))
    assert "$" in row and "…" not in done.output
    assert "left out to fit the terminal:" in done.output
    assert max(len(line) for line in done.output.splitlines()) <= 80
