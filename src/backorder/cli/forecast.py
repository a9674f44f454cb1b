"""`backorder forecast …`: demand forecasts. `backorder forecast SKU...` shows forecasts
(the default command, `show`); `forecast run` recomputes them; `forecast evaluate` scores
the forecaster on a wide file of series anyone can check."""

from __future__ import annotations

import typer
from typer._click import Command, Context

from backorder.cli.common import BackorderGroup


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
