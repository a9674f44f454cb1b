"""`backorder replenish accept|reject`: deciding restock recommendations (in the `replenish`
group of cli/replenish.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backorder.cli.common import JsonFlag, emit, out, state_of
from backorder.cli.supply import approval_words
from backorder.services import replenishment_decisions as decisions


def _print_accepted(view: dict[str, Any]) -> None:
    if view["kind"] == "transfer":
        out.print(
            f"recommendation {view['id']} accepted: planned transfer {view['transfer']} "
            f"of {view['quantity']} units",
            markup=False,
        )
    else:
        po = view["purchase_order"]
        line = po["lines"][0]
        value = f"{po['currency']} {po['value']}" if po["value"] is not None else "price unknown"
        out.print(
            f"recommendation {view['id']} accepted: {po['po']} to {po['supplier']}", markup=False
        )
        out.print(
            f"{line['ordered']} x {line['sku']}, {value}, expected {line['expected_on']}",
            markup=False,
        )
        out.print(approval_words(po), markup=False)
    for change in view["changes"]:
        out.print(f"  {change}", markup=False)


def replenish_accept(
    ctx: typer.Context,
    recommendation: Annotated[int, typer.Argument(metavar="ID", min=1)],
    quantity: Annotated[
        int | None, typer.Option(min=1, help="Order this many (rounded to MOQ and pack).")
    ] = None,
    supplier: Annotated[
        str | None, typer.Option(help="Order from this supplier of the SKU instead.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Accept a recommendation: a purchase becomes a draft purchase order (approved by the
    policy or awaiting a person), a transfer a planned transfer."""
    change = decisions.Change(quantity, supplier)
    view = decisions.accept(state_of(ctx).app(), recommendation, "cli", change)
    if as_json:
        emit(view)
    else:
        _print_accepted(view)


def replenish_reject(
    ctx: typer.Context,
    recommendation: Annotated[int, typer.Argument(metavar="ID", min=1)],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a recommendation (the next plan may propose the SKU again)."""
    view = decisions.reject(state_of(ctx).app(), recommendation, "cli", note)
    if as_json:
        emit(view)
    else:
        out.print(f"recommendation {view['id']} rejected", markup=False)
