"""Commands for the schema, the catalogue and stock."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer

from backorder.cli.common import (
    JsonFlag,
    emit,
    money,
    out,
    parse_date,
    print_change,
    state_of,
    words,
)
from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Policy, Product, QueueStrategy
from backorder.services.locations import stock_by_location
from backorder.services.packs import in_words, parse_packs
from backorder.services.products import (
    add_product,
    import_products,
    read_product_csv,
    update_product,
)
from backorder.services.stock import receive_stock, set_stock
from backorder.services.views import product_view
from backorder.store.db import Database
from backorder.store.migrate import current_revision, head_revision, upgrade
from backorder.words import count

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
product_app = typer.Typer(no_args_is_help=True, help="Products and their backorder policy.")
stock_app = typer.Typer(no_args_is_help=True, help="On hand, allocated, available.")


# --- db ---------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to this version."""
    database = Database(state_of(ctx).url)
    try:
        upgrade(database)
        out.print(f"schema at {current_revision(database)}")
    finally:
        database.dispose()


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the schema version of the database and of this program."""
    database = Database(state_of(ctx).url)
    try:
        status = {
            "url": database.engine.url.render_as_string(hide_password=True),
            "current": current_revision(database),
            "head": head_revision(database),
        }
    finally:
        database.dispose()
    if as_json:
        emit(status)
    else:
        out.print(f"{status['url']}: schema {status['current']} (this version: {status['head']})")


# --- product ----------------------------------------------------------------------------

PolicyOpt = Annotated[Policy | None, typer.Option(help="Accept backorders or not.")]
QueueOpt = Annotated[QueueStrategy | None, typer.Option("--queue", help="Queue strategy.")]
IntOpt = Annotated[int | None, typer.Option(min=0)]
LeadOpt = Annotated[
    int | None, typer.Option(min=0, max=3650, help="Supplier lead time in days (at most 3650).")
]
SupplierOpt = Annotated[str | None, typer.Option(help="Supplier id (see `supplier add`).")]
MaxLeadOpt = Annotated[
    int | None, typer.Option(min=0, help="Refuse backorders expected later than this.")
]
OnTimeOpt = Annotated[
    int | None,
    typer.Option(min=0, max=100, help="Refuse backorders while the supplier's on-time % is below."),
]
PackOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pack",
        metavar="UNIT=N",
        help="A pack size (repeatable): one UNIT holds N single units, as CA=12 or PL=480; "
        "CA= clears CA's.",
    ),
]


@product_app.command("add")
def product_add(
    ctx: typer.Context,
    sku: str,
    name: Annotated[str, typer.Option(help="Product name.")],
    price: Annotated[str, typer.Option(help="Unit price, e.g. 19.99.")],
    policy: PolicyOpt = None,
    max_per_customer: IntOpt = None,
    lead_time_days: LeadOpt = None,
    queue: QueueOpt = None,
    discontinued: Annotated[bool, typer.Option("--discontinued")] = False,
    backorder_cap: Annotated[
        int | None, typer.Option(min=0, help="Most units on backorder.")
    ] = None,
    backorder_until: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD) to accept backorders.")
    ] = None,
    supplier: SupplierOpt = None,
    require_known_date: Annotated[
        bool, typer.Option("--require-known-date", help="Refuse backorders without a date.")
    ] = False,
    max_lead_days: MaxLeadOpt = None,
    min_on_time_percent: OnTimeOpt = None,
    pack: PackOpt = None,
) -> None:
    """Add a product with its backorder policy and pack sizes."""
    packs = parse_packs(pack or ())
    state = state_of(ctx)
    product = Product(
        sku=sku,
        name=name,
        unit_price=money(price),
        policy=policy or Policy.ALLOW,
        queue=queue or state.settings.default_queue,
        lead_time_days=lead_time_days,
        max_per_customer=max_per_customer,
        discontinued=discontinued,
        backorder_cap=backorder_cap,
        backorder_until=parse_date(backorder_until),
        supplier=supplier,
        require_known_date=require_known_date,
        max_lead_days=max_lead_days,
        min_on_time_percent=min_on_time_percent,
    )
    add_product(state.app(), product, packs)
    out.print(f"added {sku}", markup=False)


CLEARABLE = (
    "max_per_customer",
    "lead_time_days",
    "backorder_cap",
    "backorder_until",
    "supplier",
    "max_lead_days",
    "min_on_time_percent",
)


@product_app.command("update")
def product_update(
    ctx: typer.Context,
    sku: str,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option()] = None,
    policy: PolicyOpt = None,
    max_per_customer: IntOpt = None,
    lead_time_days: LeadOpt = None,
    queue: QueueOpt = None,
    discontinued: Annotated[bool | None, typer.Option("--discontinued/--continued")] = None,
    backorder_cap: IntOpt = None,
    backorder_until: Annotated[str | None, typer.Option()] = None,
    supplier: SupplierOpt = None,
    require_known_date: Annotated[
        bool | None, typer.Option("--require-known-date/--any-date")
    ] = None,
    max_lead_days: MaxLeadOpt = None,
    min_on_time_percent: OnTimeOpt = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help=f"Remove a limit (repeatable): {', '.join(CLEARABLE)}."),
    ] = None,
    pack: PackOpt = None,
) -> None:
    """Change a product; a new queue strategy re-ranks its queue. --pack sets or clears
    pack sizes, one unit at a time; the others are kept."""
    changes: dict[str, Any] = {
        "name": name,
        "policy": policy,
        "max_per_customer": max_per_customer,
        "lead_time_days": lead_time_days,
        "queue": queue,
        "discontinued": discontinued,
        "backorder_cap": backorder_cap,
        "backorder_until": parse_date(backorder_until),
        "unit_price": money(price) if price is not None else None,
        "supplier": supplier,
        "require_known_date": require_known_date,
        "max_lead_days": max_lead_days,
        "min_on_time_percent": min_on_time_percent,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    for field in clear or ():
        name = field.replace("-", "_")
        if name not in CLEARABLE:
            raise InvalidRequest(f"cannot clear {field!r}; clearable: {', '.join(CLEARABLE)}")
        if name in changes:
            raise InvalidRequest(f"{field} is both set and cleared")
        changes[name] = None
    if pack:
        changes["packs"] = parse_packs(pack)
    if not changes:
        raise InvalidRequest("nothing to change")
    update_product(state_of(ctx).app(), sku, changes)
    out.print(f"updated {sku}", markup=False)


@product_app.command("import")
def product_import(ctx: typer.Context, file: Path) -> None:
    """Add or update products from a CSV (sku,name,price[,policy,max_per_customer,
    lead_time_days,queue,discontinued,backorder_cap,backorder_until,supplier,
    require_known_date,max_lead_days,min_on_time_percent,packs]). A packs cell is the
    product's whole list of packs, as "CA=12 PL=480"; empty: none."""
    state = state_of(ctx)
    result = import_products(state.app(), read_product_csv(file))
    out.print(
        f"imported {result.added} new and {result.updated} updated "
        + ("product" if result.added + result.updated == 1 else "products"),
        markup=False,
    )


