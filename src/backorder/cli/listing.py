"""`order list` and `product list`: the same filtered, paged lists as GET /api/v1/orders and
/products (services/search.py), as tables that fit the terminal. An identifier (an order's
reference, a SKU) is never cut: it folds onto a second line, and the less needed columns go
first when the terminal is narrow."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from backorder.cli.common import JsonFlag, emit, out, parse_date, state_of
from backorder.services.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    OrderFilter,
    Page,
    list_orders,
    list_products,
)
from backorder.words import count

WIDE = 100  # below this many columns, a table drops what matters least
Limit = Annotated[
    int,
    typer.Option("--limit", min=1, max=MAX_LIMIT, help=f"At most this many (<= {MAX_LIMIT})."),
]
Cursor = Annotated[
    str | None, typer.Option("--cursor", help="Where the page before ended (it prints it).")
]


def _width() -> int:
    """The terminal's width now (COLUMNS when set), not when the console was made."""
    return shutil.get_terminal_size((80, 24)).columns


def _table(headers: dict[str, dict[str, Any]], rows: list[dict[str, str]]) -> Table:
    table = Table(show_edge=False, pad_edge=False, expand=False)
    for name, style in headers.items():
        table.add_column(name, **style)
    for row in rows:
        table.add_row(*(row[name] for name in headers))
    return table


# An identifier folds (breaks anywhere) rather than being cut with an ellipsis.
ID = {"overflow": "fold", "no_wrap": False}
NUM = {"justify": "right", "no_wrap": True}
TEXT = {"overflow": "fold"}


def _again(command: str, options: dict[str, object]) -> str:
    """The command that was run, with the options it was given (the next page keeps them)."""
    given = [f"{name} {shlex.quote(str(value))}" for name, value in options.items() if value]
    return " ".join([command, *given])


def _more(page: Page, noun: str, command: str) -> None:
    shown = count(len(page.items), noun)
    if page.next_cursor is None:
        out.print(shown, markup=False, highlight=False)
    else:
        out.print(
            f"{shown}; next page: {command} --cursor {page.next_cursor}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def order_list(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="open, backordered, allocated, shipped or cancelled."),
    ] = None,
    sku: Annotated[str | None, typer.Option(help="With a line of this SKU.")] = None,
    customer: Annotated[str | None, typer.Option(help="The customer's id or e-mail.")] = None,
    channel: Annotated[str | None, typer.Option(help="From this channel.")] = None,
    since: Annotated[str | None, typer.Option(help="Placed on or after (YYYY-MM-DD).")] = None,
    q: Annotated[
        str | None,
        typer.Option("--search", "-q", help="An order number, e-mail, SKU or product name."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    as_json: JsonFlag = False,
) -> None:
    """Orders, newest first, filtered and a page at a time."""
    chosen = OrderFilter(status, sku, customer, channel, parse_date(since), q)
    page = list_orders(state_of(ctx).app(), chosen, limit, cursor)
    if as_json:
        emit(asdict(page))
        return
    wide = _width() >= WIDE
    headers: dict[str, dict[str, Any]] = {"order": ID, "status": {"no_wrap": True}}
    if wide:
        headers["placed"] = {"no_wrap": True}
    headers |= {"customer": ID, "waiting": NUM, "SKUs": ID}
    rows = []
    for item in page.items:
        number = item["display_number"]
        shown = item["ref"] + ("" if number == item["ref"].split(":", 1)[1] else f"\n{number}")
        rows.append(
            {
                "order": shown,
                "status": item["status"],
                "placed": item["placed_at"][:10],
                "customer": item["customer"]["email"] or item["customer"]["id"],
                "waiting": str(item["backordered"]),
                "SKUs": "\n".join(item["skus"]),
            }
        )
    out.print(_table(headers, rows), width=_width())
    given: dict[str, object] = {
        "--status": status,
        "--sku": sku,
        "--customer": customer,
        "--channel": channel,
    }
    given |= {"--since": since, "--search": q}
    if limit != DEFAULT_LIMIT:
        given["--limit"] = limit
    _more(page, "order", _again("backorder order list", given))


def product_list(
    ctx: typer.Context,
    q: Annotated[
        str | None,
        typer.Option("--search", "-q", help="The start of a SKU or part of a name."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    as_json: JsonFlag = False,
) -> None:
    """Products by SKU with their stock, a page at a time."""
    page = list_products(state_of(ctx).app(), q, limit, cursor)
    if as_json:
        emit(asdict(page))
        return
    wide = _width() >= WIDE
    headers: dict[str, dict[str, Any]] = {"SKU": ID, "name": TEXT, "price": NUM}
    headers |= {"on hand": NUM, "available": NUM, "waiting": NUM}
    if wide:
        headers["policy"] = {"no_wrap": True}
    rows = [
        {
            "SKU": item["sku"],
            "name": item["name"] + (" (discontinued)" if item["discontinued"] else ""),
            "price": item["price"],
            "on hand": str(item["on_hand"]),
            "available": str(item["available"]),
            "waiting": str(item["backordered"]),
            "policy": "backorders" if item["policy"] == "allow" else "no backorders",
        }
        for item in page.items
    ]
    out.print(_table(headers, rows), width=_width())
    given: dict[str, object] = {"--search": q}
    if limit != DEFAULT_LIMIT:
        given["--limit"] = limit
    _more(page, "product", _again("backorder product list", given))
