"""`backorder forecast …`: demand forecasts. `backorder forecast SKU...` shows forecasts
(the default command, `show`); `forecast run` recomputes them; `forecast evaluate` scores
the forecaster on a wide file of series anyone can check."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Column
from typer._click import Command, Context

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    day_column,
    emit,
    figure,
    ident,
    moment,
    out,
    state_of,
    table,
)
from backorder.foresight import require
from backorder.services.forecast_views import forecast_list, forecast_view
from backorder.services.forecasts import MAX_HORIZON, recompute
from backorder.words import count


class ForecastGroup(BackorderGroup):
    """A group whose first argument, when it names no command, is a SKU for `show`."""

    default_command = "show"

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


forecast_app = typer.Typer(
    cls=ForecastGroup,
    help="Demand forecasts: per SKU and week, with intervals, the method and its error.",
)


@forecast_app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(help="Wide CSV: series_id, then units per period.")],
    horizon: Annotated[
        int, typer.Option(min=1, help="Periods at the end of each series to forecast.")
    ] = 12,
    file_format: Annotated[
        Literal["wide"], typer.Option("--format", help="Layout of FILE (wide only).")
    ] = "wide",
    season_length: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Periods per season (MASE's lag and the models' season); default: 12 "
            "for YYYY-MM columns, 52 for YYYY-Www, else 1.",
        ),
    ] = None,
    point: Annotated[
        Literal["median", "mean"],
        typer.Option(help="Forecast to write: median (least absolute error) or mean."),
    ] = "median",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the forecasts here (CSV).")
    ] = None,
) -> None:
    """Forecast the last HORIZON periods of every series from the rest and score them
    against what happened (MASE, the carparts protocol); with --out, write the forecasts:
    series_id and one column per forecast period, to score them yourself."""
    require("forecast evaluate")
    from backorder.foresight import evaluate as scoring  # numpy and statsforecast: lazily

    wide = scoring.read_wide(file)
    train, test = scoring.split(wide.units, horizon)
    season = season_length or scoring.season_of(wide.periods)
    started = time.perf_counter()
    predicted = scoring.forecast_rows(train, horizon, point, season)
    seconds = time.perf_counter() - started
    scores = scoring.Scores(scoring.mase(train, test, predicted, season))
    if out_file is not None:
        scoring.write_wide(out_file, wide.ids, wide.periods[-horizon:], predicted)
    summary = table("", figure(""))
    summary.show_header = False
    summary.add_row("series", str(len(wide.ids)))
    summary.add_row("forecast", f"{horizon} periods each ({point}), in {seconds:.1f} s")
    summary.add_row("scored", f"{scores.scored} (a zero scale has no MASE)")
    seasons = f"{season} periods" if season > 1 else "none"
    summary.add_row("season", f"{seasons} (MASE's scale: lag {season})")
    summary.add_row("MASE mean", f"{scores.mean:.3f}")
    summary.add_row("MASE median", f"{scores.median:.3f}")
    out.print(summary)
    if out_file is not None:
        out.print(f"Forecasts written to {out_file}", overflow="fold")


@forecast_app.command("show")
def show(
    ctx: typer.Context,
    skus: Annotated[list[str] | None, typer.Argument(help="SKUs (none: a line per SKU).")] = None,
    horizon: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_HORIZON, metavar="WEEKS", help="Weeks ahead to show."),
    ] = None,
    location: Annotated[
        str | None, typer.Option("--location", metavar="CODE", help="At one location.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Each SKU's forecast per week, with its 80 % and 95 % intervals.

    The method its demand class chose (ADI/CV²) and its back-tested error are shown with it.
    The stored forecast (the worker's, or `forecast run`'s); computed now, not stored, when
    there is none or it reaches less far. Without SKUs: a line per stored forecast."""
    app = state_of(ctx).app()
    if not skus:
        listed = forecast_list(app, location)
        if as_json:
            emit({"forecasts": listed})
        else:
            out.print(_listing(listed, location))
        return
    views = [forecast_view(app, sku, location, horizon) for sku in skus]
    if as_json:
        emit({"forecasts": views})
        return
    for n, view in enumerate(views):
        if n:
            out.print()
        _print(view)


@forecast_app.command("run")
def run(
    ctx: typer.Context,
    skus: Annotated[list[str] | None, typer.Argument(help="SKUs (none: every one).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute and store the forecasts now (the worker does it every night)."""
    done = recompute(state_of(ctx).app(), skus or None)
    if as_json:
        emit(done)
        return
    out.print(
        f"forecast {count(done['skus'], 'SKU')} ({count(done['forecasts'], 'forecast')} "
        f"stored); {count(done['skipped'], 'SKU')} without demand yet"
        + (f"; failed on {count(done['failed'], 'SKU')} (see the log)" if done["failed"] else ""),
        markup=False,
    )


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(view: dict[str, Any]) -> None:
    where = f" at {view['location']}" if view["location"] else ""
    out.print(
        f"[bold]{escape(view['sku'])}{escape(where)}[/]: {view['method']} for "
        f"{view['demand_class']} demand (ADI {_number(view['adi'])}, CV² {_number(view['cv2'])})"
    )
    out.print(
        f"learnt from {count(view['history_weeks'], 'week')} (mean "
        f"{_number(view['mean_demand'])} a week); back-tested MAE "
        f"{_number(view['backtest_mae'])}, MASE {_number(view['backtest_mase'])}",
        markup=False,
    )
    out.print(
        f"stored {moment(view['computed_at'])}" if view["stored"] else "computed now, not stored",
        markup=False,
    )
    grid = table(
        day_column("week", 8),
        day_column("from"),
        figure("point"),
        figure("80 % low"),
        figure("high"),
        figure("95 % low"),
        figure("high"),
    )
    for p in view["periods"]:
        grid.add_row(
            p["week"],
            p["start"],
            *(_number(p[name], 1) for name in ("point", "lo80", "hi80", "lo95", "hi95")),
        )
    out.print(grid)


def _listing(listed: list[dict[str, Any]], location: str | None) -> Any:
    grid = table(
        ident("sku", [f["sku"] for f in listed]),
        Column("method"),
        Column("class"),
        figure("MASE"),
        figure("next 4 wk"),
        day_column("computed", 16),
        title=f"Stored forecasts{' at ' + location if location else ''}",
    )
    for f in listed:
        grid.add_row(
            f["sku"],
            f["method"],
            f["demand_class"],
            _number(f["backtest_mase"]),
            _number(f["next_4_weeks"], 1),
            moment(f["computed_at"]),
        )
    if not listed:
        grid.caption = "none yet: backorder forecast run"
        grid.caption_justify = "left"
    return grid
