"""Commands for orders, queues and the event outbox."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column
from sqlalchemy import select

from backorder.canonical import parse_orders
from backorder.cli.common import (
    JsonFlag,
    day_column,
    emit,
    figure,
    ident,
    moment,
    out,
    state_of,
    table,
)
from backorder.domain.errors import InvalidRequest
from backorder.domain.kpis import reason_text
from backorder.domain.units import ordered_as, ordered_in_words
from backorder.services.consumers import (
    commit_position,
    consumers_view,
    forget_consumer,
    position_of,
)
from backorder.services.context import Backorder
from backorder.services.customer_links import mint_link
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, expedite_order, ship_order
from backorder.services.products import rerank_queues
from backorder.services.views import events_view, order_view, queue_view
from backorder.store.tables import products
from backorder.words import count, money

order_app = typer.Typer(no_args_is_help=True, help="Place, show, cancel and ship orders.")


# --- order ------------------------------------------------------------------------------


@order_app.command("place")
def order_place(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON file or -")],
    as_json: JsonFlag = False,
) -> None:
    """Place canonical orders (one object, an array, or one per line)."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    requests = parse_orders(text)
    backorder = state_of(ctx).app()
    _check_skus(backorder, {line.sku for r in requests for line in r.lines})
    results = [place_order(backorder, request) for request in requests]
    if as_json:
        emit([{"ref": r.ref, "created": r.created} for r in results])
    else:
        for result in results:
            out.print(f"{'created' if result.created else 'exists '} {result.ref}", markup=False)


def _check_skus(backorder: Backorder, skus: set[str]) -> None:
    """Refuse the whole file before placing anything if it names an unknown SKU."""
    with backorder.db.read() as uow:
        known = set(
            uow.connection.execute(
                select(products.c.sku).where(products.c.sku.in_(sorted(skus)))
            ).scalars()
        )
    unknown = sorted(skus - known)
    if unknown:
        raise InvalidRequest(
            f"unknown {'SKU' if len(unknown) == 1 else 'SKUs'} {', '.join(unknown)}; "
            "nothing was placed"
        )


def _ordered(line: dict[str, Any]) -> str:
    """A line's quantity in units, and beneath it what the buyer ordered when that was not
    single units ("144 cases of 12")."""
    ordered = ordered_as(line.get("ordered"))
    if ordered is None:
        return str(line["quantity"])
    said = ordered_in_words(line["quantity"], ordered).partition(" (")[0]
    return f"{line['quantity']:,}\n[dim]{escape(said)}[/]"


