"""Shared by every command: the state, output in text or JSON, one-line errors."""

from __future__ import annotations

import inspect
import json
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Column, Table
from sqlalchemy.exc import SQLAlchemyError

from backorder.canonical import exact_money
from backorder.config import Settings
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services.context import Backorder
from backorder.words import count

out = Console()
err = Console(stderr=True)


class BackorderGroup(typer.core.TyperGroup):
    """Turns refusals and database failures into one line on stderr and exit status 1, and
    lists each command by the first paragraph of its help as one flowing sentence (a
    docstring's line breaks are not the terminal's)."""

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.short_help is None and command.help:
            first = inspect.cleandoc(command.help).split("\n\n")[0]
            command.short_help = " ".join(first.split())
        return command

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BackorderError as error:
            fail(str(error))
        except SQLAlchemyError as error:  # unreachable server, bad URL, refused statement
            cause = getattr(error, "orig", None) or error
            lines = str(cause).strip().splitlines() or [type(cause).__name__]
            fail(f"database error: {lines[0]}")
        except OSError as error:
            fail(str(error))
        except ValidationError as error:  # settings from the environment
            problems = "; ".join(
                f"BACKORDER_{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                if e["loc"]
                else e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            fail(f"invalid setting: {problems}")


def table(*columns: str | Column, title: str | None = None) -> Table:
    """A table as every command prints it: a rule under the header and no side borders, so
    more of an 80-column terminal is left for what the rows say."""
    return Table(
        *columns,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=title,
        title_justify="left",
        title_style="bold",
    )


def ident(header: str, values: Iterable[str], justify: JustifyMethod = "left") -> Column:
    """A column of identifiers (order references, SKUs, purchase orders): as wide as the
    longest, so none is ever cut; folded rather than cut on a terminal too narrow for it."""
    width = max((len(value) for value in values), default=0)
    return Column(header, min_width=max(len(header), width), overflow="fold", justify=justify)


def figure(header: str) -> Column:
    """A column of numbers: right-aligned, never wrapped."""
    return Column(header, justify="right", no_wrap=True)


def day_column(header: str, width: int = 10) -> Column:
    """A column of dates (10 characters) or moments (16): kept whole."""
    return Column(header, min_width=width, overflow="fold")


def moment(iso: str | None) -> str:
    """A UTC moment as the CLI shows it: 2026-11-12 18:05."""
    return iso[:16].replace("T", " ") if iso else ""


def words(value: Any, none: str = "none") -> str:
    """A setting as people read it: yes/no, not True/False; `none` rather than None."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fail(message: str) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@dataclass
class State:
    settings: Settings
    url: str
    opened: Backorder | None = None

    def app(self, wait: bool = False) -> Backorder:
        """The application on the database; `wait`: a long-running command (serve, worker,
        intake drain --follow) waits BACKORDER_DATABASE_WAIT_SECONDS for a database that is
        not there yet, where a one-shot command says so at once."""
        if self.opened is None:
            patience = self.settings.database_wait_seconds if wait else 0
            self.opened = Backorder.open(self.settings, self.url, wait_seconds=patience)
        return self.opened


@contextmanager
def stopped_by_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs (a long-running command stops
    at its next step); the handlers there before come back after it."""
    stop = threading.Event()
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in before:
        signal.signal(signum, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def state_of(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)
    return state


def emit(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=jsonable) + "\n")


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def money(text: str, option: str = "--price") -> Decimal:
    """An amount as the API takes it (a decimal string, never a float or an exponent),
    refused with the API's words."""
    try:
        return exact_money(text)
    except ValueError as error:
        raise InvalidRequest(f"{option} {text!r}: {error}") from None


def parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{text!r} is not a date (YYYY-MM-DD)") from None


def print_change(change: Any, as_json: bool) -> None:
    if as_json:
        emit(asdict(change))
        return
    out.print(
        f"{change.sku}: on hand {change.on_hand}, allocated {change.allocated}, available "
        f"{change.available}, backordered {change.backordered}; served "
        f"{count(change.lines_served, 'line')} with {count(change.units_allocated, 'unit')}"
        + (
            f", took back {count(change.units_taken_back, 'unit')}"
            if change.units_taken_back
            else ""
        ),
        markup=False,
    )
