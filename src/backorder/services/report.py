"""The weekly report: what happened to backorders in one ISO week (new and resolved per day,
the daily review's overdue figures, the week's KPIs against their targets) and where they
stand now (aging, money waiting and at risk, the SKUs and suppliers with the most money
waiting, open tasks, the week's incidents). The worker publishes it once a week; the
renderers (backorder.report) turn it into HTML, CSV, JSON or PDF."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    case,
    distinct,
    func,
    insert,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError

from backorder.domain.errors import InvalidRequest
from backorder.domain.events import WeeklyReportReady
from backorder.services.context import Backorder
from backorder.services.kpis import OUT_OF_QUEUE, Period, filled_in, kpis, within
from backorder.services.review import review_days
from backorder.services.tasks import list_incidents, list_tasks
from backorder.store.repos import Outbox
from backorder.store.tables import (
    cancellations,
    order_lines,
    orders,
    products,
    suppliers,
    weekly_reports,
)
from backorder.store.timefuncs import utc_day
from backorder.store.types import Money

log = logging.getLogger(__name__)
LINE, ORDER, PRODUCT = order_lines.c, orders.c, products.c
WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")
TOP = 10


def parse_week(text: str) -> date:
    """The Monday of an ISO week written YYYY-Www (2026-W47)."""
    match = WEEK.fullmatch(text.strip())
    if not match:
        raise InvalidRequest(f"{text!r} is not an ISO week (YYYY-Www, e.g. 2026-W47)")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise InvalidRequest(f"{text!r}: {match[1]} has no week {int(match[2])}") from None
    if date.max - monday < timedelta(days=7):  # the week, and the moment after it
        raise InvalidRequest(f"{text!r}: the calendar ends before that week does")
    return monday


def week_name(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def last_week(today: date) -> date:
    """The Monday of the last complete week."""
    return today - timedelta(days=today.weekday() + 7)


def weekly_report(app: Backorder, week: str | None = None) -> dict[str, Any]:
    """The report of an ISO week (default: the last complete one)."""
    now = app.now()
    monday = parse_week(week) if week else last_week(now.date())
    sunday = monday + timedelta(days=6)
    period = Period(monday, sunday)
    figures = kpis(app, monday, sunday)["kpis"]
    with app.db.stale_read() as uow:  # a read replica's, when one is set
        conn = uow.connection
        days = days_of(conn, period)
        top_skus = _top_skus(conn, now.date())
        top_suppliers = _top_suppliers(conn)
    reviewed = {row["day"]: row for row in review_days(app, monday) if row["day"] <= str(sunday)}
    for day in days:
        review = reviewed.get(day["day"])
        day["overdue_lines"] = review["overdue_lines"] if review else None
        day["value_at_risk"] = review["value_at_risk"] if review else None
    incidents = [i for i in list_incidents(app, since=monday) if i["day"] <= sunday.isoformat()]
    return {
        "week": week_name(monday),
        "from": monday.isoformat(),
        "to": sunday.isoformat(),
        "generated_at": now.isoformat(),
        "days": days,
        "kpis": figures,
        "top_skus": top_skus,
        "top_suppliers": top_suppliers,
        "tasks": list_tasks(app, state="open", limit=100),
        "incidents": incidents[:100],
    }


def _per_day(conn: Connection, query: Any) -> dict[str, tuple[int, int]]:
    return {str(day): (int(lines), int(units or 0)) for day, lines, units in conn.execute(query)}


def days_of(conn: Connection, period: Period) -> list[dict[str, Any]]:
    """Per day: lines that began to wait, lines whose last waiting unit was allocated
    (filled), lines with units cancelled while waiting."""
    c = cancellations.c
    began_day = utc_day(LINE.backordered_at)
    began = _per_day(
        conn,
        select(began_day, func.count(), literal(0))
        .where(within(LINE.backordered_at, period))
        .group_by(began_day),
    )
    filled_day = utc_day(LINE.filled_at)
    filled = _per_day(
        conn,
        select(filled_day, func.count(), literal(0)).where(filled_in(period)).group_by(filled_day),
    )
    cancelled_day = utc_day(c.cancelled_at)
    cancelled = _per_day(
        conn,
        select(cancelled_day, func.count(distinct(c.line_id)), func.sum(c.from_backordered))
        .where(within(c.cancelled_at, period), OUT_OF_QUEUE)
        .group_by(cancelled_day),
    )
    days = []
    for offset in range((period.last - period.first).days + 1):
        day = (period.first + timedelta(days=offset)).isoformat()
        days.append(
            {
                "day": day,
                "new_lines": began.get(day, (0, 0))[0],
                "filled_lines": filled.get(day, (0, 0))[0],
                "cancelled_lines": cancelled.get(day, (0, 0))[0],
                "cancelled_units": cancelled.get(day, (0, 0))[1],
            }
        )
    return days


def _value() -> Any:
    return type_coerce(func.sum(LINE.backordered * LINE.unit_price), Money)


def _top_skus(conn: Connection, today: date) -> list[dict[str, Any]]:
    """The SKUs with the most money waiting now (per currency), with their oldest wait."""
    query = (
        select(
            PRODUCT.sku,
            PRODUCT.name,
            PRODUCT.supplier_id,
            ORDER.currency,
            func.count(),
            func.sum(LINE.backordered),
            _value().label("value"),
            func.min(LINE.backordered_at),
            func.min(LINE.eta),
            func.sum(case((LINE.promised < today, 1), else_=0)),
        )
        .select_from(
            order_lines.join(orders, ORDER.id == LINE.order_id).join(
                products, PRODUCT.id == LINE.product_id
            )
        )
        .where(LINE.backordered > 0)
        .group_by(PRODUCT.sku, PRODUCT.name, PRODUCT.supplier_id, ORDER.currency)
        .order_by(_value().desc(), PRODUCT.sku)
        .limit(TOP)
    )
    return [
        {
            "sku": sku,
            "name": name,
            "supplier": supplier,
            "currency": currency,
            "lines": lines,
            "units": int(units),
            "value": str(value),
            "waiting_since": since.isoformat() if since else None,
            "next_eta": eta.isoformat() if eta else None,
            "overdue_lines": int(overdue or 0),
        }
        for sku, name, supplier, currency, lines, units, value, since, eta, overdue in conn.execute(
            query
        )
    ]


def _top_suppliers(conn: Connection) -> list[dict[str, Any]]:
    query = (
        select(
            PRODUCT.supplier_id,
            suppliers.c.name,
            ORDER.currency,
            func.count(distinct(PRODUCT.id)),
            func.count(),
            func.sum(LINE.backordered),
            _value(),
        )
        .select_from(
            order_lines.join(orders, ORDER.id == LINE.order_id)
            .join(products, PRODUCT.id == LINE.product_id)
            .outerjoin(suppliers, suppliers.c.id == PRODUCT.supplier_id)
        )
        .where(LINE.backordered > 0)
        .group_by(PRODUCT.supplier_id, suppliers.c.name, ORDER.currency)
        .order_by(_value().desc(), PRODUCT.supplier_id)
        .limit(TOP)
    )
    return [
        {
            "supplier": supplier,
            "name": name,
            "currency": currency,
            "skus": skus,
            "lines": lines,
            "units": int(units),
            "value": str(value),
        }
        for supplier, name, currency, skus, lines, units, value in conn.execute(query)
    ]


def report_due(app: Backorder, now: datetime) -> date | None:
    """The Monday of the week whose report is due now and not yet published, if any."""
    settings = app.settings
    this_monday = now.date() - timedelta(days=now.date().weekday())
    due = datetime.combine(
        this_monday + timedelta(days=settings.report_day - 1), settings.report_at, UTC
    )
    if now < due:
        return None
    monday = this_monday - timedelta(days=7)
    with app.db.read() as uow:
        done = uow.connection.execute(
            select(weekly_reports.c.week).where(weekly_reports.c.week == week_name(monday))
        ).first()
    return None if done else monday


def publish(app: Backorder, monday: date) -> None:
    """Record the week's report as published: an event the notifier e-mails to the report's
    recipients (and webhooks receive). Once per week: a second publisher fails on the row."""
    now = app.now()
    name = week_name(monday)
    event = WeeklyReportReady(
        week=name,
        first=monday,
        last=monday + timedelta(days=6),
        recipients=tuple(app.settings.report_email),
    )
    with app.db.write() as uow:
        uow.connection.execute(insert(weekly_reports).values(week=name, published_at=now))
        Outbox(uow.connection).append([event], now)
        uow.commit()


def run_weekly(app: Backorder) -> bool:
    """The worker's part: publish last week's report once it is due; whether it did."""
    monday = report_due(app, app.now())
    if monday is None:
        return False
    try:
        publish(app, monday)
    except IntegrityError:
        log.info("the report of %s was published by another worker", week_name(monday))
        return False
    return True
