"""`backorder po redate` past the promised dates, then `backorder replenish options` and
`backorder task show` as a user reads them, at 80 columns (the real clock: dates are
relative to today)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backorder.cli import app as cli
from backorder.domain.replenishment import short_day

NARROW = {"COLUMNS": "80"}
SKU = "FILTER-10"


def run(url: str, *args: str, ok: bool = True, stdin: str | None = None) -> str:
    done = CliRunner(env=NARROW).invoke(cli, ["--db", url, *args], input=stdin)
    assert done.exit_code == (0 if ok else 1), done.output
    return done.output


def order(n: int, units: int) -> str:
    return json.dumps(
        {
            "channel": "shop",
            "external_id": f"{n}",
            "placed_at": datetime.now(UTC).isoformat(),
            "customer": {"id": f"c-{n}", "name": f"C {n}", "email": f"c{n}@example.com"},
            "lines": [{"sku": SKU, "quantity": units, "unit_price": "9.99"}],
        }
    )


@pytest.fixture
def url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A migrated SQLite file (a copy: migrating one costs seconds)."""
    shutil.copyfile(migrated_sqlite, tmp_path / "backorder.db")
    return f"sqlite:///{tmp_path / 'backorder.db'}"


def test_a_slip_and_its_options_from_the_command_line(url: str) -> None:
    today = datetime.now(UTC).date()
    soon, later = today + timedelta(days=5), today + timedelta(days=19)
    run(url, "supplier", "add", "FILTERCO", "--name", "FilterCo", "--lead-time-days", "30")
    run(url, "supplier", "add", "CLEARFLOW", "--name", "ClearFlow", "--lead-time-days", "4")
    run(url, "product", "add", SKU, "--name", "Filter", "--price", "9.99",
        "--supplier", "FILTERCO")  # fmt: skip
    run(url, "product", "supplier", "update", SKU, "FILTERCO", "--cost", "2.40")
    run(url, "product", "supplier", "add", SKU, "CLEARFLOW", "--cost", "2.60",
        "--lead-time-days", "4", "--moq", "100", "--pack", "20")  # fmt: skip
    run(url, "po", "add", "PO-7", "--supplier", "FILTERCO", "--line", f"{SKU}:120:{soon}")
    run(url, "order", "place", "-", stdin="\n".join(order(n, 30) for n in (1, 2, 3)))
    run(url, "po", "redate", "PO-7", "--line", SKU, "--expected", later.isoformat())

    said = run(url, "replenish", "options", SKU)
    assert all(len(line) <= 80 for line in said.splitlines()), said

    def day(value: date) -> str:  # as the plan writes a date: the year only when not this one
        return short_day(value) + ("" if value.year == today.year else f" {value.year}")

    arrives = today + timedelta(days=4)
    first, expedite, clearflow = said.splitlines()[:3]
    assert first == f"{SKU} (PO-7): 3 orders miss their dates, 90 units short from {day(soon)}"
    assert expedite == f"- Expedite PO-7 to arrive by {day(soon)}: keeps 3 orders' dates."
    assert clearflow.startswith(f"- ClearFlow: 100 units by {day(arrives)} at USD 260.00 (+8 %)")
    assert f"No action: 3 orders move from {day(soon)} to {day(later)}." in said
    rows = [line.split() for line in said.splitlines() if line.strip().startswith("shop:")]
    assert rows[0] == ["shop:1", "30", *" ".join(map(day, (soon, later, soon, arrives))).split()]
    view = json.loads(run(url, "replenish", "options", SKU, "--json"))
    assert (view["shortfall"], view["recommendation"]) == (90, 1)
    assert run(url, "replenish", "options", "NOPE", ok=False) == "error: unknown SKU 'NOPE'\n"


def test_task_show_of_an_unknown_task_is_one_line(url: str) -> None:
    assert run(url, "task", "show", "9", ok=False) == "error: unknown task 9\n"
