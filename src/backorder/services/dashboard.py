"""What the operations dashboard shows, read in one transaction: the tracking view (what waits,
the oldest, what is expected within 7 days, its value), backorders per day, aging, the
longest queues with their heads and where their next units come from, the stock at each
location, the overdue lines, open tasks, intake dead letters and failed notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select, type_coerce

from backorder.config import Settings
from backorder.domain.access import Permission
from backorder.domain.kpis import AGING, Facts, amount_text, money_strings, money_text
from backorder.services.context import Backorder
from backorder.services.kpis import Period, waiting_now
from backorder.services.links import segment
from backorder.services.next_units import network_stock, next_view, site_codes, sources_of
from backorder.services.report import days_of
from backorder.services.shortages import coming
from backorder.store.tables import (
    deliveries,
    events,
    intake_payloads,
    order_lines,
    orders,
    products,
    tasks,
)
from backorder.store.types import Money

LINE, ORDER, PRODUCT = order_lines.c, orders.c, products.c
TREND_DAYS = 14
SOON_DAYS = 7
LISTED = 10


# Each link opens the record's page (GET /records/<path>: what /api/v1/<path> answers,
# laid out as a page, with a link to the JSON).
RECORDS = "/records"


def order_link(ref: str) -> str:
    return f"{RECORDS}/orders/{segment(ref)}"


def product_link(sku: str) -> str:
    """A SKU's page: the product, its stock, its queue, and (by role) receiving and counting."""
    return f"{RECORDS}/products/{segment(sku)}"


def overview(app: Backorder, may: frozenset[Permission]) -> dict[str, Any]:
    """The page's parts that a session holding the permissions `may` is allowed to read
    (each part needs what its counterpart in the API needs; see SECTIONS)."""
    now = app.now()
    with app.db.read() as uow:
        conn = uow.connection
        facts = waiting_now(conn, now)
        view: dict[str, Any] = {"as_of": now.isoformat()}
        for name, (needed, build) in SECTIONS.items():
            if needed in may:
                view[name] = build(conn, now, facts)
        if Permission.READ in may:  # GET /locations, GET /queues/{sku}/sources
            view["locations"] = network_stock(conn, app.settings)
            _next_units(conn, view.get("queues", []), app.settings)
        if Permission.READ in may:  # GET /shortages
            view["shortages"] = _shortages(conn, now, app.settings.shortage_weeks)
    return view


def _next_units(conn: Connection, queues: list[dict[str, Any]], settings: Settings) -> None:
    """Each listed queue gets where its next units come from (`next`, None: nowhere yet)."""
    found = sources_of(conn, [q["product_id"] for q in queues], settings)
    codes = site_codes(conn)
    for queue in queues:
        queue["next"] = next_view(found[queue.pop("product_id")], codes)


def _tracking_view(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    return _tracking(conn, now) | {"value": money_text(money_strings(facts.waiting().value))}


def _at_risk(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    return {"lines": facts.at_risk.lines, "value": money_text(money_strings(facts.at_risk.value))}


def _aging(conn: Connection, now: datetime, facts: Facts) -> list[dict[str, Any]]:
    return [{"days": label, "lines": facts.aging[label].lines} for label, _, _ in AGING]


def _days(conn: Connection, now: datetime, facts: Facts) -> list[dict[str, Any]]:
    today = now.date()
    return days_of(conn, Period(today - timedelta(days=TREND_DAYS - 1), today))


def _tracking(conn: Connection, now: datetime) -> dict[str, Any]:
    soon = now.date() + timedelta(days=SOON_DAYS)
    waiting = LINE.backordered > 0
    lines, units, orders_waiting, expected, expected_units = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(LINE.backordered), 0),
            func.count(func.distinct(LINE.order_id)),
            func.sum(case((LINE.eta <= soon, 1), else_=0)),
            func.sum(case((LINE.eta <= soon, LINE.backordered), else_=0)),
        ).where(waiting)
    ).one()
    oldest = conn.execute(
        select(ORDER.channel, ORDER.external_id, PRODUCT.sku, LINE.backordered_at, LINE.eta)
        .select_from(
            order_lines.join(orders, ORDER.id == LINE.order_id).join(
                products, PRODUCT.id == LINE.product_id
            )
        )
        .where(waiting, LINE.backordered_at.is_not(None))
        .order_by(LINE.backordered_at, LINE.id)
        .limit(1)
    ).first()
    return {
        "lines": lines,
        "units": int(units),
        "orders": orders_waiting,
        "expected_soon": {"lines": int(expected or 0), "units": int(expected_units or 0)},
        "oldest": None
        if oldest is None
        else {
            "order": f"{oldest.channel}:{oldest.external_id}",
            "link": order_link(f"{oldest.channel}:{oldest.external_id}"),
            "sku": oldest.sku,
            "since": oldest.backordered_at.isoformat(),
            "days": (now - oldest.backordered_at).days,
            "eta": oldest.eta.isoformat() if oldest.eta else None,
        },
    }


