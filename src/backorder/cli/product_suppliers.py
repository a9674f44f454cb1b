"""`backorder product supplier …`: the suppliers that can deliver a SKU, on their terms,
with their measured performance."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    emit,
    figure,
    ident,
    money,
    out,
    state_of,
    table,
)
from backorder.services import product_suppliers as terms_service

supplier_terms_app = typer.Typer(
    cls=BackorderGroup, no_args_is_help=True, help="The suppliers of a SKU and their terms."
)

SkuArg = Annotated[str, typer.Argument(metavar="SKU")]
SupplierArg = Annotated[str, typer.Argument(metavar="SUPPLIER")]
CostOpt = Annotated[str | None, typer.Option("--cost", help="Unit cost, e.g. 4.20.")]
MoqOpt = Annotated[int | None, typer.Option("--moq", min=1, help="Minimum order quantity.")]
PackOpt = Annotated[int | None, typer.Option("--pack", min=1, help="Order in multiples of.")]
PreferredFlag = Annotated[
    bool, typer.Option("--preferred", help="Make it the SKU's supplier (ETAs use it).")
]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _late(p: dict[str, Any]) -> str:
    if p["late_days_mean"] is None:
        return "-"
    sd = "" if p["late_days_sd"] is None else f"±{p['late_days_sd']:.1f}"
    return f"{p['late_days_mean']:.1f}{sd}"


def performance_lines(performance: list[dict[str, Any]]) -> list[str]:
    """One line per window: on-time, lateness, fill rate, and how many lines are behind."""
    return [
        f"{p['months']:>2} months: {_rate(p['on_time_rate'])} on time, late {_late(p)} d, "
        f"{_rate(p['fill_rate'])} filled; {p['lines']} lines, {p['ordered']} units"
        for p in performance
    ]


def _terms(view: dict[str, Any]) -> str:
    cost = "cost unknown" if view["cost"] is None else f"cost {view['cost']}"
    mark = " (preferred)" if view["preferred"] else ""
    return (
        f"{view['supplier']}{mark}: {cost}, lead time {view['lead_time_days']} days, "
        f"moq {view['moq']}, pack {view['pack']}"
    )


def _print(view: dict[str, Any], done: str, as_json: bool) -> None:
    if as_json:
        emit(view)
        return
    out.print(f"{done} {_terms(view)}", markup=False)


@supplier_terms_app.command("add")
def add(
    ctx: typer.Context,
    sku: SkuArg,
    supplier: SupplierArg,
    cost: Annotated[str, typer.Option("--cost", help="Unit cost, e.g. 4.20.")],
    lead_time_days: Annotated[int, typer.Option("--lead-time-days", min=0, max=3650)],
    moq: MoqOpt = None,
    pack: PackOpt = None,
    preferred: PreferredFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """A supplier that can deliver SKU, on these terms."""
    terms = terms_service.SupplierTerms(
        supplier, money(cost, "--cost"), lead_time_days, moq or 1, pack or 1
    )
    view = terms_service.add_terms(state_of(ctx).app(), sku, terms, preferred)
    _print(view, "added", as_json)


@supplier_terms_app.command("update")
def update(
    ctx: typer.Context,
    sku: SkuArg,
    supplier: SupplierArg,
    cost: CostOpt = None,
    lead_time_days: Annotated[int | None, typer.Option("--lead-time-days", min=0, max=3650)] = None,
    moq: MoqOpt = None,
    pack: PackOpt = None,
    preferred: PreferredFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Change a supplier's terms for SKU, or make it the preferred one."""
    given = {
        "cost": None if cost is None else money(cost, "--cost"),
        "lead_time_days": lead_time_days,
        "moq": moq,
        "pack": pack,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    view = terms_service.update_terms(state_of(ctx).app(), sku, supplier, changes, preferred)
    _print(view, "updated", as_json)


@supplier_terms_app.command("remove")
def remove(ctx: typer.Context, sku: SkuArg, supplier: SupplierArg) -> None:
    """SUPPLIER no longer delivers SKU (not the preferred one: make another preferred)."""
    terms_service.remove_terms(state_of(ctx).app(), sku, supplier)
    out.print(f"removed {supplier} from {sku}", markup=False)


@supplier_terms_app.command("list")
def list_(ctx: typer.Context, sku: SkuArg, as_json: JsonFlag = False) -> None:
    """The suppliers of SKU: terms, and performance on SKU over 6 and 12 months."""
    view = terms_service.list_terms(state_of(ctx).app(), sku)
    if as_json:
        emit(view)
        return
    rows = view["suppliers"]
    if not rows:
        out.print(f"{sku} has no suppliers yet", markup=False)
        return
    grid = table(
        ident("supplier", [r["supplier"] + ("*" if r["preferred"] else "") for r in rows]),
        figure("cost"),
        figure("lead"),
        figure("moq"),
        figure("pack"),
        figure("on time"),
        figure("late d"),
        figure("fill"),
        figure("lines"),
        title=f"Suppliers of {sku} (* preferred; last 12 months)",
    )
    for r in rows:
        p = r["performance"][-1]
        grid.add_row(
            r["supplier"] + ("*" if r["preferred"] else ""),
            "?" if r["cost"] is None else str(r["cost"]),
            str(r["lead_time_days"]),
            str(r["moq"]),
            str(r["pack"]),
            _rate(p["on_time_rate"]),
            _late(p),
            _rate(p["fill_rate"]),
            str(p["lines"]),
        )
    out.print(grid)
