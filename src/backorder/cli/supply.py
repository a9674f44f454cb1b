"""`backorder supplier …`, `backorder po …` and `backorder atp`: inbound supply and what
can be promised."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    emit,
    figure,
    ident,
    moment,
    money,
    out,
    parse_date,
    state_of,
    table,
)
from backorder.cli.product_suppliers import performance_lines
from backorder.domain.errors import InvalidRequest
from backorder.services import atp as atp_service
from backorder.services import po_approval, supply
from backorder.words import count

supplier_app = typer.Typer(cls=BackorderGroup, no_args_is_help=True, help="Suppliers.")
po_app = typer.Typer(cls=BackorderGroup, no_args_is_help=True, help="Purchase orders.")

LeadOpt = Annotated[
    int, typer.Option("--lead-time-days", min=0, max=3650, help="Default lead time in days.")
]


def _supplier_line(view: dict[str, Any]) -> str:
    record = (
        f"{view['on_time_percent']}% on time over "
        f"{count(view['orders_completed'], 'purchase order')}"
        if view["on_time_percent"] is not None
        else "no purchase order completed yet"
    )
    return (
        f"{view['id']} ({view['name']}): lead time {count(view['lead_time_days'], 'day')}, {record}"
    )


def _channel_line(view: dict[str, Any]) -> str:
    """How its purchase orders reach it, and its own auto-approve limit."""
    channel = f"purchase orders: {view['po_format']}"
    if view["po_address"]:
        channel += f" to {view['po_address']}"
    limit_text = view["auto_approve_limit"] or "none of its own"
    return f"{channel}; auto-approve limit: {limit_text}"


def _print_supplier(view: dict[str, Any], done: str, as_json: bool) -> None:
    if as_json:
        emit(view)
    else:
        out.print(f"{done} {_supplier_line(view)}", markup=False)


@supplier_app.command("add")
def supplier_add(
    ctx: typer.Context,
    supplier_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str, typer.Option(help="The supplier's name.")],
    lead_time_days: LeadOpt,
    email: Annotated[str | None, typer.Option(help="Where purchasing writes.")] = None,
    contact: Annotated[str | None, typer.Option(help="A person or a phone number.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a supplier with its default lead time."""
    view = supply.add_supplier(
        state_of(ctx).app(), supply.SupplierIn(supplier_id, name, lead_time_days, email, contact)
    )
    _print_supplier(view, "added", as_json)


@supplier_app.command("update")
def supplier_update(
    ctx: typer.Context,
    supplier_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option()] = None,
    lead_time_days: Annotated[int | None, typer.Option(min=0, max=3650)] = None,
    email: Annotated[str | None, typer.Option()] = None,
    contact: Annotated[str | None, typer.Option()] = None,
    auto_approve_limit: Annotated[
        str | None,
        typer.Option(help="Approve its purchase orders up to this value ('' clears it)."),
    ] = None,
    po_format: Annotated[
        str | None, typer.Option(help="How its purchase orders go: x12-850|email|webhook|none.")
    ] = None,
    po_to: Annotated[str | None, typer.Option(help="Where they go: a URL or an e-mail.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a supplier; a new lead time re-dates the waiting lines beyond inbound supply."""
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "lead_time_days": lead_time_days,
            "email": email,
            "contact": contact,
            "po_format": po_format,
            "po_address": po_to,
        }.items()
        if v is not None
    }
    if auto_approve_limit is not None:
        limit = auto_approve_limit.strip()
        changes["auto_approve_limit"] = money(limit, "--auto-approve-limit") if limit else None
    if not changes:
        raise InvalidRequest("nothing to change")
    view = supply.update_supplier(state_of(ctx).app(), supplier_id, changes)
    _print_supplier(view, "updated", as_json)
    if not as_json:
        out.print(_channel_line(view), markup=False)
        if view.get("po_secret"):
            out.print(f"signing secret (shown once): {view['po_secret']}", markup=False)


