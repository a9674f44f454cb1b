"""`backorder kpi`: the KPIs of a period, overall or by SKU, channel, supplier, tier or
location."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from backorder.cli.common import JsonFlag, emit, figure, ident, out, parse_date, state_of, table
from backorder.domain.kpis import currencies_of, shown
from backorder.report.terminal import kpi_table
from backorder.services.kpis import DEFAULT_GROUPS, MAX_GROUPS, MAX_OFFSET, Dimension, Page, kpis

# Per group, with short headings so the table fits a terminal.
COLUMNS = {
    "backorder_rate": "backorder rate",
    "conversion_rate": "conversion",
    "average_backorder_duration": "duration",
    "fill_time": "fill time",
    "cancel_rate": "cancels",
    "promise_accuracy": "promises",
    "money_on_backorder": "waiting",
    "revenue_at_risk": "at risk",
}
# By location, the KPIs a location has (store/kpi_locations.py): of what it sourced at intake,
# the waits it filled, the orders it shipped, and its shipments' accuracy.
LOCATION_COLUMNS = {
    "backorder_rate": "backorder rate",
    "average_backorder_duration": "duration",
    "fill_time": "fill time",
    "fulfillment_accuracy": "accuracy",
}


def kpi(
    ctx: typer.Context,
    first: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="DATE", help="First day, YYYY-MM-DD (default: 29 days ago)."
        ),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Last day (default: today).")
    ] = None,
    by: Annotated[
        Dimension | None,
        typer.Option("--by", help="Also per sku, channel, supplier, tier or location."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(min=1, max=MAX_GROUPS, help="With --by: groups to list, most waiting first."),
    ] = DEFAULT_GROUPS,
    offset: Annotated[int, typer.Option(min=0, max=MAX_OFFSET, help="Groups to skip.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """The KPIs of a period against their targets: backorder rate, conversion, duration, fill
    time, cancellations, fulfilment and promise accuracy, money waiting and at risk, aging."""
    app = state_of(ctx).app()
    report = kpis(app, parse_date(first), parse_date(last), by, Page(limit, offset))
    if as_json:
        emit(report)
        return
    out.print(f"KPIs {report['from']} to {report['to']} (waiting money and aging: now)")
    out.print(kpi_table(report["kpis"]))
    if by is not None:
        out.print(_groups(by, report["groups"], currencies_of(report["kpis"])))
        shown = len(report["groups"])
        if shown < report["group_count"]:
            first_shown = offset + 1 if shown else offset
            out.print(
                f"groups {first_shown} to {offset + shown} of {report['group_count']} "
                "(--limit, --offset)",
                markup=False,
            )


# The columns a narrow terminal keeps first.
PRIORITY = (
    "backorder_rate",
    "conversion_rate",
    "money_on_backorder",
    "revenue_at_risk",
    "average_backorder_duration",
    "cancel_rate",
    "promise_accuracy",
    "fill_time",
)


def _groups(by: Dimension, groups: list[dict[str, Any]], currencies: tuple[str, ...]) -> Table:
    """One row per group. Its key is never cut: the columns that do not fit the terminal are
    left out, least telling first, and named under the table (`--json` has them all)."""
    columns = LOCATION_COLUMNS if by is Dimension.LOCATION else COLUMNS
    keys = [group["key"] or "(none)" for group in groups]
    cells = {
        name: [shown(name, group["kpis"][name], currencies) for group in groups] for name in columns
    }

    def width(name: str) -> int:
        return max([len(columns[name]), *map(len, cells[name])]) + 3

    kept = list(LOCATION_COLUMNS if by is Dimension.LOCATION else PRIORITY)
    room = out.width - max([len(by.value), *map(len, keys)]) - 2
    while len(kept) > 1 and sum(map(width, kept)) > room:
        kept.pop()
    shown_names = [name for name in columns if name in kept]
    grid = table(ident(by.value, keys), *(figure(columns[name]) for name in shown_names))
    for n, key in enumerate(keys):
        grid.add_row(key, *(cells[name][n] for name in shown_names))
    left_out = [columns[name] for name in columns if name not in kept]
    if left_out:
        grid.caption = f"left out to fit the terminal: {', '.join(left_out)} (see --json)"
        grid.caption_justify = "left"
    elif by is Dimension.LOCATION:
        grid.caption = (
            "of the lines each location sourced at intake; the waits it filled; the orders "
            "it shipped; its shipments"
        )
        grid.caption_justify = "left"
    return grid
