"""`backorder ingest` of 3PL feeds and `backorder location alias` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def test_a_3pl_feed_is_dead_lettered_until_its_location_has_an_alias(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("BOLT", "NUT"):
        run(db, "product", "add", sku, "--name", sku.title(), "--price", "1")
    run(db, "location", "add", "east", "--name", "ShipBob East", "--kind", "3pl")
    edi = tmp_path / "stock.846"
    edi.write_text((FIXTURES / "846_inventory_advice.x12").read_text())

    first = run(db, "ingest", "x12-3pl", str(edi), ok=False)
    assert first.returncode == 2
    assert "unknown location 'SB-EAST'" in first.stdout
    assert "AK5*A" in (tmp_path / "stock.846.997").read_text()  # read fine: a 997 accepts it

    added = run(db, "location", "alias", "east", "--channel", "x12", "--id", "SB-EAST")
    assert added.stdout.strip() == "x12 SB-EAST -> east"
    listed = json.loads(run(db, "location", "aliases", "east", "--json").stdout)
    assert listed == [{"location": "east", "channel": "x12", "id": "SB-EAST"}]

    replayed = run(db, "intake", "replay", "--all")
    assert "applied" in replayed.stdout and "2 SKU(s) set" in replayed.stdout
    stock = json.loads(run(db, "stock", "show", "BOLT", "--json").stdout)
    assert {p["location"]: p["on_hand"] for p in stock["locations"]}["east"] == 7

    again = json.loads(run(db, "ingest", "x12-3pl", str(edi), "--json").stdout)
    assert [f["state"] for f in again["feeds"]] == ["duplicate"]
    health = json.loads(run(db, "intake", "health", "--json").stdout)
    source = next(s for s in health if s["channel"] == "x12-3pl")
    assert (source["counts"]["accepted"], source["counts"]["duplicate"]) == (1, 1)

    run(db, "location", "unalias", "east", "--channel", "x12", "--id", "SB-EAST")
    assert run(db, "location", "aliases").stdout.strip() == "no aliases"
    bad = run(db, "location", "alias", "east", "--channel", "fax", "--id", "1", ok=False)
    assert "unknown channel 'fax'" in bad.stderr + bad.stdout


def test_a_csv_receipt_serves_the_waiting_line_at_that_location(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("BOLT", "NUT"):
        run(db, "product", "add", sku, "--name", sku.title(), "--price", "1")
    run(db, "location", "add", "sb-east", "--name", "ShipBob East", "--kind", "3pl")
    done = run(db, "ingest", "stock-csv", str(FIXTURES / "receipt.csv"), "--json")
    (applied,) = json.loads(done.stdout)["feeds"]
    assert applied["kind"] == "receipt" and "received 18 unit(s)" in applied["outcome"]
    stock = json.loads(run(db, "stock", "show", "NUT", "--json").stdout)
    assert {p["location"]: p["on_hand"] for p in stock["locations"]}["sb-east"] == 12
