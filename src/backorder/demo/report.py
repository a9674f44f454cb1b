"""The demo summary: every figure is read back from the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import Connection, func, select, type_coerce

# --- the summary: every figure is read back from the database --------------------------
from backorder.demo.store import (
    CATALOGUE,
    DAYS,
    LINE,
    ORDER,
    PRODUCT,
    REFUSALS,
    DemoSummary,
    Span,
)
from backorder.domain.kpis import reason_text
from backorder.foresight import INSTALL
from backorder.report.terminal import kpi_table
from backorder.services.context import Backorder
from backorder.services.kpis import kpis
from backorder.services.report import week_name
from backorder.services.views import queue_view
from backorder.store.tables import (
    allocations,
    cancellations,
    delay_notices,
    events,
    incidents,
    intake_payloads,
    locations,
    order_lines,
    orders,
    po_lines,
    products,
    purchase_orders,
    reviews,
    shipment_lines,
    shipments,
    stock_levels,
    stock_movements,
    suppliers,
    tasks,
)
from backorder.store.types import Money
from backorder.words import money


@dataclass(frozen=True)
class Run:
    """A demo run: its file, its seed and the weeks it traded."""

    file: Path
    seed: int
    span: Span
    key: str  # an ops key for the dashboard, minted by the demo


def _table(title: str, *columns: str, facts: Sequence[tuple[str, object]] = ()) -> Table:
    table = Table(
        *(columns or ("", "")),
        title=title,
        title_style="bold",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_header=bool(columns),
        pad_edge=False,
        caption_justify="left",
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for label, figure in facts:
        table.add_row(label, str(figure))
    return table


def _money(amount: Decimal | None) -> str:
    return money(amount or 0, "USD")  # the demo store trades in dollars


def _value(units: Any) -> Any:
    """Exact money summed in SQL (prices are stored as integers)."""
    return type_coerce(func.sum(LINE.unit_price * units), Money)


def _orders(conn: Connection) -> tuple[Table, list[int]]:
    placed = func.count(func.distinct(ORDER.id))
    rows = conn.execute(
        select(ORDER.channel, placed, func.count(), func.sum(LINE.quantity), _value(LINE.quantity))
        .join_from(order_lines, orders, ORDER.id == LINE.order_id)
        .group_by(ORDER.channel)
        .order_by(placed.desc(), ORDER.channel)
    ).all()
    table = _table("Orders taken, by channel", "channel", "orders", "lines", "units", "value")
    for channel, *figures, amount in rows:
        table.add_row(channel, *map(str, figures), _money(amount))
    totals = [sum(row[i] for row in rows) for i in (1, 2, 3)]
    table.add_section()
    table.add_row(
        "all", *map(str, totals), _money(sum((r[4] for r in rows), Decimal(0))), style="bold"
    )
    return table, totals


def _order_status(conn: Connection) -> str:
    seen = Counter(
        "waiting" if waits else "ready to ship" if held else "shipped" if sent else "cancelled"
        for waits, held, sent in conn.execute(
            select(
                func.sum(LINE.backordered), func.sum(LINE.allocated), func.sum(LINE.shipped)
            ).group_by(LINE.order_id)
        )
    )
    return ", ".join(f"{seen[k]} {k}" for k in ("shipped", "ready to ship", "waiting", "cancelled"))


def _intake(conn: Connection) -> Table:
    """Each line as intake split it: what it got at once, what it queued for, what was refused."""
    took = (
        select(allocations.c.line_id, func.sum(allocations.c.units).label("units"))
        .where(allocations.c.source == "intake")
        .group_by(allocations.c.line_id)
        .subquery()
    )
    refused = (
        select(cancellations.c.line_id, func.sum(cancellations.c.units).label("units"))
        .where(cancellations.c.reason.in_(REFUSALS))
        .group_by(cancellations.c.line_id)
        .subquery()
    )
    rows = conn.execute(
        select(LINE.quantity, func.coalesce(took.c.units, 0), func.coalesce(refused.c.units, 0))
        .outerjoin_from(order_lines, took, took.c.line_id == LINE.id)
        .outerjoin(refused, refused.c.line_id == LINE.id)
    )
    outcomes = ("in stock", "part in stock, rest waits", "all of it waits", "refused, all or part")
    split = {outcome: [0, 0, 0, 0] for outcome in outcomes}
    for quantity, allocated, cancelled in rows:
        outcome = outcomes[3 if cancelled else 0 if allocated == quantity else 2 - bool(allocated)]
        for n, units in enumerate((1, allocated, quantity - allocated - cancelled, cancelled)):
            split[outcome][n] += units
    table = _table(
        "How lines were split at intake", "outcome", "lines", "allocated", "backordered", "refused"
    )
    for outcome, figures in split.items():
        table.add_row(outcome, *map(str, figures))
    return table


def _waiting(conn: Connection) -> tuple[Table, Table, int]:
    units, lines, skus, amount = conn.execute(
        select(
            func.coalesce(func.sum(LINE.backordered), 0),
            func.count(),
            func.count(func.distinct(LINE.product_id)),
            _value(LINE.backordered),
        ).where(LINE.backordered > 0)
    ).one()
    now = _table(
        "Backordered now",
        facts=(
            ("units waiting", units),
            ("lines waiting", lines),
            ("SKUs with a queue", skus),
            ("value", _money(amount)),
        ),
    )
    refusals = _table("Refused at intake", "reason", "lines", "units")
    for row in conn.execute(
        select(cancellations.c.reason, func.count(), func.sum(cancellations.c.units))
        .where(cancellations.c.reason.in_(REFUSALS))
        .group_by(cancellations.c.reason)
        .order_by(func.sum(cancellations.c.units).desc(), cancellations.c.reason)
    ):
        refusals.add_row(reason_text(row[0]), *map(str, row[1:]))
    return now, refusals, int(units)


def _queues(app: Backorder, today: date) -> tuple[Table, list[tuple[str, str]]]:
    """The five longest queues; their heads come from the same view `backorder queue` shows."""
    depth = func.count().label("depth")
    with app.db.read() as uow:
        longest = uow.connection.execute(
            select(PRODUCT.sku, PRODUCT.queue_strategy, depth, func.sum(LINE.backordered))
            .join_from(order_lines, products, PRODUCT.id == LINE.product_id)
            .where(LINE.backordered > 0)
            .group_by(PRODUCT.sku, PRODUCT.queue_strategy)
            .order_by(depth.desc(), PRODUCT.sku)
            .limit(5)
        ).all()
    table = _table(
        "Longest queues, and who is first in each",
        "SKU",
        "lines",
        "units",
        "first in line, and why",
        "ETA",
    )
    table.columns[0].no_wrap = table.columns[4].no_wrap = True
    table.columns[3].justify, heads = "left", []
    for sku, strategy, lines, units in longest:
        head = queue_view(app, sku, limit=1)["entries"][0]
        heads.append((sku, head["ref"]))
        table.add_row(
            f"{sku}\n[dim]{strategy}[/]",
            str(lines),
            str(units),
            f"{head['ref']} ({head['tier']})\n[dim]{head['rule']}[/]",
            _eta(head["eta"], today),
        )
    return table, heads


def _eta(eta: str | None, today: date) -> str:
    if eta is None:
        return "[dim]none yet[/]"
    day = date.fromisoformat(eta)
    return f"{day:%d %b}" + ("" if day >= today else "\n[dim]overdue[/]")


def _stock_flow(conn: Connection) -> tuple[Table, int, int]:
    receipts, received = conn.execute(
        select(func.count(), func.coalesce(func.sum(stock_movements.c.units), 0)).where(
            stock_movements.c.kind == "receipt"
        )
    ).one()
    by_source = {
        source: (lines, units)
        for source, lines, units in conn.execute(
            select(allocations.c.source, func.count(), func.sum(allocations.c.units))
            .where(allocations.c.source != "intake")
            .group_by(allocations.c.source)
        )
    }
    taken = [
        payload["units"]
        for payload in conn.execute(
            select(events.c.payload).where(events.c.type == "allocation_taken_back")
        ).scalars()
    ]
    table = _table("Stock that reached waiting lines", "how", "lines", "units")
    table.caption = f"{receipts} receipts brought in {received} units"
    for source, label in (
        ("receipt", "purchase-order receipts"),
        ("release", "freed by cancellations"),
        ("stock_set", "stock counts"),
    ):
        if source in by_source or source != "stock_set":
            table.add_row(label, *map(str, by_source.get(source, (0, 0))))
    table.add_row("taken back by a cycle count", str(len(taken)), str(-sum(taken)))
    return table, int(receipts), int(by_source.get("receipt", (0, 0))[1])


def _cancellations(conn: Connection) -> tuple[Table, int]:
    """Cancellations after intake (refusals are counted above); one request per order and time."""
    after_intake = cancellations.c.reason.not_in(REFUSALS)
    requests = (
        select(LINE.order_id, cancellations.c.cancelled_at)
        .join_from(cancellations, order_lines, LINE.id == cancellations.c.line_id)
        .where(after_intake)
        .distinct()
        .subquery()
    )
    count = int(conn.execute(select(func.count()).select_from(requests)).scalar_one())
    table = _table(f"Cancellations: {count} requests", "reason", "lines", "units", "held stock")
    for row in conn.execute(
        select(
            cancellations.c.reason,
            func.count(),
            func.sum(cancellations.c.units),
            func.sum(cancellations.c.from_allocated),
        )
        .where(after_intake)
        .group_by(cancellations.c.reason)
        .order_by(func.sum(cancellations.c.units).desc(), cancellations.c.reason)
    ):
        table.add_row(reason_text(row[0]), *map(str, row[1:]))
    return table, count


def _shipments(conn: Connection) -> tuple[Table, int]:
    count, shipped, units, amount = conn.execute(
        select(
            func.count(func.distinct(shipments.c.id)),
            func.count(func.distinct(shipments.c.order_id)),
            func.sum(shipment_lines.c.units),
            _value(shipment_lines.c.units),
        )
        .join_from(shipment_lines, shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .join(order_lines, LINE.id == shipment_lines.c.line_id)
    ).one()
    return _table(
        "Shipped",
        facts=(
            ("shipments", count),
            ("orders", shipped),
            ("units", units or 0),
            ("value", _money(amount)),
        ),
    ), int(count)


def _locations(conn: Connection) -> tuple[Table, str | None]:
    """Each location's stock now, what was allocated there and shipped from it, and how many
    orders took units from more than one location."""
    loc, level, a, s = locations.c, stock_levels.c, allocations.c, shipments.c
    stock = dict(
        (code, (on_hand, allocated))
        for code, on_hand, allocated in conn.execute(
            select(loc.code, func.sum(level.on_hand), func.sum(level.allocated))
            .join_from(stock_levels, locations, loc.id == level.location_id)
            .group_by(loc.code)
        )
    )
    given = dict(
        conn.execute(
            select(loc.code, func.sum(a.units))
            .join_from(allocations, locations, loc.id == a.location_id)
            .group_by(loc.code)
        ).all()
    )
    sent = {
        code: (count, units)
        for code, count, units in conn.execute(
            select(loc.code, func.count(func.distinct(s.id)), func.sum(shipment_lines.c.units))
            .join_from(shipments, locations, loc.id == s.location_id)
            .join(shipment_lines, shipment_lines.c.shipment_id == s.id)
            .group_by(loc.code)
        )
    }
    places = (
        select(LINE.order_id)
        .join_from(allocations, order_lines, LINE.id == a.line_id)
        .group_by(LINE.order_id)
        .having(func.count(func.distinct(a.location_id)) > 1)
        .subquery()
    )
    split = conn.execute(select(func.count()).select_from(places)).scalar_one()
    example = conn.execute(
        select(ORDER.channel, ORDER.external_id)
        .where(ORDER.id.in_(select(places.c.order_id)))
        .order_by(ORDER.id)
        .limit(1)
    ).first()
    table = _table(
        "Stock and shipments by location",
        "location",
        "kind",
        "on hand",
        "allocated",
        "units allocated there",
        "shipments",
        "units shipped",
    )
    for code, kind in conn.execute(
        select(loc.code, loc.kind).order_by(loc.priority, loc.transit_days, loc.code)
    ):
        on_hand, allocated = stock.get(code, (0, 0))
        count, units = sent.get(code, (0, 0))
        table.add_row(
            code,
            kind,
            str(on_hand),
            str(allocated),
            str(given.get(code) or 0),
            str(count),
            str(units or 0),
        )
    fed: dict[str, int] = dict(
        conn.execute(
            select(intake_payloads.c.channel, func.count())
            .where(intake_payloads.c.channel.in_(("stock-csv", "x12-945", "mcf")))
            .where(intake_payloads.c.state == "accepted")
            .group_by(intake_payloads.c.channel)
        ).all()
    )
    table.caption = (
        f"{split} orders took units from more than one location. Through the intake: "
        f"{fed.get('stock-csv', 0)} morning snapshots from 3pl-east, "
        f"{fed.get('x12-945', 0)} X12 945 shipping advices from it and "
        f"{fed.get('mcf', 0)} Amazon MCF shipments from fba-us."
    )
    return table, f"{example.channel}:{example.external_id}" if example else None


def _review(conn: Connection, result: dict[str, Any], today: datetime) -> Table:
    """This morning's review beside what the reviews of the five weeks left behind."""
    runs, opened, tasks_open, logged, notices = (
        conn.execute(select(func.count()).select_from(table_).where(*where)).scalar_one()
        for table_, where in (
            (reviews, ()),
            (tasks, ()),
            (tasks, (tasks.c.state == "open",)),
            (incidents, ()),
            (delay_notices, ()),
        )
    )
    table = _table(f"Daily review (run {runs} mornings)", "", f"{today:%a %d %b}", "five weeks")
    for label, now, then in (
        ("overdue lines", result["overdue_lines"], ""),
        ("value at risk", _money(Decimal(result["value_at_risk"])), ""),
        ("tasks opened", result["tasks_opened"], opened),
        ("tasks still open", "", tasks_open),
        ("incidents logged", result["incidents"], logged),
        ("delay notices", result["customers_notified"], notices),
    ):
        table.add_row(label, str(now), str(then))
    return table