@supplier_app.command("list")
def supplier_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Suppliers with their lead times and on-time records."""
    views = supply.list_suppliers(state_of(ctx).app())
    if as_json:
        emit(views)
        return
    for view in views:
        out.print(_supplier_line(view), markup=False)


@supplier_app.command("show")
def supplier_show(
    ctx: typer.Context,
    supplier_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """A supplier, its SKUs and its open purchase orders."""
    view = supply.get_supplier(state_of(ctx).app(), supplier_id)
    if as_json:
        emit(view)
        return
    out.print(_supplier_line(view), markup=False)
    out.print(f"SKUs: {', '.join(view['skus']) or 'none'}", markup=False)
    out.print(f"open purchase orders: {', '.join(view['open_purchase_orders']) or 'none'}")
    out.print(_channel_line(view), markup=False)
    for line in performance_lines(view["performance"]):
        out.print(line, markup=False)


def _po_line(text: str) -> supply.PoLineIn:
    sku, sep, rest = text.partition(":")
    quantity, sep2, day = rest.partition(":")
    if not (sep and sep2 and sku and quantity.isascii() and quantity.isdigit()):
        raise InvalidRequest(f"--line {text!r} is not SKU:QTY:YYYY-MM-DD")
    expected = parse_date(day)
    assert expected is not None
    return supply.PoLineIn(sku, int(quantity), expected)


def _print_po(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(view)
        return
    on_time = {True: ", on time", False: ", late", None: ""}[view["on_time"]]
    out.print(
        f"{view['po']} from {view['supplier']} to {view['location']}: {view['state']}{on_time}",
        markup=False,
    )
    if view["origin"] == "recommendation":
        out.print(approval_words(view), markup=False)
    lines = view["lines"]
    grid = table(
        ident("SKU", [line["sku"] for line in lines]),
        figure("ordered"),
        figure("received"),
        figure("cancelled"),
        figure("outstanding"),
        Column("expected", min_width=10, overflow="fold"),
    )
    for line in lines:
        moved = line["expected_on"] != line["first_expected_on"]
        grid.add_row(
            line["sku"],
            str(line["ordered"]),
            str(line["received"]),
            str(line["cancelled"]),
            str(line["outstanding"]),
            line["expected_on"] + (f" (first {line['first_expected_on']})" if moved else ""),
        )
    out.print(grid)


def approval_words(view: dict[str, Any]) -> str:
    """A purchase order from a recommendation: its approval, by whom, and if it was sent."""
    approval = str(view["approval"])
    words = {"pending": "draft, awaiting approval"}.get(approval, approval)
    if view["approved_by"] and approval != "pending":
        words += f" by {view['approved_by']}"
    if approval == "approved":
        words += f"; sent {moment(view['sent_at'])}" if view["sent_at"] else "; not sent yet"
    return words


def _po_state(view: dict[str, Any], late: bool) -> str:
    if view["approval"] == "pending" and view["state"] == "open":
        return "draft"
    return "[bold red]late[/]" if late else str(view["state"])


def _po_table(views: list[dict[str, Any]], today: date) -> Table:
    """Purchase orders one line a row; what is outstanding past its date is marked late."""
    rows = [(view, line) for view in views for line in view["lines"]]
    grid = table(
        ident("purchase order", [view["po"] for view in views]),
        ident("supplier", [view["supplier"] for view in views]),
        ident("location", [view["location"] or "" for view in views]),
        Column("state"),
        ident("SKU", [line["sku"] for _, line in rows]),
        figure("outstanding"),
        Column("expected", min_width=10, overflow="fold"),
    )
    for view, line in rows:
        late = line["outstanding"] and date.fromisoformat(line["expected_on"]) < today
        grid.add_row(
            view["po"],
            view["supplier"],
            view["location"] or "",
            _po_state(view, late),
            line["sku"],
            f"{line['outstanding']} of {line['ordered']}",
            line["expected_on"],
        )
    return grid


@po_app.command("add")
def po_add(
    ctx: typer.Context,
    po: Annotated[str, typer.Argument(metavar="PO")],
    supplier_id: Annotated[str, typer.Option("--supplier", help="Supplier id.")],
    line: Annotated[list[str], typer.Option("--line", help="SKU:QTY:YYYY-MM-DD (repeatable).")],
    location: Annotated[
        str | None,
        typer.Option(help="The location it arrives at (code); without it the default one."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a purchase order arriving at a location; the waiting lines of its SKUs are
    dated against it."""
    lines = [_po_line(text) for text in line]
    view = supply.add_purchase_order(state_of(ctx).app(), po, supplier_id, lines, location)
    _print_po(view, as_json)


@po_app.command("show")
def po_show(
    ctx: typer.Context, po: Annotated[str, typer.Argument(metavar="PO")], as_json: JsonFlag = False
) -> None:
    """A purchase order line by line."""
    _print_po(supply.get_purchase_order(state_of(ctx).app(), po), as_json)


