"""`backorder product supplier …` and `backorder supplier show` as a user types them, at
80 columns: add, list (table and JSON), prefer, refuse, remove."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from backorder.cli import app as cli

NARROW = {"COLUMNS": "80"}


def run(url: str, *args: str, ok: bool = True) -> str:
    done = CliRunner(env=NARROW).invoke(cli, ["--db", url, *args])
    assert done.exit_code == (0 if ok else 1), done.output
    return done.output


def test_suppliers_of_a_sku_from_the_command_line(sqlite_url: str) -> None:
    url = sqlite_url
    run(url, "supplier", "add", "FILTERCO", "--name", "FilterCo", "--lead-time-days", "10")
    run(url, "supplier", "add", "CLEARFLOW", "--name", "ClearFlow", "--lead-time-days", "5")
    run(url, "product", "add", "FILTER-10", "--name", "Filter", "--price", "9.99",
        "--supplier", "FILTERCO")  # fmt: skip
    said = run(url, "product", "supplier", "add", "FILTER-10", "CLEARFLOW", "--cost", "4.20",
               "--lead-time-days", "6", "--moq", "10", "--pack", "5")  # fmt: skip
    assert said == "added CLEARFLOW: cost 4.20, lead time 6 days, moq 10, pack 5\n"

    table = run(url, "product", "supplier", "list", "FILTER-10")
    assert "Suppliers of FILTER-10 (* preferred; last 12 months)" in table
    assert all(len(line) <= 80 for line in table.splitlines())
    rows = [line.split() for line in table.splitlines() if line.strip().startswith(("F", "C"))]
    assert rows == [
        ["FILTERCO*", "?", "10", "1", "1", "-", "-", "-", "0"],
        ["CLEARFLOW", "4.20", "6", "10", "5", "-", "-", "-", "0"],
    ]
    listed = json.loads(run(url, "product", "supplier", "list", "FILTER-10", "--json"))
    assert [(s["supplier"], s["preferred"]) for s in listed["suppliers"]] == [
        ("FILTERCO", True),
        ("CLEARFLOW", False),
    ]

    refused = run(url, "product", "supplier", "remove", "FILTER-10", "FILTERCO", ok=False)
    assert "FILTERCO is the preferred supplier of FILTER-10" in refused
    assert len(refused.strip().splitlines()) == 1
    bad = run(url, "product", "supplier", "add", "FILTER-10", "NOBODY", "--cost", "1",
              "--lead-time-days", "3", ok=False)  # fmt: skip
    assert bad == "error: unknown supplier 'NOBODY'\n"
    assert "nothing to change" in run(
        url, "product", "supplier", "update", "FILTER-10", "CLEARFLOW", ok=False
    )

    run(url, "product", "supplier", "update", "FILTER-10", "CLEARFLOW", "--preferred")
    assert "CLEARFLOW" in run(url, "product", "show", "FILTER-10")
    assert run(url, "product", "supplier", "remove", "FILTER-10", "FILTERCO") == (
        "removed FILTERCO from FILTER-10\n"
    )
    shown = run(url, "supplier", "show", "CLEARFLOW")
    assert "SKUs: FILTER-10" in shown
    assert " 6 months: - on time, late - d, - filled; 0 lines, 0 units" in shown
    assert all(len(line) <= 80 for line in shown.splitlines())
