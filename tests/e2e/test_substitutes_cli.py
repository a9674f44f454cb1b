"""`backorder product substitute …` as a user types it, at 80 columns: add (at a rank),
list (table and JSON), refuse (itself, unknown, twice), remove."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.test_product_suppliers_cli import run


def test_substitutes_of_a_sku_from_the_command_line(tmp_path: Path, migrated_sqlite: Path) -> None:
    shutil.copyfile(migrated_sqlite, tmp_path / "cli.db")  # migrated once for the run
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for sku, name in (("FLT-10", "Filter 10"), ("FLT-12", "Filter 12, the same size"),
                      ("FLT-14", "Filter 14")):  # fmt: skip
        run(url, "product", "add", sku, "--name", name, "--price", "9.99")
    said = run(url, "product", "substitute", "add", "FLT-10", "FLT-12")
    assert said == "added FLT-12 as a substitute of FLT-10 (choice 1 of 1)\n"
    said = run(url, "product", "substitute", "add", "FLT-10", "FLT-14", "--rank", "1")
    assert said == "added FLT-14 as a substitute of FLT-10 (choice 1 of 2)\n"

    table = run(url, "product", "substitute", "list", "FLT-10")
    assert "Substitutes of FLT-10 (offered in this order)" in table
    assert all(len(line) <= 80 for line in table.splitlines())
    rows = [line.split()[:2] for line in table.splitlines() if line.strip()[:1].isdigit()]
    assert rows == [["1", "FLT-14"], ["2", "FLT-12"]]
    listed = json.loads(run(url, "product", "substitute", "list", "FLT-10", "--json"))
    assert [(s["rank"], s["sku"], s["available"]) for s in listed["substitutes"]] == [
        (1, "FLT-14", 0),
        (2, "FLT-12", 0),
    ]

    for args, error in (
        (("FLT-10", "FLT-10"), "error: FLT-10 cannot be its own substitute\n"),
        (("FLT-10", "NOPE"), "error: unknown SKU 'NOPE'\n"),
        (("FLT-10", "FLT-12"), "error: FLT-12 is already a substitute of FLT-10\n"),
    ):
        assert run(url, "product", "substitute", "add", *args, ok=False) == error
    assert run(url, "product", "substitute", "remove", "FLT-10", "FLT-14") == (
        "removed FLT-14 from the substitutes of FLT-10\n"
    )
    assert run(url, "product", "substitute", "remove", "FLT-10", "FLT-14", ok=False) == (
        "error: FLT-14 is not a substitute of FLT-10\n"
    )
    assert "FLT-12" in run(url, "product", "substitute", "list", "FLT-10")
    assert run(url, "product", "substitute", "list", "FLT-12") == "FLT-12 has no substitutes\n"
