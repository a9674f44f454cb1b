"""`backorder replenish plan`: the proposed restock orders (a purchase from the supplier with
the cheapest expected outcome, or a transfer from a location that can spare the units),
each with its reasons in words."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from backorder.cli.common import BackorderGroup, JsonFlag, emit, out, state_of
from backorder.domain.replenishment import short_day
from backorder.services.context import Backorder
from backorder.services.foresight_plan import refresh
from backorder.services.replenishment import check_skus, plan
from backorder.services.replenishment.views import MAX_LIMIT, Wanted, listing
from backorder.words import count, money

replenish_app = typer.Typer(
    cls=BackorderGroup,
    no_args_is_help=True,
    help="Restock recommendations: what to buy or move, from whom, and why.",
)

MAX_NAMED = 8  # SKUs named in a note before "and N more"
WIDTH = 80  # sentences are wrapped to this, or to a narrower terminal


def _all(app: Backorder, skus: list[str] | None) -> list[dict[str, Any]]:
    """Every proposed recommendation (of `skus`), page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = listing(app, Wanted(skus=skus), MAX_LIMIT, cursor)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _day(iso: str | None, today: date) -> str:
    if iso is None:
        return "-"
    day = date.fromisoformat(iso)
    return short_day(day) if day.year == today.year else f"{short_day(day)} {day.year}"


def headline(view: dict[str, Any], today: date) -> str:
    """#12 SKU: buy 24 from ACME, $120.00; need by 19 Jan, arrives 17 Jan."""
    cost = money(Decimal(view["unit_cost"]) * view["quantity"], view["currency"])
    if view["kind"] == "transfer":
        what = f"move {view['quantity']:,} from {view['from_location']}"
    else:
        what = f"buy {view['quantity']:,} from {view['supplier']}"
    short = view["expected_short"]
    waiting = f"; {count(round(short), 'unit')} expected to wait" if short >= 0.5 else ""
    return (
        f"#{view['id']} {view['key']}: {what}, {cost}; need by "
        f"{_day(view['need_by'], today)}, arrives {_day(view['arrive_on'], today)}{waiting}"
    )


def _width() -> int:
    return max(40, min(out.width, WIDTH))


def _say(text: str) -> None:
    out.print(textwrap.fill(text, _width(), subsequent_indent="  "), markup=False, highlight=False)


def _print(views: list[dict[str, Any]], today: date) -> None:
    width = _width()
    for view in views:
        out.print(
            textwrap.fill(headline(view, today), width, subsequent_indent="    "),
            markup=False,
            highlight=False,
            style="bold",
        )
        for reason in view["reasons"]:
            out.print(
                textwrap.fill(reason, width, initial_indent="  - ", subsequent_indent="    "),
                markup=False,
                highlight=False,
            )
        out.print()


def _named(skus: list[str]) -> str:
    shown = ", ".join(skus[:MAX_NAMED])
    more = len(skus) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _notes(done: dict[str, Any]) -> None:
    if done["no_cost"]:
        many = len(done["no_cost"]) > 1
        _say(
            f"{count(len(done['no_cost']), 'SKU')} {'need' if many else 'needs'} an order, but "
            f"none of {'their' if many else 'its'} suppliers has a cost "
            f"({_named(done['no_cost'])}): backorder product supplier update SKU SUPPLIER "
            "--cost C"
        )
    if done["no_supplier"]:
        many = len(done["no_supplier"]) > 1
        _say(
            f"{count(len(done['no_supplier']), 'SKU')} {'need' if many else 'needs'} an order "
            f"but {'have' if many else 'has'} no supplier ({_named(done['no_supplier'])}): "
            "backorder product supplier add"
        )


@replenish_app.command("plan")
def plan_command(
    ctx: typer.Context,
    skus: Annotated[
        list[str] | None, typer.Option("--sku", metavar="SKU", help="Only this SKU (repeat).")
    ] = None,
    refresh_first: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Re-plan now from the stored forecasts (the worker does after every plan "
            "refresh).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The proposed restock orders, soonest need first: SKU (and location), the supplier or
    the location to move from, quantity, cost, the date needed and expected, and why."""
    app = state_of(ctx).app()
    if skus:
        check_skus(app, skus)
    done = None
    if refresh_first:
        refresh(app, skus or None)
        done = plan(app, skus or None)
    views = _all(app, skus or None)
    if as_json:
        emit({"planned": done, "recommendations": views})
        return
    today = app.now().date()
    if done is not None:
        out.print(
            f"planned: {done['proposed']} new, {done['unchanged'] + done['updated']} kept, "
            f"{done['superseded']} withdrawn",
            markup=False,
            style="dim",
        )
    if not views:
        out.print("no restock order proposed", markup=False)
    else:
        title = f"Proposed restock orders: {len(views)}"
        out.print(title, markup=False, style="bold")
        out.print()
        _print(views, today)
    if done is not None:
        _notes(done)
