"""`backorder ingest` and the intake commands as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def test_ingest_dead_letter_alias_replay_discard(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    for sku in ("IPOD-GREEN", "IPOD-RED"):
        run(db, "product", "add", sku, "--name", "iPod", "--price", "199")
    run(db, "sku", "alias", "shopify", "IPOD2008GREEN", "IPOD-GREEN")

    first = run(
        db,
        "ingest",
        "shopify",
        str(FIXTURES / "shopify_order.json"),
        str(FIXTURES / "truncated.json"),
        "--json",
        ok=False,
    )
    assert first.returncode == 2, first.stderr
    report = json.loads(first.stdout)
    assert report["accepted"] == [] and len(report["dead_lettered"]) == 2

    letters = json.loads(run(db, "intake", "dead-letters", "--json").stdout)
    assert [d["external_id"] for d in letters] == ["450789469", None]  # the valuable one first
    run(db, "sku", "alias", "shopify", "variant:49148385", "IPOD-RED")
    replayed = run(db, "intake", "replay", str(letters[0]["id"]), "--json")
    assert json.loads(replayed.stdout)["accepted"] == ["shopify:450789469"]

    run(db, "intake", "discard", str(letters[1]["id"]), "--reason", "half a file")
    assert json.loads(run(db, "intake", "dead-letters", "--json").stdout) == []
    again = run(db, "ingest", "shopify", str(FIXTURES / "shopify_order.json"), "--json")
    assert json.loads(again.stdout)["duplicates"] == ["shopify:450789469"]

    refused = run(db, "ingest", "fax", str(FIXTURES / "shopify_order.json"), ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: unknown channel")