@order_app.command("show")
def order_show(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """An order, its lines and why each got stock when it did."""
    view = order_view(state_of(ctx).app(), ref)
    if as_json:
        emit(view)
        return
    customer = view["customer"]
    number = view["display_number"]
    out.print(
        f"[bold]{escape(view['ref'])}[/]"
        + (f" (the customer's number {escape(number)})" if number != view["external_id"] else "")
        + f": {view['status']}",
        soft_wrap=True,
    )
    out.print(
        f"placed {moment(view['placed_at'])} UTC by {customer['id']}"
        + (f" {customer['name']}" if customer["name"] else "")
        + f" ({customer['tier']}), {view['currency']}",
        markup=False,
    )
    lines = view["lines"]
    grid = table(
        figure("line"),
        ident("SKU", [line["sku"] for line in lines]),
        figure("qty"),
        Column("units", ratio=1),
        figure("value"),
        day_column("expected"),
    )
    for line in lines:
        where = [
            f"{line[k]} {k}"
            for k in ("allocated", "backordered", "shipped", "cancelled")
            if line[k]
        ]
        name = line["name"] + (f", {line['variant']}" if line.get("variant") else "")
        grid.add_row(
            str(line["line"]),
            f"{escape(line['sku'])}\n[dim]{escape(name)}[/]",
            _ordered(line),
            ", ".join(where),
            money(Decimal(line["unit_price"]) * line["quantity"], view["currency"]),
            line["eta"] or "",
        )
    out.print(grid)
    for line in lines:
        for given in line["allocations"]:
            place = f"queue position {given['position']}, " if given["position"] else ""
            source = given["source"] + (f" {given['ref']}" if given["ref"] else "")
            if given.get("location"):
                why = f", {given['sourcing']}" if given.get("sourcing") else ""
                source += f" at {given['location']}{why}"
            out.print(
                f"  line {line['line']}: {count(given['units'], 'unit')} at "
                f"{moment(given['at'])} from {source} ({place}{given['rule']})",
                markup=False,
            )
        for cancel in line["cancellations"]:
            out.print(
                f"  line {line['line']}: {count(cancel['units'], 'unit')} cancelled: "
                f"{reason_text(cancel['reason'])}",
                markup=False,
            )
    for shipment in view["shipments"]:
        tracking = f", tracking {shipment['tracking']}" if shipment["tracking"] else ""
        origin = f" from {shipment['location']}" if shipment.get("location") else ""
        out.print(
            f"  shipped {count(shipment['units'], 'unit')}{origin} at {moment(shipment['at'])}"
            f"{tracking}",
            markup=False,
        )
    for delay in view["delays"]:
        revised = f", now expected {delay['revised']}" if delay["revised"] else ""
        out.print(
            f"  line {delay['line']}: missed {delay['missed']}{revised}; customer told "
            f"{delay['noticed_on']} ({delay['outcome']})",
            markup=False,
        )
    for offer in view.get("substitutes", []):
        taken = f", now line {offer['new_line']}" if offer["new_line"] else ""
        out.print(
            f"  line {offer['line']}: offered {offer['units']} x {offer['substitute']} at "
            f"{moment(offer['offered_at'])} ({offer['state']}{taken})",
            markup=False,
        )


@order_app.command("cancel")
def order_cancel(
    ctx: typer.Context,
    ref: str,
    line: Annotated[int | None, typer.Option(min=1, help="Only this line.")] = None,
    qty: Annotated[
        int | None, typer.Option(min=1, help="Only this many units of the line.")
    ] = None,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Cancel an order, a line, or part of a line, before shipment."""
    result = cancel_order(state_of(ctx).app(), ref, line, qty, reason)
    out.print(
        f"cancelled {count(result.units, 'unit')} of {ref}; {result.released} released, "
        f"{result.reallocated} went to the queue",
        markup=False,
    )


@order_app.command("ship")
def order_ship(
    ctx: typer.Context,
    ref: str,
    tracking: Annotated[str | None, typer.Option()] = None,
    location: Annotated[
        str | None,
        typer.Option(
            help="Ship what this location holds for the order; without it every location "
            "holding some ships, one shipment each with the tracking given."
        ),
    ] = None,
) -> None:
    """Ship the order's allocated units."""
    result = ship_order(state_of(ctx).app(), ref, tracking, location)
    parts = len(result.shipments)
    out.print(
        f"shipped {count(result.units, 'unit')} of {ref}"
        + (f" in {parts} shipments, one per location" if parts > 1 else "")
        + (" (complete)" if result.complete else ""),
        markup=False,
    )


@order_app.command("link")
def order_link(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """A signed, expiring link for the customer to see and cancel this order."""
    link = mint_link(state_of(ctx).app(), ref)
    if as_json:
        emit({"url": link.url, "token": link.token, "expires_at": link.expires_at.isoformat()})
    else:
        # Printed as it is, on one line whatever the terminal's width, so it can be copied.
        sys.stdout.write(f"{link.url}\n")
        sys.stdout.flush()
        out.print(f"(valid until {link.expires_at:%Y-%m-%d %H:%M} UTC)", markup=False)


@order_app.command("expedite")
def order_expedite(ctx: typer.Context, ref: str) -> None:
    """Set the manual expedite flag; the order's waiting lines move up priority queues."""
    moved = expedite_order(state_of(ctx).app(), ref)
    out.print(f"expedited {ref}; {count(moved, 'waiting line')} re-ranked", markup=False)


# --- queue, events, demo ----------------------------------------------------------------


def queue(
    ctx: typer.Context,
    sku: str,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The backorder queue of a SKU, in the order it will receive stock."""
    view = queue_view(state_of(ctx).app(), sku, limit)
    if as_json:
        emit(view)
        return
    out.print(
        f"[bold]{escape(sku)}[/] ({view['strategy']}): {count(view['depth'], 'line')}, "
        f"{count(view['backordered'], 'unit')} waiting",
        soft_wrap=True,
    )
    entries = view["entries"]
    if not entries:
        return
    # Below 80 columns the time an order was placed gives way (`--json` has it): the
    # references and dates are never cut.
    placed = out.width >= 78
    grid = table(
        figure("#"),
        ident("order", [e["ref"] for e in entries]),
        figure("line"),
        figure("waiting"),
        *([day_column("placed", 16)] if placed else []),
        day_column("expected"),
    )
    for e in entries:
        grid.add_row(
            str(e["position"]),
            f"{escape(e['ref'])}\n[dim]{e['tier']}: {escape(e['rule'])}[/]",
            str(e["line"]),
            str(e["backordered"]),
            *([moment(e["placed_at"])] if placed else []),
            e["eta"] or "",
        )
    out.print(grid)


def rerank(
    ctx: typer.Context,
    skus: Annotated[list[str] | None, typer.Argument(help="SKUs; none means all.")] = None,
) -> None:
    """Rank queues afresh after the priority rules or the aging period changed."""
    counts = rerank_queues(state_of(ctx).app(), skus or None)
    out.print(
        f"re-ranked {count(sum(counts.values()), 'line')} of {count(len(counts), 'SKU')}",
        markup=False,
    )


def list_events(
    ctx: typer.Context,
    after: Annotated[
        int | None, typer.Option(min=0, help="Events after this id (default 0).")
    ] = None,
    consumer: Annotated[
        str | None, typer.Option(help="Start after this consumer's committed position.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Read the outbox in order."""
    app = state_of(ctx).app()
    if after is None:
        after = position_of(app, consumer) if consumer else 0
    documents = events_view(app, after, limit)
    if as_json:
        emit(documents)
    else:
        for d in documents:
            out.print(
                f"{d['id']:>6} {moment(d['occurred_at'])} {d['type']:<22} "
                f"{d['order_ref'] or ''} {d['sku'] or ''}",
                markup=False,
            )


consumer_app = typer.Typer(
    no_args_is_help=True,
    help="Named readers of the events: their committed positions and lag.",
)


@consumer_app.command("list")
def consumer_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every consumer, its position and how far it trails the newest event."""
    rows = consumers_view(state_of(ctx).app())
    if as_json:
        emit(rows)
        return
    if not rows:
        out.print("no event consumers", markup=False)
    for row in rows:
        out.print(
            f"{row['name']:<24} at {row['position']:>8}, behind by "
            f"{count(row['lag_events'], 'event')}, oldest unread {row['lag_seconds']:.0f} s",
            markup=False,
        )


@consumer_app.command("commit")
def consumer_commit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The reader's name.")],
    position: Annotated[int, typer.Argument(min=0, help="The last event id it has handled.")],
    as_json: JsonFlag = False,
) -> None:
    """Record that a reader has handled every event up to POSITION."""
    row = commit_position(state_of(ctx).app(), name, position)
    if as_json:
        emit(row)
    else:
        out.print(
            f"{name} at {position}, behind by {count(row['lag_events'], 'event')}", markup=False
        )


@consumer_app.command("forget")
def consumer_forget(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The reader's name.")]
) -> None:
    """Stop tracking a retired reader."""
    forget_consumer(state_of(ctx).app(), name)
    out.print(f"forgot {name}", markup=False)
