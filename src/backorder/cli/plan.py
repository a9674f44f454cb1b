"""`backorder shortages` (the SKUs projected to stock out within some weeks, with the last day
to order) and `backorder projection SKU` (one SKU's projected stock by week, its safety
stock and reorder point with every input that made them)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backorder.cli.common import JsonFlag, day_column, emit, figure, ident, out, state_of, table
from backorder.services.foresight_plan import MAX_WEEKS, refresh
from backorder.services.shortages import projection, shortages
from backorder.words import count

WeeksOption = Annotated[
    int | None,
    typer.Option("--weeks", min=1, max=MAX_WEEKS, help="Weeks ahead (default: the setting)."),
]


def shortages_command(
    ctx: typer.Context,
    weeks: WeeksOption = None,
    refresh_first: Annotated[
        bool,
        typer.Option(
            "--refresh", help="Recompute safety stock and projections first (the worker does)."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """SKUs projected to stock out within --weeks: the week, units short, the last day to
    order that prevents it, safety stock, reorder point and backorder risk where scored."""
    app = state_of(ctx).app()
    if refresh_first:
        refresh(app)
    view = shortages(app, weeks)
    if as_json:
        emit(view)
        return
    rows = view["shortages"]
    if view["planned_at"] is None:
        out.print(
            "no plan yet: forecasts are needed (backorder forecast run), then "
            "backorder shortages --refresh or the worker",
            markup=False,
        )
        return
    if not rows:
        out.print(f"no stockout projected within {count(view['weeks'], 'week')}", markup=False)
        return
    grid = table(
        ident("SKU", [r["sku"] for r in rows]),
        day_column("week"),
        figure("short"),
        day_column("order by"),
        figure("safety"),
        figure("reorder"),
        figure("risk"),
        title=f"Projected to stock out within {count(view['weeks'], 'week')}",
    )
    for r in rows:
        grid.add_row(
            r["sku"],
            r["week"],
            str(r["units_short"]),
            f"[bold red]{r['order_by']}[/]" if r["late"] else r["order_by"],
            _maybe(r["safety_stock"]),
            _maybe(r["reorder_point"]),
            "" if r["risk"] is None else f"{r['risk']:.0%}",
        )
    out.print(grid)
    out.print(
        f"planned {view['planned_at'][:16].replace('T', ' ')} UTC; red: the last day to "
        "order is past",
        markup=False,
        style="dim",
    )


def _maybe(value: int | None) -> str:
    return "" if value is None else str(value)


def projection_command(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(metavar="SKU")],
    weeks: WeeksOption = None,
    location: Annotated[
        str | None, typer.Option(help="A location's projection (code); default: the network.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A SKU's projected stock by week, its safety stock and reorder point with their inputs
    (z, lead time and its spread, demand and its forecast-error spread, the method), and the
    projected stockout with the last day to order."""
    view = projection(state_of(ctx).app(), sku, location, weeks or 12)
    if as_json:
        emit(view)
        return
    stock = view["stock"]
    where = f" at {location}" if location else ""
    out.print(
        f"{sku}{where}: on hand {stock['on_hand']}, allocated {stock['allocated']}, waiting "
        f"{stock['waiting']}: {stock['start']} free to plan with",
        markup=False,
    )
    if view["forecast"] is None:
        out.print("no forecast yet: backorder forecast run", markup=False)
        return
    _print_safety(view["safety_stock"], view["forecast"])
    _print_weeks(view)


def _print_safety(s: dict[str, Any], forecast: dict[str, Any]) -> None:
    source = {
        "history": f"measured on {count(s['lead_time_lines'], 'received line')}",
        "product": "the product's stated lead time",
        "supplier": "the supplier's stated lead time",
        "assumed": "assumed: no lead time stated",
    }[s["lead_time_source"]]
    method = {
        "normal": "z x sqrt(L sigma_d^2 + d^2 sigma_L^2)",
        "quantile": "count quantile of lead-time demand - its mean",
        "none": "no demand",
    }[s["method"]]
    out.print(
        f"safety stock {s['safety_stock']}, reorder point {s['reorder_point']} "
        f"(class {s['abc_class']}, service level {s['service_level']:.0%}, z {s['z']:.2f}; "
        f"{method})",
        markup=False,
    )
    out.print(
        f"  lead time {s['lead_time_days']:g} d, spread {s['lead_time_sd_days']:g} d ({source}); "
        f"demand {s['mean_demand']:g}/week, forecast-error spread {s['demand_sd']:g}/week "
        f"({forecast['demand_class']}, {forecast['method']})",
        markup=False,
    )


def _print_weeks(view: dict[str, Any]) -> None:
    safety = view["safety_stock"]["safety_stock"]
    grid = table(
        day_column("week"),
        figure("demand"),
        figure("80 % band"),
        figure("inbound"),
        figure("projected"),
    )
    for w in view["weeks"]:
        level = w["available"]
        shown = f"{level:.1f}"
        if level < 0:
            shown = f"[bold red]{shown}[/]"
        elif level < safety:
            shown = f"[yellow]{shown}[/]"
        grid.add_row(
            w["week"],
            f"{w['demand']:.1f}",
            f"{w['lo80']:.0f}-{w['hi80']:.0f}",
            str(w["inbound"] or ""),
            shown,
        )
    out.print(grid)
    stockout = view["stockout"]
    if stockout is None:
        out.print(f"no stockout projected in {count(len(view['weeks']), 'week')}", markup=False)
        return
    late = " - already past: expedite" if stockout["late"] else ""
    out.print(
        f"projected stockout in the week of {stockout['week']}: {stockout['units_short']} "
        f"short; supply must arrive by {stockout['arrive_by']}, order by "
        f"{stockout['order_by']}{late}",
        markup=False,
    )
