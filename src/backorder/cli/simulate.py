"""`backorder simulate`: history replayed under other policies in an isolated copy, the KPIs
side by side with the actual ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from backorder.cli.common import JsonFlag, emit, figure, out, parse_date, state_of, table
from backorder.domain.errors import InvalidRequest
from backorder.domain.simulation import ROWS, Policy, policy_from_toml, shown
from backorder.services.simulation import Simulation, simulate


def read_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path}: not UTF-8 text") from None
    return policy_from_toml(path.stem, text)


def simulate_command(
    ctx: typer.Context,
    first: Annotated[
        str, typer.Option("--from", metavar="DATE", help="First day replayed, YYYY-MM-DD.")
    ],
    last: Annotated[
        str, typer.Option("--to", metavar="DATE", help="The first day not replayed (exclusive).")
    ],
    policy: Annotated[
        list[Path],
        typer.Option("--policy", metavar="FILE.toml", help="A policy file; repeat for more."),
    ],
    seed: Annotated[int, typer.Option(help="Seed of the random draws (supplier lateness).")] = 0,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, max=16, help="Policies replayed at once (default: one per CPU)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay the recorded orders, receipts, cancellations and shipments of [--from, --to)
    under each policy in a throwaway copy (the database is only read), and print the KPIs
    beside the actual ones."""
    start, end = parse_date(first), parse_date(last)
    assert start is not None and end is not None
    policies = [read_policy(path) for path in policy]
    app = state_of(ctx).app()
    result = simulate(app, (start, end), policies, seed, jobs or os.cpu_count() or 1)
    if as_json:
        emit(result.as_json())
        return
    out.print(
        f"Simulated {result.start} to {result.end} (exclusive), seed {result.seed}; "
        f"money in {app.settings.currency}",
        markup=False,
    )
    out.print(simulation_table(result))
    for name, skipped in result.skipped.items():
        if skipped:
            what = ", ".join(f"{kind} {n}" for kind, n in skipped.items())
            out.print(f"{name}: inputs not applicable under it: {what}", markup=False)


def simulation_table(result: Simulation) -> Table:
    """KPI rows; columns: actual, then each policy."""
    grid = table("KPI", *(figure(column.name) for column in result.columns))
    for name, label in ROWS.items():
        grid.add_row(label, *(shown(name, c.values.get(name)) for c in result.columns))
    grid.add_row(
        "Seconds", "", *(f"{c.seconds:.1f}" for c in result.columns[1:] if c.seconds is not None)
    )
    return grid
