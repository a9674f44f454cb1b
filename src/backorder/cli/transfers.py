"""`backorder transfer …`: units moving between locations."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Column

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    emit,
    figure,
    ident,
    out,
    parse_date,
    state_of,
    table,
)
from backorder.services import transfers

transfer_app = typer.Typer(
    cls=BackorderGroup,
    no_args_is_help=True,
    help="Transfers: units moving between locations, inbound supply where they arrive.",
)

IdArg = Annotated[int, typer.Argument(metavar="ID", min=1, help="The transfer's id.")]


def _line(view: dict[str, Any]) -> str:
    moved = (
        f"{view['quantity']} {view['sku']} from {view['from_location']} to {view['to_location']}"
    )
    state = view["state"]
    if state == "shipped":
        state = f"shipped, {view['in_transit']} in transit"
        if view["received"]:
            state += f", {view['received']} received"
    return f"transfer {view['id']}: {moved}, expected {view['expected_on']}: {state}"


def _print(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(view)
    else:
        out.print(_line(view), markup=False)


@transfer_app.command("create", context_settings={"ignore_unknown_options": True})
def transfer_create(
    ctx: typer.Context,
    sku: str,
    qty: int,
    source: Annotated[str, typer.Option("--from", help="The location the units leave (code).")],
    destination: Annotated[str, typer.Option("--to", help="The location they arrive at.")],
    expected_on: Annotated[
        str, typer.Option("--expected-on", help="When they are expected, YYYY-MM-DD.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Plan a transfer; the receiving location counts it as inbound supply at once."""
    day = parse_date(expected_on)
    assert day is not None
    wanted = transfers.TransferIn(sku, qty, source, destination, day)
    _print(transfers.create(state_of(ctx).app(), wanted), as_json)


@transfer_app.command("ship")
def transfer_ship(ctx: typer.Context, transfer_id: IdArg, as_json: JsonFlag = False) -> None:
    """The units leave the source location (only units not allocated there may move)."""
    _print(transfers.ship(state_of(ctx).app(), transfer_id), as_json)


@transfer_app.command("receive", context_settings={"ignore_unknown_options": True})
def transfer_receive(
    ctx: typer.Context,
    transfer_id: IdArg,
    units: Annotated[
        int | None, typer.Option(help="Units that arrived; without it all in transit.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Units arrive at the receiving location and serve the waiting queue from there."""
    _print(transfers.receive(state_of(ctx).app(), transfer_id, units), as_json)


@transfer_app.command("cancel")
def transfer_cancel(ctx: typer.Context, transfer_id: IdArg, as_json: JsonFlag = False) -> None:
    """A planned transfer will not happen."""
    _print(transfers.cancel(state_of(ctx).app(), transfer_id), as_json)


@transfer_app.command("show")
def transfer_show(ctx: typer.Context, transfer_id: IdArg, as_json: JsonFlag = False) -> None:
    """A transfer."""
    _print(transfers.get(state_of(ctx).app(), transfer_id), as_json)


@transfer_app.command("list")
def transfer_list(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="planned, shipped, received or cancelled.")
    ] = None,
    sku: Annotated[str | None, typer.Option(help="Only this SKU's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Transfers, newest first."""
    views = transfers.listing(state_of(ctx).app(), state, sku, limit)
    if as_json:
        emit(views)
        return
    if not views:
        out.print("no transfers", markup=False)
        return
    grid = table(
        figure("id"),
        ident("SKU", [v["sku"] for v in views]),
        ident("from", [v["from_location"] for v in views]),
        ident("to", [v["to_location"] for v in views]),
        figure("received"),
        Column("state"),
        Column("expected", min_width=10, no_wrap=True),
    )
    for v in views:
        grid.add_row(
            str(v["id"]),
            v["sku"],
            v["from_location"],
            v["to_location"],
            f"{v['received']} of {v['quantity']}",
            v["state"],
            v["expected_on"],
        )
    out.print(grid)
