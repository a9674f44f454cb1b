"""`backorder report weekly`: the weekly report as HTML, CSV, JSON or PDF; `backorder report
roll-up`: the KPI facts of closed days rolled up now rather than by the worker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from backorder.cli.common import BackorderGroup, JsonFlag, emit, out, state_of
from backorder.domain.errors import InvalidRequest
from backorder.report.render import FORMATS, Format, render
from backorder.services.report import weekly_report
from backorder.services.rollup import pending, roll_up
from backorder.words import count

report_app = typer.Typer(cls=BackorderGroup, no_args_is_help=True, help="Reports.")


@report_app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option(
            "--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W47 (default: last week)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="html|csv|json|pdf", help="Default: html.")
    ] = "html",
    to: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """The weekly report: new and resolved backorders per day, aging, revenue at risk, the
    week's KPIs against their targets, the SKUs and suppliers with the most money waiting,
    open tasks and the week's incidents. HTML has its charts inside, so the file stands
    alone, prints, and reads in a mail program."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    chosen: Format = fmt
    if chosen == "pdf" and to is None and sys.stdout.isatty():
        raise InvalidRequest("a PDF goes to a file: add --out FILE")
    content = render(weekly_report(state_of(ctx).app(), week), chosen)
    if to is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    to.write_bytes(content)
    out.print(f"wrote {to} ({len(content):,} bytes)", markup=False)


@report_app.command("roll-up")
def roll_up_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Roll up the KPI facts of every closed day not rolled up yet (or changed since), as the
    worker does a few days a pass: KPI calls over months then sum a few rows a day instead of
    reading every line. It changes no figure, only how fast the figures come."""
    app = state_of(ctx).app()
    waiting = len(pending(app, app.now()))
    done = 0
    while done < waiting and (step := roll_up(app, days=31, seconds=600)):
        done += step
    if as_json:
        emit({"rolled_up": done})
        return
    out.print(f"rolled up {count(done, 'day')}" if done else "every closed day is rolled up")