def _suppliers(conn: Connection, today: date) -> Table:
    """Each supplier's purchase orders: how many, how many still open, how many of those
    are late now, and its on-time record."""
    po, line, sup = purchase_orders.c, po_lines.c, suppliers.c
    late = (
        select(po.supplier_id, func.count(func.distinct(po.id)).label("late"))
        .join_from(purchase_orders, po_lines, line.po_id == po.id)
        .where(
            po.state == "open",
            line.expected_on < today,
            line.ordered > line.received + line.cancelled,
        )
        .group_by(po.supplier_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            sup.id,
            func.count(po.id),
            func.count(po.id).filter(po.state == "open"),
            func.coalesce(func.max(late.c.late), 0),
            sup.orders_completed,
            sup.orders_on_time,
        )
        .outerjoin_from(suppliers, purchase_orders, po.supplier_id == sup.id)
        .outerjoin(late, late.c.supplier_id == sup.id)
        .group_by(sup.id, sup.orders_completed, sup.orders_on_time)
        .order_by(sup.id)
    ).all()
    table = _table("Suppliers", "supplier", "purchase orders", "open", "late now", "on time")
    for supplier, placed, still_open, late_now, done, on_time in rows:
        record = f"{100 * on_time / done:.0f}% of {done}" if done else "-"
        table.add_row(supplier, str(placed), str(still_open), str(late_now), record)
    return table


