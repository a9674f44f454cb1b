"""The `backorder` command as a user runs it, on a real database (in this process; commands
started together run as processes of their own)."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import chdir
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.store.db import Database
from backorder.store.tables import metadata

BACKORDER = str(Path(sys.executable).parent / "backorder")

ORDER = {
    "channel": "web",
    "external_id": "100",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {
        "id": "c-1",
        "name": "Ada",
        "email": "ada@example.com",
        "phone": "+15550100",
        "tier": "standard",
    },
    "currency": "USD",
    "shipping": {"method": "standard", "preference": "ship_available"},
    "payment_timing": "at_order",
    "expedite": False,
    "lines": [{"sku": "WIDGET-BLUE", "quantity": 20, "unit_price": "19.99"}],
}


def run(
    db: str, *args: str, stdin: str | None = None, ok: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a user types it, run in this process by Typer's runner (a `backorder`
    process per call cost most of a second of start-up, over a minute of the suite; the
    tests that need a process of its own start one). An exception the command let escape
    fails the test: a user would have seen a traceback."""
    argv = [*(("--db", db) if db else ()), *args]
    with chdir(cwd or Path.cwd()):
        done = CliRunner(env={"COLUMNS": "160"}).invoke(cli, argv, input=stdin)
    escaped = done.exception if not isinstance(done.exception, SystemExit) else None
    assert escaped is None, f"{argv}: {escaped!r}\n{done.stderr}"
    if ok:
        assert done.exit_code == 0, done.stderr
    return subprocess.CompletedProcess(argv, done.exit_code, done.stdout, done.stderr)


def as_json(db: str, *args: str) -> Any:
    return json.loads(run(db, *args, "--json").stdout)


def order(external_id: str, day: int, qty: int = 20) -> str:
    return json.dumps(
        ORDER
        | {
            "external_id": external_id,
            "placed_at": f"2026-01-{day:02d}T10:00:00Z",
            "lines": [{"sku": "WIDGET-BLUE", "quantity": qty}],
        }
    )


def add_widget(url: str) -> str:
    run(
        url,
        "product",
        "add",
        "WIDGET-BLUE",
        "--name",
        "Blue widget",
        "--price",
        "19.99",
        "--lead-time-days",
        "10",
    )
    return url


@pytest.fixture
def db(sqlite_url: str) -> str:
    """Most command-line tests run on SQLite only: the engine's tests cover both backends."""
    return add_widget(sqlite_url)


def test_seed_example_from_the_command_line(db_url: str) -> None:
    db = add_widget(db_url)
    orders = "\n".join(order(n, d) for n, d in (("100", 5), ("101", 6), ("102", 8)))
    placed = run(db, "order", "place", "-", stdin=orders).stdout
    assert placed.split() == ["created", "web:100", "created", "web:101", "created", "web:102"]
    queue = as_json(db, "queue", "WIDGET-BLUE")
    assert queue["strategy"] == "fifo"
    assert [(e["ref"], e["line"], e["backordered"], e["position"]) for e in queue["entries"]] == [
        ("web:100", 1, 20, 1),
        ("web:101", 1, 20, 2),
        ("web:102", 1, 20, 3),
    ]
    run(db, "stock", "receive", "WIDGET-BLUE", "50", "--ref", "PO-1")
    shown = as_json(db, "order", "show", "web:102")
    assert {k: shown[k] for k in ("ref", "status")} == {"ref": "web:102", "status": "backordered"}
    line = shown["lines"][0]
    assert {
        k: line[k]
        for k in (
            "line",
            "sku",
            "quantity",
            "allocated",
            "backordered",
            "shipped",
            "cancelled",
            "status",
        )
    } == {
        "line": 1,
        "sku": "WIDGET-BLUE",
        "quantity": 20,
        "allocated": 10,
        "backordered": 10,
        "shipped": 0,
        "cancelled": 0,
        "status": "backordered",
    }
    assert line["allocations"][0]["position"] == 3
    assert as_json(db, "stock", "show", "WIDGET-BLUE") == {
        "sku": "WIDGET-BLUE",
        "on_hand": 50,
        "allocated": 50,
        "available": 0,
        "backordered": 10,
        "locations": [{"location": "main", "on_hand": 50, "allocated": 50, "available": 0}],
    }


