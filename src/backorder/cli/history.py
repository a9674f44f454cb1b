"""`backorder history …`: demand per SKU and period, and history imported for a new install.
Pure SQL: works without the forecast extra."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    day_column,
    emit,
    figure,
    out,
    state_of,
    table,
)
from backorder.domain.errors import InvalidRequest
from backorder.domain.periods import PeriodKind
from backorder.services.demand import MAX_LAST, demand_view, import_history
from backorder.words import count

history_app = typer.Typer(
    cls=BackorderGroup,
    no_args_is_help=True,
    help="Demand per SKU and period: from the orders held, and imported history.",
)


@history_app.command("import")
def history_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: sku,period,units[,location].")],
    as_json: JsonFlag = False,
) -> None:
    """Import demand history, all or nothing.

    A period is a day (2026-11-03), an ISO week (2026-W45) or a month (2026-11), one kind
    per SKU (and location); importing a period again replaces it. History counts only
    before a SKU's first order."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{file}: not UTF-8 text") from None
    done = import_history(state_of(ctx).app(), text)
    if as_json:
        emit(done)
        return
    out.print(
        f"imported {count(done['rows'], 'period')} of {count(done['skus'], 'SKU')} "
        f"({count(done['units'], 'unit')}, {' and '.join(done['kinds'])} periods from "
        f"{done['first']} to {done['last']}); replaced {done['replaced']} imported before",
        markup=False,
    )


@history_app.command("show")
def history_show(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    by: Annotated[str, typer.Option("--by", help="Periods: day, week or month.")] = "week",
    location: Annotated[
        str | None, typer.Option("--location", metavar="CODE", help="At one location.")
    ] = None,
    last: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_LAST,
            help="Periods to show, up to now (default 90 days, 104 weeks, 36 months).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A SKU's demand per period, the network's or a location's.

    Units ordered (what shipped, waits or was cancelled too) and imported history."""
    if by not in ("day", "week", "month"):
        raise InvalidRequest(f"--by {by!r}: day, week or month")
    kind: PeriodKind = by  # type: ignore[assignment]
    view = demand_view(state_of(ctx).app(), sku, kind, location, last)
    if as_json:
        emit(view)
        return
    where = f" at {location}" if location else ""
    out.print(f"{sku}{where}: demand by {by}, {view['total']:g} units", markup=False)
    out.print(_periods(view["periods"]))
    out.print(
        f"{view['current']} is still under way; first order: {view['first_order'] or 'none yet'}",
        markup=False,
    )


def _periods(periods: list[dict[str, Any]]) -> Any:
    grid = table(day_column("period"), figure("ordered"), figure("imported"), figure("demand"))
    shown = _from_first(periods)
    for p in shown:
        grid.add_row(p["period"], str(p["ordered"]), f"{p['imported']:g}", f"{p['units']:g}")
    if len(shown) < len(periods):
        grid.caption = (
            f"{count(len(periods) - len(shown), 'earlier period')} without demand left out"
        )
        grid.caption_justify = "left"
    return grid


def _from_first(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The periods from the first with demand (leading empty periods say nothing)."""
    for n, p in enumerate(periods):
        if p["units"]:
            return periods[n:]
    return periods[-1:]
