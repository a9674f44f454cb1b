"""The `backorder` command. Every read command takes --json and then prints one JSON document;
errors print one clear line to stderr, exit non-zero and change nothing."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from backorder.canonical import parse_orders
from backorder.config import Settings
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.model import Policy, Product, QueueStrategy
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, expedite_order, ship_order
from backorder.services.products import (
    add_product,
    import_products,
    read_product_csv,
    update_product,
)
from backorder.services.stock import receive_stock, set_stock
from backorder.services.views import order_view, product_view, queue_view, stock_view
from backorder.store.db import Database
from backorder.store.migrate import current_revision, head_revision, upgrade
from backorder.store.tables import events, products

out = Console()
err = Console(stderr=True)


class _Group(typer.core.TyperGroup):
    """Turns refusals and database failures into one line on stderr and exit status 1."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BackorderError as error:
            _fail(str(error))
        except OperationalError as error:
            _fail(f"database error: {str(error.orig).strip().splitlines()[0]}")
        except OSError as error:
            _fail(str(error))


def _fail(message: str) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Backorder: take orders from every channel, queue what waits, serve it fairly.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
product_app = typer.Typer(no_args_is_help=True, help="Products and their backorder policy.")
stock_app = typer.Typer(no_args_is_help=True, help="On hand, allocated, available.")
order_app = typer.Typer(no_args_is_help=True, help="Place, show, cancel and ship orders.")
app.add_typer(db_app, name="db")
app.add_typer(product_app, name="product")
app.add_typer(stock_app, name="stock")
app.add_typer(order_app, name="order")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@dataclass
class State:
    settings: Settings
    url: str
    opened: Backorder | None = None

    def app(self) -> Backorder:
        if self.opened is None:
            self.opened = Backorder.open(self.settings, self.url)
        return self.opened


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (default: $BACKORDER_DATABASE_URL or sqlite:///backorder.db)"
        ),
    ] = None,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    ctx.obj = State(settings, db or settings.database_url)
    ctx.call_on_close(lambda: ctx.obj.opened.close() if ctx.obj.opened else None)


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)
    return state