def _ahead(ahead: dict[str, Any]) -> Table:
    """What the forecasts see coming: the SKUs projected to run out within eight weeks."""
    imported = ahead["imported"]
    weeks_in = (
        f"a year of weekly sales of {imported.get('skus', 0)} SKUs from before the store opened"
    )
    if not ahead["available"]:
        table = _table("Coming shortages", facts=[("history imported", weeks_in)])
        table.caption = escape(
            f"Forecasts and coming shortages need the forecast extra: {INSTALL}, then run "
            "the demo again."
        )
        table.caption_justify = "left"
        return table
    found, made = ahead["shortages"], ahead["forecasts"]
    table = _table(
        f"Coming shortages: {found['count']} SKUs run out within {found['weeks']} weeks",
        "SKU",
        "runs out",
        "short",
        "order by",
        "safety stock",
    )
    this_week = date.fromisoformat(found["as_of"][:10])
    this_week -= timedelta(days=this_week.weekday())
    for row in found["shortages"]:
        order_by, week = date.fromisoformat(row["order_by"]), date.fromisoformat(row["week"])
        table.add_row(
            row["sku"],
            "this week" if week <= this_week else f"week of {week:%d %b}",
            str(row["units_short"]),
            f"{order_by:%d %b}" + (" (late)" if row["late"] else ""),
            str(row["safety_stock"]),
        )
    table.caption = (
        f"Forecast {made['skus']} SKUs by week from their orders and the history imported "
        f"({weeks_in}). Projected stock = on hand - allocated - waiting + inbound - forecast; "
        "this week: the waiting orders already exceed what is on hand and due."
    )
    table.caption_justify = "left"
    return table