@po_app.command("list")
def po_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, received or cancelled.")] = None,
    sku: Annotated[str | None, typer.Option(help="Only those with a line for this SKU.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Purchase orders, newest first."""
    if state is not None and state not in ("open", "received", "cancelled"):
        raise InvalidRequest("--state is open, received or cancelled")
    app = state_of(ctx).app()
    views = supply.list_purchase_orders(app, state, sku, limit)
    if as_json:
        emit(views)
        return
    if not views:
        out.print("no purchase orders", markup=False)
        return
    out.print(_po_table(views, app.now().date()))


@po_app.command("redate")
def po_redate(
    ctx: typer.Context,
    po: Annotated[str, typer.Argument(metavar="PO")],
    line: Annotated[str, typer.Option("--line", help="The SKU of the line.")],
    expected: Annotated[str, typer.Option("--expected", help="New date, YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """The supplier expects a line on another date."""
    day = parse_date(expected)
    assert day is not None
    _print_po(supply.redate_purchase_order(state_of(ctx).app(), po, line, day), as_json)


@po_app.command("reduce")
def po_reduce(
    ctx: typer.Context,
    po: Annotated[str, typer.Argument(metavar="PO")],
    line: Annotated[str, typer.Option("--line", help="The SKU of the line.")],
    quantity: Annotated[
        int, typer.Option("--to", min=0, help="Units the supplier will deliver in all.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """The supplier will deliver fewer units of a line; the rest is cancelled."""
    _print_po(supply.reduce_purchase_order(state_of(ctx).app(), po, line, quantity), as_json)


@po_app.command("cancel")
def po_cancel(
    ctx: typer.Context, po: Annotated[str, typer.Argument(metavar="PO")], as_json: JsonFlag = False
) -> None:
    """Nothing more will come of this purchase order."""
    _print_po(supply.cancel_purchase_order(state_of(ctx).app(), po), as_json)


@po_app.command("approve")
def po_approve(
    ctx: typer.Context, po: Annotated[str, typer.Argument(metavar="PO")], as_json: JsonFlag = False
) -> None:
    """Approve a draft purchase order: it becomes inbound supply and goes to the supplier."""
    app = state_of(ctx).app()
    po_approval.approve(app, po, "cli")
    _print_po(supply.get_purchase_order(app, po), as_json)


@po_app.command("reject")
def po_reject(
    ctx: typer.Context,
    po: Annotated[str, typer.Argument(metavar="PO")],
    note: Annotated[str | None, typer.Option(help="Why (kept on its recommendation).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a draft purchase order: cancelled, never sent."""
    app = state_of(ctx).app()
    po_approval.reject(app, po, "cli", note)
    _print_po(supply.get_purchase_order(app, po), as_json)


def atp(
    ctx: typer.Context,
    sku: str,
    location: Annotated[
        str | None,
        typer.Option(help="One location's figures (code); without it the network's."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Available to promise: units a new order could be promised by each future date, for
    the network or one location (purchase orders and transfers arriving there count)."""
    view = atp_service.atp(state_of(ctx).app(), sku, location)
    if as_json:
        emit(view)
        return
    where = f" at {view['location']}" if view["location"] else ""
    out.print(
        f"{sku}{where}: {view['on_hand']} on hand, {view['allocated']} allocated, "
        f"{view['available']} available; {view['backordered']} waiting in the network queue",
        markup=False,
    )
    for entry in view["inbound"]:
        what = f"purchase order {entry['po']}" if entry["po"] else f"transfer {entry['transfer']}"
        units = entry["units"]
        if units < 0:
            move = f"leaving for {entry['location']}"
        else:
            move = f"to {entry['location']}" + (
                f" from {entry['from_location']}" if entry["from_location"] else ""
            )
        out.print(f"  {what}: {abs(units)} {move}, expected {entry['expected_on']}", markup=False)
    if not view["promisable"]:
        out.print("  nothing to promise before new supply", markup=False)
    for point in view["promisable"]:
        out.print(f"  by {point['date']}: {count(point['units'], 'unit')}", markup=False)
    beyond = view["beyond_supply"]
    out.print(
        f"  beyond that: by {beyond} (lead time {count(view['lead_time_days'], 'day')})"
        if beyond
        else "  beyond that: no date known (no lead time)"
    )