def _emit(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(f"{text!r} is not an amount of money") from None
    if not value.is_finite():
        raise InvalidRequest(f"{text!r} is not an amount of money")
    return value


# --- db ---------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to this version."""
    database = Database(_state(ctx).url)
    try:
        upgrade(database)
        out.print(f"schema at {current_revision(database)}")
    finally:
        database.dispose()


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the schema version of the database and of this program."""
    database = Database(_state(ctx).url)
    try:
        status = {
            "url": database.engine.url.render_as_string(hide_password=True),
            "current": current_revision(database),
            "head": head_revision(database),
        }
    finally:
        database.dispose()
    if as_json:
        _emit(status)
    else:
        out.print(f"{status['url']}: schema {status['current']} (this version: {status['head']})")


# --- product ----------------------------------------------------------------------------

PolicyOpt = Annotated[Policy | None, typer.Option(help="Accept backorders or not.")]
QueueOpt = Annotated[QueueStrategy | None, typer.Option("--queue", help="Queue strategy.")]
IntOpt = Annotated[int | None, typer.Option(min=0)]


@product_app.command("add")
def product_add(
    ctx: typer.Context,
    sku: str,
    name: Annotated[str, typer.Option(help="Product name.")],
    price: Annotated[str, typer.Option(help="Unit price, e.g. 19.99.")],
    policy: PolicyOpt = None,
    max_per_customer: IntOpt = None,
    lead_time_days: IntOpt = None,
    queue: QueueOpt = None,
    discontinued: Annotated[bool, typer.Option("--discontinued")] = False,
    backorder_cap: Annotated[
        int | None, typer.Option(min=0, help="Most units on backorder.")
    ] = None,
    backorder_until: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD) to accept backorders.")
    ] = None,
) -> None:
    """Add a product with its backorder policy."""
    state = _state(ctx)
    product = Product(
        sku=sku,
        name=name,
        unit_price=_money(price),
        policy=policy or Policy.ALLOW,
        queue=queue or state.settings.default_queue,
        lead_time_days=lead_time_days,
        max_per_customer=max_per_customer,
        discontinued=discontinued,
        backorder_cap=backorder_cap,
        backorder_until=_date(backorder_until),
    )
    add_product(state.app(), product)
    out.print(f"added {sku}")


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{text!r} is not a date (YYYY-MM-DD)") from None


@product_app.command("update")
def product_update(
    ctx: typer.Context,
    sku: str,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option()] = None,
    policy: PolicyOpt = None,
    max_per_customer: IntOpt = None,
    lead_time_days: IntOpt = None,
    queue: QueueOpt = None,
    discontinued: Annotated[bool | None, typer.Option("--discontinued/--continued")] = None,
    backorder_cap: IntOpt = None,
    backorder_until: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a product; a new queue strategy re-ranks its queue."""
    changes: dict[str, Any] = {
        "name": name,
        "policy": policy,
        "max_per_customer": max_per_customer,
        "lead_time_days": lead_time_days,
        "queue": queue,
        "discontinued": discontinued,
        "backorder_cap": backorder_cap,
        "backorder_until": _date(backorder_until),
        "unit_price": _money(price) if price is not None else None,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise InvalidRequest("nothing to change")
    update_product(_state(ctx).app(), sku, changes)
    out.print(f"updated {sku}")


@product_app.command("import")
def product_import(ctx: typer.Context, file: Path) -> None:
    """Add or update products from a CSV (sku,name,price[,policy,max_per_customer,
    lead_time_days,queue,discontinued,backorder_cap,backorder_until])."""
    state = _state(ctx)
    result = import_products(state.app(), read_product_csv(file, state.settings.default_queue))
    out.print(f"imported {result.added} new and {result.updated} updated product(s)")


@product_app.command("show")
def product_show(ctx: typer.Context, sku: str, as_json: JsonFlag = False) -> None:
    """Show a product."""
    view = product_view(_state(ctx).app(), sku)
    if as_json:
        _emit(view)
    else:
        for key, value in view.items():
            out.print(f"{key:>17}: {value}", markup=False)


# --- stock ------------------------------------------------------------------------------


@stock_app.command("set")
def stock_set(
    ctx: typer.Context,
    sku: str,
    qty: int,
    ref: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set on hand to a counted level (takes back or hands out allocations)."""
    change = set_stock(_state(ctx).app(), sku, qty, ref)
    _print_change(change, as_json)


@stock_app.command("receive")
def stock_receive(
    ctx: typer.Context,
    sku: str,
    qty: int,
    ref: Annotated[str | None, typer.Option(help="e.g. a purchase-order number")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Receive stock; the queue is served in rank order."""
    change = receive_stock(_state(ctx).app(), sku, qty, ref)
    _print_change(change, as_json)


def _print_change(change: Any, as_json: bool) -> None:
    if as_json:
        _emit(asdict(change))
        return
    out.print(
        f"{change.sku}: on hand {change.on_hand}, allocated {change.allocated}, available "
        f"{change.available}, backordered {change.backordered}; served {change.lines_served} "
        f"line(s) with {change.units_allocated} unit(s)"
        + (f", took back {change.units_taken_back}" if change.units_taken_back else ""),
        markup=False,
    )


@stock_app.command("show")
def stock_show(ctx: typer.Context, sku: str, as_json: JsonFlag = False) -> None:
    """On hand, allocated, available and backordered units of a SKU."""
    view = stock_view(_state(ctx).app(), sku)
    if as_json:
        _emit(view)
    else:
        out.print(", ".join(f"{k} {v}" for k, v in view.items()), markup=False)


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
    backorder = _state(ctx).app()
    _check_skus(backorder, {line.sku for r in requests for line in r.lines})
    results = [place_order(backorder, request) for request in requests]
    if as_json:
        _emit([{"ref": r.ref, "created": r.created} for r in results])
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
        raise InvalidRequest(f"unknown SKU(s) {', '.join(unknown)}; nothing was placed")


@order_app.command("show")
def order_show(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """An order, its lines and why each got stock when it did."""
    view = order_view(_state(ctx).app(), ref)
    if as_json:
        _emit(view)
        return
    out.print(
        f"[bold]{view['ref']}[/] {view['status']}  placed {view['placed_at']}  "
        f"customer {view['customer']['id']} ({view['customer']['tier']})"
    )
    table = Table(
        "line", "sku", "qty", "allocated", "backordered", "shipped", "cancelled", "status", "eta"
    )
    for line in view["lines"]:
        table.add_row(
            *(
                str(line[k] if line[k] is not None else "")
                for k in (
                    "line",
                    "sku",
                    "quantity",
                    "allocated",
                    "backordered",
                    "shipped",
                    "cancelled",
                    "status",
                    "eta",
                )
            )
        )
    out.print(table)


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
    result = cancel_order(_state(ctx).app(), ref, line, qty, reason)
    out.print(
        f"cancelled {result.units} unit(s) of {ref}; {result.released} released, "
        f"{result.reallocated} went to the queue",
        markup=False,
    )


@order_app.command("ship")
def order_ship(
    ctx: typer.Context, ref: str, tracking: Annotated[str | None, typer.Option()] = None
) -> None:
    """Ship the order's allocated units."""
    result = ship_order(_state(ctx).app(), ref, tracking)
    out.print(
        f"shipped {result.units} unit(s) of {ref}" + (" (complete)" if result.complete else ""),
        markup=False,
    )


@order_app.command("expedite")
def order_expedite(ctx: typer.Context, ref: str) -> None:
    """Set the manual expedite flag; the order's waiting lines move up priority queues."""
    moved = expedite_order(_state(ctx).app(), ref)
    out.print(f"expedited {ref}; {moved} waiting line(s) re-ranked", markup=False)


# --- queue, events, demo ----------------------------------------------------------------


@app.command("queue")
def queue(
    ctx: typer.Context,
    sku: str,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The backorder queue of a SKU, in the order it will receive stock."""
    view = queue_view(_state(ctx).app(), sku, limit)
    if as_json:
        _emit(view)
        return
    out.print(
        f"[bold]{sku}[/] ({view['strategy']}): {view['depth']} line(s), "
        f"{view['backordered']} unit(s) waiting"
    )
    table = Table("#", "order", "line", "waiting", "placed", "tier", "rule", "eta")
    for e in view["entries"]:
        table.add_row(
            str(e["position"]),
            e["ref"],
            str(e["line"]),
            str(e["backordered"]),
            e["placed_at"][:16],
            e["tier"],
            e["rule"],
            e["eta"] or "",
        )
    out.print(table)


@app.command("events")
def list_events(
    ctx: typer.Context,
    after: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Read the outbox in order."""
    with _state(ctx).app().db.read() as uow:
        rows = (
            uow.connection.execute(
                select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
            )
            .mappings()
            .all()
        )
    documents = [
        {
            "id": r["id"],
            "type": r["type"],
            "occurred_at": r["occurred_at"].isoformat(),
            "order_ref": r["order_ref"],
            "sku": r["sku"],
            "payload": r["payload"],
        }
        for r in rows
    ]
    if as_json:
        _emit(documents)
    else:
        for d in documents:
            out.print(
                f"{d['id']:>6} {d['occurred_at'][:19]} {d['type']:<22} "
                f"{d['order_ref'] or ''} {d['sku'] or ''}",
                markup=False,
            )


@app.command("demo")
def demo(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option(help="SQLite file to build (replaced).")] = Path(
        "backorder-demo.db"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Build a realistic store in a fresh SQLite database and run it through the engine."""
    from backorder.demo import run_demo

    run_demo(_state(ctx).settings, file, seed, out)


def main() -> None:
    app()
