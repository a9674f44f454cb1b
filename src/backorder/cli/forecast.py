"""`backorder forecast …`: demand forecasts. `backorder forecast SKU...` shows forecasts
(the default command, `show`); `forecast run` recomputes them; `forecast evaluate` scores
the forecaster on a wide file of series anyone can check."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from typer._click import Command, Context

from backorder.cli.common import BackorderGroup, figure, out, table
from backorder.foresight import require


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
