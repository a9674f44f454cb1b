"""`backorder replenish options SKU`: the ways out when a SKU's supply has slipped past the
dates its customers were given (in the `replenish` group of cli/replenish.py)."""

from __future__ import annotations

import textwrap
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from backorder.cli.common import JsonFlag, emit, figure, ident, out, state_of, table
from backorder.domain.replenishment import short_day
from backorder.services.self_healing import slip_options
from backorder.words import count

SkuArg = Annotated[str, typer.Argument(metavar="SKU")]
MAX_COLUMNS = 3  # ways out shown side by side in the table of dates (all are in words)


def bullet(text: str, indent: str = "") -> None:
    """A sentence as a list item, its wrapped lines hanging under its first word."""
    width = max(40, out.width - 1)
    lines = textwrap.wrap(
        text, width, initial_indent=indent + "- ", subsequent_indent=indent + "  "
    )
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _day(iso: str | None) -> str:
    return short_day(date.fromisoformat(iso)) if iso else "-"


def _header(option: dict[str, Any]) -> str:
    if option["kind"] == "expedite":
        return "expedite"
    return str(option["source"] if option["kind"] == "transfer" else option["name"])


def dates_table(view: dict[str, Any]) -> Table:
    """Per order: the date promised, with no action, and with each way out."""
    ways = view["options"][:MAX_COLUMNS]
    grid = table(
        ident("order", [o["order"] for o in view["orders"]]),
        figure("units"),
        Column("promised", no_wrap=True),
        Column("no action", no_wrap=True),
        *(Column(_header(w)[:12], no_wrap=True) for w in ways),
    )
    for n, missed in enumerate(view["orders"]):
        grid.add_row(
            missed["order"],
            str(missed["units"]),
            _day(missed["promised"]),
            _day(missed["no_action"]),
            *(_day(w["orders"][n]["with_option"]) for w in ways),
        )
    return grid


def print_options(view: dict[str, Any]) -> None:
    """A slip's plan for people: what misses, each way out in words, the dates per order."""
    sku, orders = view["sku"], view["orders"]
    if not orders:
        out.print(f"{sku}: its supply keeps every promised date", markup=False)
        return
    po = f" ({view['purchase_order']})" if view["purchase_order"] else ""
    out.print(
        f"{sku}{po}: {count(len({o['order'] for o in orders}), 'order')} miss their dates, "
        f"{count(view['shortfall'], 'unit')} short from {_day(view['need_by'])}",
        markup=False,
    )
    for sentence in view["sentences"]:
        bullet(sentence)
    if view["recommendation"] is not None:
        out.print(f"proposed: recommendation {view['recommendation']}", markup=False)
    out.print(dates_table(view))


def replenish_options(ctx: typer.Context, sku: SkuArg, as_json: JsonFlag = False) -> None:
    """When a SKU's supply has slipped: the orders that now miss their promised dates, and
    what expediting, another supplier or a transfer does to each one's date. Computed now;
    stores nothing."""
    view = slip_options(state_of(ctx).app(), sku)
    if as_json:
        emit(view)
    else:
        print_options(view)