def test_placing_the_same_order_twice_finds_it(db: str, tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER))
    assert run(db, "order", "place", str(path)).stdout.split() == ["created", "web:100"]
    assert json.loads(run(db, "order", "place", str(path), "--json").stdout) == [
        {"ref": "web:100", "created": False}
    ]


def test_cancel_and_ship(db: str) -> None:
    run(db, "stock", "set", "WIDGET-BLUE", "5")
    run(db, "order", "place", "-", stdin=order("1", 5, qty=8))
    run(db, "order", "cancel", "web:1", "--line", "1", "--qty", "2", "--reason", "too many")
    run(db, "order", "ship", "web:1", "--tracking", "1Z1")
    line = as_json(db, "order", "show", "web:1")["lines"][0]
    assert (line["allocated"], line["backordered"], line["shipped"], line["cancelled"]) == (
        0,
        1,
        5,
        2,
    )
    assert line["cancellations"][0]["reason"] == "too many"
    types = [e["type"] for e in as_json(db, "events")]
    assert types.count("units_shipped") == 1


def snapshot(db: str) -> Any:
    """Everything a refused command could have touched: every row of every table, read
    straight from the database (not through the command under test)."""
    database = Database(db)
    try:
        with database.engine.connect() as conn:
            return {
                table.name: sorted(map(repr, conn.execute(select(table)).all()))
                for table in metadata.sorted_tables
            }
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("order", "place", "-"), '{"channel": "web"', "not JSON"),
        (
            ("order", "place", "-"),
            json.dumps(ORDER | {"lines": [{"sku": "NOPE", "quantity": 1}]}),
            "unknown SKU",
        ),
        (("order", "place", "-"), json.dumps(ORDER | {"lines": []}), "lines"),
        (("order", "cancel", "web:100", "--line", "1", "--qty", "99"), None, "cannot cancel"),
        (("order", "show", "web:999"), None, "unknown order"),
        (("stock", "receive", "NOPE", "1"), None, "unknown SKU"),
        (("stock", "set", "WIDGET-BLUE", "--", "-1"), None, "negative"),
        (("product", "add", "WIDGET-BLUE", "--name", "x", "--price", "1"), None, "exists"),
        (("product", "add", "X", "--name", "x", "--price", "abc"), None, "money"),
        (("product", "add", "X", "--name", "x", "--price", "1e30"), None, "decimal string"),
        (("stock", "receive", "WIDGET-BLUE", "3000000000"), None, "more than"),
        (
            ("order", "place", "-"),
            json.dumps(ORDER | {"customer": {"id": "c", "name": "n" * 250}}),
            "at most 200",
        ),
        (("--db", "nope://x", "stock", "show", "WIDGET-BLUE"), None, "database error"),
    ],
)
def test_errors_print_one_line_exit_non_zero_and_change_nothing(
    db: str, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    run(db, "order", "place", "-", stdin=json.dumps(ORDER))
    before = snapshot(db)
    done = run(db, *args, stdin=stdin, ok=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(db) == before


def test_a_file_with_one_bad_order_places_none(db: str) -> None:
    good = order("1", 5)
    bad = json.dumps(ORDER | {"external_id": "2", "lines": [{"sku": "NOPE", "quantity": 1}]})
    before = as_json(db, "events")
    done = run(db, "order", "place", "-", stdin=good + "\n" + bad, ok=False)
    assert "nothing was placed" in done.stderr
    assert as_json(db, "events") == before


def test_default_database_is_backorder_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKORDER_DATABASE_URL", raising=False)
    env_free = run("", "product", "add", "A", "--name", "A", "--price", "1", cwd=tmp_path)
    assert env_free.returncode == 0
    assert (tmp_path / "backorder.db").exists()


def test_import_keeps_what_the_file_leaves_out(db: str, tmp_path: Path) -> None:
    run(
        db,
        "product",
        "update",
        "WIDGET-BLUE",
        "--policy",
        "deny",
        "--queue",
        "priority",
        "--max-per-customer",
        "4",
        "--discontinued",
    )
    csv = tmp_path / "prices.csv"
    csv.write_text("sku,name,price\nWIDGET-BLUE,Blue widget,18.50\n")
    run(db, "product", "import", str(csv))
    shown = as_json(db, "product", "show", "WIDGET-BLUE")
    assert (shown["price"], shown["policy"], shown["queue"], shown["max_per_customer"]) == (
        "18.50",
        "deny",
        "priority",
        4,
    )
    assert (shown["discontinued"], shown["lead_time_days"]) == (True, 10)


def test_import_refuses_a_file_with_a_bad_cell(db: str, tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("sku,name,price,discontinued\nA,A,1,maybe\nB,B,zero,\n")
    done = run(db, "product", "import", str(csv), ok=False)
    assert "row 2" in done.stderr and "row 3" in done.stderr
    assert run(db, "product", "show", "A", ok=False).returncode == 1


def test_the_demo_never_replaces_a_database_it_did_not_build(tmp_path: Path) -> None:
    real = f"sqlite:///{tmp_path / 'backorder.db'}"
    run(real, "product", "add", "MINE", "--name", "Mine", "--price", "1")
    done = run("", "demo", "--file", "backorder.db", ok=False, cwd=tmp_path)
    assert "not a demo database" in done.stderr
    assert as_json(real, "product", "show", "MINE")["sku"] == "MINE"


def test_commands_started_together_on_an_empty_database_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    argv = [
        [BACKORDER, "--db", url, "product", "add", f"P{n}", "--name", "P", "--price", "1"]
        for n in range(5)
    ]
    running = [
        subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argv
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in running]
    assert all(code == 0 for code, _ in results), results


def test_import_products_from_csv(db: str, tmp_path: Path) -> None:
    csv = tmp_path / "products.csv"
    csv.write_text(
        "sku,name,price,policy,max_per_customer,lead_time_days,queue,discontinued\n"
        "GADGET,Gadget,5.50,deny,,3,priority,\n"
        "WIDGET-BLUE,Blue widget v2,21.00,allow,4,,fifo,false\n"
    )
    assert "1 new and 1 updated" in run(db, "product", "import", str(csv)).stdout
    gadget = as_json(db, "product", "show", "GADGET")
    assert (gadget["policy"], gadget["queue"], gadget["price"]) == ("deny", "priority", "5.50")
    assert as_json(db, "product", "show", "WIDGET-BLUE")["max_per_customer"] == 4


def test_order_link_prints_a_signed_url(db: str) -> None:
    run(db, "order", "place", "-", stdin=json.dumps(ORDER))
    link = as_json(db, "order", "link", "web:100")
    assert link["url"].startswith("http://127.0.0.1:8000/api/v1/customer/orders/web:100?token=")
    assert link["token"] in link["url"]
    assert run(db, "order", "link", "web:404", ok=False).returncode == 1


def test_supply_from_the_command_line(sqlite_url: str) -> None:
    db = sqlite_url
    run(db, "supplier", "add", "ACME", "--name", "Acme Corp", "--lead-time-days", "400")
    run(
        db,
        "product",
        "add",
        "WIDGET-BLUE",
        "--name",
        "Blue",
        "--price",
        "9.5",
        "--supplier",
        "ACME",
    )
    assert as_json(db, "product", "show", "WIDGET-BLUE")["supplier"] == "ACME"
    run(db, "order", "place", "-", stdin=order("1", 5, qty=4))
    run(db, "order", "place", "-", stdin=order("2", 6, qty=4))
    first = as_json(db, "order", "show", "web:1")["lines"][0]
    assert first["eta"] == first["promised"]  # today + 400 days, whatever today is
    made = as_json(
        db, "po", "add", "PO-7", "--supplier", "ACME", "--line", "WIDGET-BLUE:6:2099-03-01"
    )
    assert made["lines"][0]["outstanding"] == 6
    queue = as_json(db, "queue", "WIDGET-BLUE")["entries"]
    assert [e["eta"] for e in queue] == ["2099-03-01", first["eta"]]
    assert queue[0]["promised"] == first["promised"]
    shown = as_json(db, "po", "redate", "PO-7", "--line", "WIDGET-BLUE", "--expected", "2099-04-01")
    assert shown["lines"][0]["first_expected_on"] == "2099-03-01"
    atp = as_json(db, "atp", "WIDGET-BLUE")
    assert (atp["backordered"], atp["promisable"]) == (8, [])
    assert "beyond that: by" in run(db, "atp", "WIDGET-BLUE").stdout
    run(db, "stock", "receive", "WIDGET-BLUE", "6", "--ref", "PO-7")
    assert as_json(db, "po", "show", "PO-7")["state"] == "received"
    assert as_json(db, "supplier", "show", "ACME")["orders_completed"] == 1
    assert [p["state"] for p in as_json(db, "po", "list")] == ["received"]
    assert as_json(db, "supplier", "list")[0]["on_time_percent"] == 100.0
    bad = run(db, "po", "add", "PO-8", "--supplier", "ACME", "--line", "WIDGET-BLUE:x", ok=False)
    assert bad.returncode == 1 and "SKU:QTY:YYYY-MM-DD" in bad.stderr
    types = [e["type"] for e in as_json(db, "events")]
    assert "eta_changed" in types and "purchase_order_changed" in types


def test_locations_stock_per_location_and_shipping_from_each(db: str) -> None:
    run(
        db,
        "location",
        "add",
        "east",
        "--name",
        "East 3PL",
        "--kind",
        "3pl",
        "--ships-to",
        "US,CA",
        "--priority",
        "10",
        "--transit-days",
        "2",
    )
    listed = as_json(db, "location", "list")
    assert [(v["code"], v["ships_to"]) for v in listed] == [("east", ["US", "CA"]), ("main", None)]
    bad = run(db, "location", "add", "East!", "--name", "x", "--kind", "own", ok=False)
    assert bad.returncode != 0 and "location code" in bad.stderr
    run(db, "stock", "receive", "WIDGET-BLUE", "3", "--location", "east")
    run(db, "stock", "set", "WIDGET-BLUE", "5")
    shown = as_json(db, "stock", "show", "WIDGET-BLUE")
    assert shown["on_hand"] == 8
    assert {p["location"]: p["on_hand"] for p in shown["locations"]} == {"east": 3, "main": 5}
    to_us = json.loads(order("us", 5, qty=6)) | {"shipping": {"country": "US"}}
    run(db, "order", "place", "-", stdin=json.dumps(to_us))
    to_de = json.loads(order("de", 6, qty=4)) | {"shipping": {"country": "DE"}}
    run(db, "order", "place", "-", stdin=json.dumps(to_de))
    shown = as_json(db, "stock", "show", "WIDGET-BLUE")
    # the US order: east (3, first by priority) and main (3); the German one: main's 2 left
    assert (shown["allocated"], shown["backordered"]) == (8, 2)
    refused = run(db, "location", "deactivate", "east", ok=False)
    assert "allocated unit" in refused.stderr
    # a receipt at east cannot serve the German order; one at main can
    run(db, "stock", "receive", "WIDGET-BLUE", "2", "--location", "east")
    assert as_json(db, "stock", "show", "WIDGET-BLUE")["backordered"] == 2
    run(db, "stock", "receive", "WIDGET-BLUE", "2", "--location", "main")
    assert as_json(db, "stock", "show", "WIDGET-BLUE")["backordered"] == 0
    shipped = run(db, "order", "ship", "web:us", "--tracking", "T1")
    assert "in 2 shipments, one per location" in shipped.stdout
    # taking east's stock away (a count) then deactivating it
    run(db, "stock", "set", "WIDGET-BLUE", "0", "--location", "east")
    run(db, "location", "deactivate", "east")
    assert as_json(db, "location", "show", "east")["active"] is False