def _queues(conn: Connection, now: datetime, facts: Facts) -> list[dict[str, Any]]:
    """The longest queues, with the line at the head (rank class, then order time): one
    index seek per listed queue, where a window over the waiting lines would read a deep
    queue whole."""
    longest = conn.execute(
        select(
            PRODUCT.id,
            PRODUCT.sku,
            PRODUCT.name,
            PRODUCT.on_hand,
            PRODUCT.allocated,
            func.count().label("lines"),
            func.sum(LINE.backordered).label("units"),
            func.min(LINE.eta).label("next_eta"),
        )
        .select_from(order_lines.join(products, PRODUCT.id == LINE.product_id))
        .where(LINE.backordered > 0)
        .group_by(PRODUCT.id, PRODUCT.sku, PRODUCT.name, PRODUCT.on_hand, PRODUCT.allocated)
        .order_by(func.sum(LINE.backordered).desc(), PRODUCT.sku)
        .limit(LISTED)
    ).all()
    queues = []
    for row in longest:
        head = conn.execute(
            select(ORDER.channel, ORDER.external_id, LINE.backordered, LINE.eta)
            .select_from(order_lines.join(orders, ORDER.id == LINE.order_id))
            .where(LINE.product_id == row.id, LINE.backordered > 0)
            .order_by(LINE.rank_class, LINE.placed_at, LINE.id)
            .limit(1)
        ).one()
        ref = f"{head.channel}:{head.external_id}"
        queues.append(
            {
                "product_id": row.id,
                "sku": row.sku,
                "name": row.name,
                "link": product_link(row.sku),
                "lines": row.lines,
                "units": int(row.units),
                "available": row.on_hand - row.allocated,
                "next_eta": row.next_eta.isoformat() if row.next_eta else None,
                "head": {
                    "order": ref,
                    "link": order_link(ref),
                    "units": head.backordered,
                    "eta": head.eta.isoformat() if head.eta else None,
                },
            }
        )
    return queues


