"""Shared by every command: the state, output in text or JSON, one-line errors."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from backorder.canonical import exact_money
from backorder.config import Settings
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services.context import Backorder

out = Console()
err = Console(stderr=True)


class BackorderGroup(typer.core.TyperGroup):
    """Turns refusals and database failures into one line on stderr and exit status 1."""

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


def fail(message: str) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@dataclass
class State:
    settings: Settings
    url: str
    opened: Backorder | None = None

    def app(self) -> Backorder:
        if self.opened is None:
            self.opened = Backorder.open(self.settings, self.url)
        return self.opened


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
        f"{change.available}, backordered {change.backordered}; served {change.lines_served} "
        f"line(s) with {change.units_allocated} unit(s)"
        + (f", took back {change.units_taken_back}" if change.units_taken_back else ""),
        markup=False,
    )
