"""Pack sizes on the command line, as an operator types them: `--pack CA=12` on `product add`
and `product update` (repeatable; `CA=` clears), shown by `product show` in an 80-column
terminal and in `--json`; a bad pack is one line naming the fix, and changes nothing. And the
way out of a dead letter for an order in cases: `product update --pack`, `intake replay`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from backorder.cli import app as cli
from backorder.cli import common
from backorder.services.context import Backorder
from tests.integration.test_engine import event_types

NARROW = {"COLUMNS": "80"}


def invoke(db_url: str, *args: str, code: int = 0) -> Result:
    done = CliRunner(env=NARROW).invoke(cli, ["--db", db_url, *args])
    assert done.exit_code == code, done.output
    return done


def shown(db_url: str, sku: str) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(invoke(db_url, "product", "show", sku, "--json").stdout)
    return view


def test_packs_are_added_changed_cleared_and_shown(app: Backorder, db_url: str) -> None:
    add = ["product", "add", "24776", "--name", "Tomatoes, tinned", "--price", "2.50"]
    invoke(db_url, *add, "--pack", "CA=12", "--pack", "pl=480")
    assert shown(db_url, "24776")["packs"] == {"CA": 12, "PL": 480}
    text = invoke(db_url, "product", "show", "24776").stdout
    assert "pack sizes:               CA 12, PL 480" in text.splitlines()
    assert all(len(line) <= 80 for line in text.splitlines()), text

    invoke(db_url, "product", "update", "24776", "--pack", "CA=", "--pack", "BX=6")
    assert shown(db_url, "24776")["packs"] == {"BX": 6, "PL": 480}
    invoke(db_url, "product", "update", "24776", "--pack", "BX=", "--pack", "PL=")
    assert shown(db_url, "24776")["packs"] == {}
    assert "pack sizes:               none" in invoke(db_url, "product", "show", "24776").stdout
    assert event_types(app) == ["product_added", "product_changed", "product_changed"]


def test_many_packs_fold_under_their_label_at_80_columns(
    app: Backorder, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.out, "width", 80)  # the console took its width when made
    packs = [f"--pack=U{n}={n * 1000 + 1}" for n in range(1, 15)]
    invoke(db_url, "product", "add", "24776", "--name", "Tomatoes", "--price", "2.50", *packs)
    text = invoke(db_url, "product", "show", "24776").stdout
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("pack sizes:"))
    folded = lines[at:]
    assert len(folded) == 3 and all(len(line) <= 80 for line in lines), text
    assert all(line.startswith(" " * 26 + "U") for line in folded[1:]), text
    items = " ".join(line[26:] for line in folded).split(", ")
    assert items == [f"U{n} {n * 1000 + 1}" for n in range(1, 15)]  # none cut in two


def test_a_bad_pack_is_one_line_naming_the_fix_and_changes_nothing(
    app: Backorder, db_url: str
) -> None:
    add = ["product", "add", "24776", "--name", "Tomatoes", "--price", "2.50"]
    refused = invoke(db_url, *add, "--pack", "CA=12", "--pack", "PL", code=1)
    assert refused.stderr == "error: pack 'PL': write UNIT=N, as CA=12 (CA= clears it)\n"
    invoke(db_url, "product", "show", "24776", code=1)  # not added without its packs
    invoke(db_url, *add, "--pack", "CA=12")
    for pack, says in (
        ("CA=0", "error: pack CA=0: a pack holds 2 to 1,000,000 single units"),
        ("CA=1", "error: pack CA=1 is a single unit: leave the pack out"),
        ("EA=12", "error: unit EA is a single unit: it has no pack size"),
        ("CASE-OF-12=12", "error: unit 'CASE-OF-12': a unit code is 1 to 8 letters or digits"),
        ("CA=twelve", "error: pack 'CA=twelve': N is a whole number of single units"),
    ):
        done = invoke(db_url, "product", "update", "24776", "--price", "9", "--pack", pack, code=1)
        assert done.stderr.startswith(says), done.stderr
    twice = invoke(db_url, "product", "update", "24776", "--pack", "CA=6", "--pack", "CA=", code=1)
    assert twice.stderr == "error: pack CA is given twice: give each unit once\n"
    assert shown(db_url, "24776")["packs"] == {"CA": 12}
    assert shown(db_url, "24776")["price"] == "2.50"
    assert event_types(app) == ["product_added"]


def test_import_takes_a_packs_column(app: Backorder, db_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "products.csv"
    csv.write_text('sku,name,price,packs\n24776,Tomatoes,2.50,"CA=12 PL=480"\nMUG,Mug,4.00,\n')
    done = invoke(db_url, "product", "import", str(csv))
    assert "imported 2 new and 0 updated products" in done.stdout
    assert shown(db_url, "24776")["packs"] == {"CA": 12, "PL": 480}
    csv.write_text("sku,name,price,packs\n24776,Tomatoes,2.50,CA=12\nMUG,Mug,4.00,CA=x\n")
    refused = invoke(db_url, "product", "import", str(csv), code=1)
    assert "row 3: pack 'CA=x': N is a whole number of single units" in refused.stderr
    assert shown(db_url, "24776")["packs"] == {"CA": 12, "PL": 480}  # nothing imported


def test_an_order_in_cases_is_placed_after_the_pack_is_set_and_replayed(
    app: Backorder, db_url: str, tmp_path: Path
) -> None:
    invoke(db_url, "product", "add", "24776", "--name", "Tomatoes", "--price", "2.50")
    invoke(db_url, "stock", "receive", "24776", "100")
    po = {
        "channel": "edi",
        "external_id": "PO-9",
        "placed_at": "2026-12-01T09:00:00Z",
        "customer": {"id": "acme", "email": "buyer@acme.example"},
        "lines": [{"sku": "24776", "quantity": 12, "unit": "CA", "unit_price": "30.00"}],
    }
    path = tmp_path / "po.json"
    path.write_text(json.dumps(po))
    dead = invoke(db_url, "ingest", "canonical", str(path), "--json", code=2)
    assert json.loads(dead.stdout)["accepted"] == []
    letters = json.loads(invoke(db_url, "intake", "dead-letters", "--json").stdout)
    (letter,) = letters
    fix = "unit CA has no pack size for SKU 24776: backorder product update 24776 --pack CA=N"
    assert fix in json.dumps(letter)

    invoke(db_url, "product", "update", "24776", "--pack", "CA=12")
    replayed = invoke(db_url, "intake", "replay", "--all", "--json")
    assert json.loads(replayed.stdout)["accepted"] == ["edi:PO-9"]
    (line,) = json.loads(invoke(db_url, "order", "show", "edi:PO-9", "--json").stdout)["lines"]
    assert (line["quantity"], line["allocated"], line["backordered"]) == (144, 100, 44)
    assert line["ordered"] == {"quantity": 12, "unit": "CA", "pack": 12}