def _overdue(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    late = (LINE.backordered > 0) & (LINE.promised < now.date())
    count = conn.execute(select(func.count()).select_from(order_lines).where(late)).scalar_one()
    rows = conn.execute(
        select(
            ORDER.channel,
            ORDER.external_id,
            ORDER.currency,
            PRODUCT.sku,
            LINE.backordered,
            LINE.promised,
            LINE.eta,
            type_coerce(LINE.backordered * LINE.unit_price, Money).label("value"),
        )
        .select_from(
            order_lines.join(orders, ORDER.id == LINE.order_id).join(
                products, PRODUCT.id == LINE.product_id
            )
        )
        .where(late)
        .order_by(LINE.promised, LINE.id)
        .limit(LISTED)
    ).all()
    return {
        "count": count,
        "lines": [
            {
                "order": f"{r.channel}:{r.external_id}",
                "link": order_link(f"{r.channel}:{r.external_id}"),
                "sku": r.sku,
                "units": r.backordered,
                "promised": r.promised.isoformat(),
                "days_late": (now.date() - r.promised).days,
                "eta": r.eta.isoformat() if r.eta else None,
                "value": f"{r.currency} {amount_text(r.value)}",
            }
            for r in rows
        ],
    }


def _tasks(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    open_ = tasks.c.state == "open"
    count = conn.execute(select(func.count()).select_from(tasks).where(open_)).scalar_one()
    rows = conn.execute(
        select(tasks.c.id, tasks.c.role, tasks.c.sku, tasks.c.title, tasks.c.due_on)
        .where(open_)
        .order_by(tasks.c.due_on, tasks.c.id)
        .limit(LISTED)
    ).all()
    return {
        "count": count,
        "link": f"{RECORDS}/tasks",
        "items": [
            {
                "id": r.id,
                "role": r.role,
                "sku": r.sku,
                "title": r.title,
                "due_on": r.due_on.isoformat(),
                "link": product_link(r.sku),
            }
            for r in rows
        ],
    }


def _dead_letters(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    p = intake_payloads.c
    dead = p.state == "dead"
    count = conn.execute(select(func.count()).select_from(intake_payloads).where(dead)).scalar_one()
    rows = conn.execute(
        select(p.id, p.channel, p.external_id, p.received_at, p.reasons)
        .where(dead)
        .order_by(p.received_at.desc(), p.id.desc())
        .limit(LISTED)
    ).all()
    return {
        "count": count,
        "link": f"{RECORDS}/intake/dead-letters",
        "items": [
            {
                "id": r.id,
                "channel": r.channel,
                "external_id": r.external_id,
                "received_at": r.received_at.isoformat(),
                "reason": _first_reason(r.reasons),
            }
            for r in rows
        ],
    }


def _shortages(conn: Connection, now: datetime, weeks: int) -> dict[str, Any]:
    """The coming shortages: SKUs projected to stock out within the setting's weeks, each
    linked to its page (chart and projection), as the last plan refresh found them."""
    found = coming(conn, now.date(), weeks, LISTED)
    for item in found["shortages"]:
        item["link"] = product_link(item["sku"])
    return found | {"link": f"/api/v1/shortages?weeks={weeks}"}


def _first_reason(reasons: Any) -> str:
    if not reasons:
        return ""
    first = reasons[0]
    return (
        str(first.get("message") or first.get("code") or first)
        if isinstance(first, dict)
        else str(first)
    )


def _failed(conn: Connection, now: datetime, facts: Facts) -> dict[str, Any]:
    d = deliveries.c
    dead = d.state == "dead"
    count = conn.execute(select(func.count()).select_from(deliveries).where(dead)).scalar_one()
    rows = conn.execute(
        select(d.id, d.channel, d.kind, d.recipient, d.last_error, d.order_ref, events.c.type)
        .join(events, events.c.id == d.event_id)
        .where(dead)
        .order_by(d.id.desc())
        .limit(LISTED)
    ).all()
    return {
        "count": count,
        "link": f"{RECORDS}/notifications/failed",
        "items": [
            {
                "id": r.id,
                "channel": r.channel,
                "kind": r.kind or r.type,
                "recipient": r.recipient,
                "error": r.last_error or "",
                "order": r.order_ref,
                "link": order_link(r.order_ref) + "/notifications"
                if r.order_ref
                else f"{RECORDS}/notifications/failed",
            }
            for r in rows
        ],
    }


# Each part of the page, the permission its counterpart in the API needs, and what builds it:
# a session is shown only what its role may read through the API (a channel's session no
# queues, stock, tasks or dead letters; only roles that see who messages go to, the failed
# notifications and their recipients).
Build = Callable[[Connection, datetime, Facts], Any]
SECTIONS: dict[str, tuple[Permission, Build]] = {
    "tracking": (Permission.READ_ORDERS, _tracking_view),  # GET /backorders
    "overdue": (Permission.READ_ORDERS, _overdue),  # GET /backorders (promised dates)
    "at_risk": (Permission.READ, _at_risk),  # GET /kpis
    "aging": (Permission.READ, _aging),  # GET /kpis
    "days": (Permission.READ, _days),  # GET /reports/weekly
    "queues": (Permission.READ, _queues),  # GET /queues/{sku}
    "tasks": (Permission.READ, _tasks),  # GET /tasks
    "dead_letters": (Permission.READ, _dead_letters),  # GET /intake/dead-letters
    "failed": (Permission.NOTIFY, _failed),  # GET /notifications/failed
}
