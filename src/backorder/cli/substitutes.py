"""`backorder product substitute …`: the SKUs that may stand in for a SKU, best first, which
a customer who waited too long may be offered (`BACKORDER_SUBSTITUTE_OFFER_DAYS`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backorder.cli.common import BackorderGroup, JsonFlag, emit, figure, ident, out, state_of, table
from backorder.services import substitutes as service

substitute_app = typer.Typer(
    cls=BackorderGroup, no_args_is_help=True, help="The substitutes of a SKU, best first."
)

SkuArg = Annotated[str, typer.Argument(metavar="SKU")]
SubstituteArg = Annotated[str, typer.Argument(metavar="SUBSTITUTE")]
RankOpt = Annotated[
    int | None,
    typer.Option(
        "--rank", min=1, max=service.MAX_SUBSTITUTES, help="1 is offered first; default: last."
    ),
]


def _said(view: dict[str, Any], done: str, substitute: str) -> str:
    rank = next((s["rank"] for s in view["substitutes"] if s["sku"] == substitute), None)
    where = f" (choice {rank} of {len(view['substitutes'])})" if rank else ""
    return f"{done} {substitute} as a substitute of {view['sku']}{where}"


@substitute_app.command("add")
def add(
    ctx: typer.Context,
    sku: SkuArg,
    substitute: SubstituteArg,
    rank: RankOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """SUBSTITUTE may stand in for SKU (at --rank; the others move down)."""
    view = service.add_substitute(state_of(ctx).app(), sku, substitute, rank)
    if as_json:
        emit(view)
        return
    out.print(_said(view, "added", substitute), markup=False)


@substitute_app.command("remove")
def remove(ctx: typer.Context, sku: SkuArg, substitute: SubstituteArg) -> None:
    """SUBSTITUTE no longer stands in for SKU (offers made stand until answered)."""
    service.remove_substitute(state_of(ctx).app(), sku, substitute)
    out.print(f"removed {substitute} from the substitutes of {sku}", markup=False)


@substitute_app.command("list")
def list_(ctx: typer.Context, sku: SkuArg, as_json: JsonFlag = False) -> None:
    """The substitutes of SKU, best first, with the stock each has."""
    view = service.list_substitutes(state_of(ctx).app(), sku)
    if as_json:
        emit(view)
        return
    rows = view["substitutes"]
    if not rows:
        out.print(f"{sku} has no substitutes", markup=False)
        return
    grid = table(
        figure("rank"),
        ident("substitute", [r["sku"] for r in rows]),
        "name",
        figure("available"),
        figure("waiting"),
        title=f"Substitutes of {sku} (offered in this order)",
    )
    for r in rows:
        grid.add_row(
            str(r["rank"]), r["sku"], r["name"], str(r["available"]), str(r["backordered"])
        )
    out.print(grid)