def _restock(ahead: dict[str, Any]) -> Table:
    """The restock orders the plan proposes (the first few, soonest need first), and why
    the first one was chosen, in its own words."""
    done, shown = ahead["replenished"], ahead["recommendations"]
    table = _table(
        f"Restock recommendations: {done['proposed']} proposed",
        "SKU",
        "from",
        "quantity",
        "cost",
        "arrives",
        "expected to wait",
    )
    for rec in shown:
        source = rec["supplier"] if rec["kind"] == "purchase" else f"{rec['from_location']}"
        table.add_row(
            rec["key"],
            source,
            str(rec["quantity"]),
            _money(Decimal(rec["unit_cost"]) * rec["quantity"]),
            f"{date.fromisoformat(rec['arrive_on']):%d %b}",
            f"{rec['expected_short']:.0f}",
        )
    if shown:
        first = shown[0]
        table.caption = escape(
            f"Why {first['key']}: "
            + " ".join(first["reasons"][1:])
            + " All of them: backorder replenish plan; the supplier with the cheapest expected "
            "outcome (price plus the backorders its measured lateness would leave) wins."
        )
    return table


def report(
    app: Backorder, run: Run, console: Console, review: dict[str, Any], ahead: dict[str, Any]
) -> DemoSummary:
    opening, today = run.span.opening, run.span.today
    with app.db.read() as uow:
        conn = uow.connection
        customers = conn.execute(select(func.count(func.distinct(ORDER.customer_id)))).scalar_one()
        placed, totals = _orders(conn)
        status, intake = _order_status(conn), _intake(conn)
        now, refusals, waiting = _waiting(conn)
        flow, receipts, by_receipts = _stock_flow(conn)
        cancelled, cancel_count = _cancellations(conn)
        shipped, shipment_count = _shipments(conn)
        network, split_ref = _locations(conn)
        supply = _suppliers(conn, today.date())
        reviewed = _review(conn, review, today)
    queues, heads = _queues(app, today.date())
    console.print(
        Panel(
            f"[bold]{len(CATALOGUE)} SKUs, {customers} customers, {DAYS // 7} weeks of trading[/]: "
            f"{opening:%a %d %b} to {today:%a %d %b %Y} on a simulated clock (seed {run.seed}).\n"
            f"Orders now: {status}.",
            title="Backorder demo",
            title_align="left",
        )
    )
    for part in (
        placed,
        intake,
        Columns([now, refusals], padding=(0, 4)),
        queues,
        flow,
        Columns([cancelled, shipped], padding=(0, 4)),
        network,
        supply,
        reviewed,
        _ahead(ahead),
        *([_restock(ahead)] if ahead["available"] else []),
        kpi_table(
            kpis(app, opening.date(), today.date())["kpis"],
            f"KPIs of the five weeks ({opening:%d %b} to {today:%d %b}) against their targets",
        ),
    ):
        console.print(part)
        if isinstance(part, Table) and part.caption:
            console.print()
    console.print(f"[bold]Look around[/] (the store is in [bold]{run.file}[/]):")
    db = f"backorder --db sqlite:///{run.file}"
    sku, ref = heads[0] if heads else (CATALOGUE[0].product.sku, None)
    for command in (
        f"queue {sku}",
        f"stock show {sku}",
        f"order show {ref}" if ref else "",
        f"order show {split_ref}" if split_ref else "",
        "po list --state open",
        f"forecast {sku}" if ahead["available"] else "",
        "shortages" if ahead["available"] else "",
        "replenish plan" if ahead["available"] else "",
        f"projection {sku}" if ahead["available"] else "",
        "task list",
        "incident list",
        f"kpi --from {opening:%Y-%m-%d} --to {today:%Y-%m-%d} --by channel",
        f"kpi --from {opening:%Y-%m-%d} --to {today:%Y-%m-%d} --by location",
        f"report weekly --week {week_name(today.date() - timedelta(days=7))} --out report.html",
    ):
        if command:
            console.print(f"  {db} {command}", soft_wrap=True, highlight=False, markup=False)
    console.print(
        f"[dim]The demo's clock stopped at {today:%H:%M UTC on %d %b %Y}; these go on from "
        "there on the real clock. Its own messages are marked as never sent: a worker on "
        "this file e-mails none of its customers.[/]"
    )
    console.print()
    console.print("[bold]Next: the dashboard.[/] Start the server:")
    console.print(f"  {db} serve", soft_wrap=True, highlight=False, markup=False)
    console.print("then open http://127.0.0.1:8000/ and sign in with this key (role ops):")
    console.print(f"  {run.key}", soft_wrap=True, highlight=False, markup=False)
    return DemoSummary(
        totals[0], totals[1], waiting, receipts, by_receipts, cancel_count, shipment_count
    )