@product_app.command("show")
def product_show(ctx: typer.Context, sku: str, as_json: JsonFlag = False) -> None:
    """Show a product."""
    view = product_view(state_of(ctx).app(), sku)
    if as_json:
        emit(view)
    else:
        for label, shown in product_lines(view):
            first, *more = hanging(shown, out.width - LABEL_WIDTH)
            out.print(f"{label + ':':<{LABEL_WIDTH - 1}} {first}", markup=False)
            for line in more:
                out.print(" " * LABEL_WIDTH + line, markup=False)


LABEL_WIDTH = 26


def hanging(shown: str, width: int) -> list[str]:
    """A value's lines beside its label, each starting under the first; words stay whole,
    and a no-break space (between a pack's unit and size) holds two words together."""
    lines = textwrap.wrap(shown, max(width, 20), break_long_words=False, break_on_hyphens=False)
    return [line.replace(NO_BREAK, " ") for line in lines] or [""]


NO_BREAK = "\N{NO-BREAK SPACE}"


def product_lines(view: dict[str, Any]) -> list[tuple[str, str]]:
    """A product's settings in words: "no limit", "21 days", "yes", never None or False."""

    def days(value: int | None, none: str) -> str:
        return none if value is None else count(value, "day")

    on_time = view["min_on_time_percent"]
    return [
        ("SKU", view["sku"]),
        ("name", view["name"]),
        ("unit price", view["price"]),
        ("backorders", "accepted" if view["policy"] == "allow" else "refused"),
        ("queue", view["queue"]),
        ("discontinued", words(view["discontinued"])),
        ("supplier", words(view["supplier"])),
        ("lead time", days(view["lead_time_days"], "unknown (the supplier's)")),
        ("most per customer", words(view["max_per_customer"], "no limit")),
        ("most units on backorder", words(view["backorder_cap"], "no limit")),
        ("backorders taken until", words(view["backorder_until"], "no end date")),
        ("only with a known date", words(view["require_known_date"])),
        ("only if expected within", days(view["max_lead_days"], "no limit")),
        (
            "only if supplier on time",
            "no minimum" if on_time is None else f"at least {on_time}%",
        ),
        ("pack sizes", in_words(view["packs"], NO_BREAK)),
    ]


# --- stock ------------------------------------------------------------------------------


# "-3" reads as an option to Click: taken as the quantity instead, the use case can say
# what is wrong with it ("must be positive") rather than "No such option: -3".
NUMBERS = {"ignore_unknown_options": True}
LocationOpt = Annotated[
    str | None,
    typer.Option(help="The location (code); without it the default location (main)."),
]


@stock_app.command("set", context_settings=NUMBERS)
def stock_set(
    ctx: typer.Context,
    sku: str,
    qty: int,
    ref: Annotated[str | None, typer.Option()] = None,
    location: LocationOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Set on hand at a location to a counted level (takes back or hands out allocations)."""
    change = set_stock(state_of(ctx).app(), sku, qty, ref, location)
    print_change(change, as_json)


@stock_app.command("receive", context_settings=NUMBERS)
def stock_receive(
    ctx: typer.Context,
    sku: str,
    qty: int,
    ref: Annotated[str | None, typer.Option(help="e.g. a purchase-order number")] = None,
    location: LocationOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Receive stock at a location; the network queue is served in rank order from it. A
    --ref naming an open purchase order counts against it and arrives at its location."""
    change = receive_stock(state_of(ctx).app(), sku, qty, ref, location)
    print_change(change, as_json)


@stock_app.command("show")
def stock_show(ctx: typer.Context, sku: str, as_json: JsonFlag = False) -> None:
    """On hand, allocated, available and backordered units of a SKU, in total and at each
    location."""
    view = stock_by_location(state_of(ctx).app(), sku)
    if as_json:
        emit(view)
        return
    figures = {k: v for k, v in view.items() if k not in ("sku", "locations")}
    out.print(
        f"{view['sku']}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in figures.items()),
        markup=False,
    )
    for place in view["locations"]:
        out.print(
            f"  at {place['location']}: on hand {place['on_hand']}, allocated "
            f"{place['allocated']}, available {place['available']}",
            markup=False,
        )
