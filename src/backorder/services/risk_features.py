"""The backorder-risk features of our own SKUs, in the units of the public
product-backorders data set, so a model trained there (or on our history) scores them.

Per SKU at `now` (the whole network):
- national_inv: on hand.
- in_transit_qty: units on open purchase-order lines (ordered - received - cancelled) and
  units of transfers shipped and not yet received.
- lead_time: the SKU's lead time, else its preferred supplier's terms', else that supplier's
  default, in weeks (days / 7); unknown if none.
- forecast_3/6/9_month: the stored network forecast's weekly points summed over 13/26/39
  weeks from its first week; weeks past the stored horizon continue at its last point.
  Without a stored forecast, the demand of the last 91/182/273 days stands in for it (as
  in the snapshots of our history, where past forecasts are not kept): a forecast of 0
  would tell the model that nothing is expected.
- sales_1/3/6/9_month: units ordered (demand: including what waited or was cancelled) on
  order lines placed in the last 30/91/182/273 days.
- min_bank: the stored forecast's safety stock (0 if none).
- pieces_past_due: open purchase-order units whose expected date is before today.
- perf_6/12_month_avg: the share of the SKU's supplier's purchase orders completed in the
  last 182/365 days that came on time; -99 (unknown) when none completed then.
- local_bo_qty: units on backorder now.
- rev_stop: the SKU is discontinued. The other flags (potential_issue, deck_risk,
  oe_constraint, ppap_risk, stop_auto_buy) are not known here: None, and the model gives
  them the value most SKUs had in its training data.

`snapshots` reconstructs the same features at past weekly dates from the history, with the
label (a line of the SKU went on backorder within 8 weeks after), for retraining on our own
outcomes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from backorder.store.tables import (
    forecast_periods,
    forecasts,
    order_lines,
    po_lines,
    product_suppliers,
    products,
    purchase_orders,
    shipment_lines,
    shipments,
    stock_movements,
    suppliers,
    transfers,
)

SALES_DAYS = {"sales_1_month": 30, "sales_3_month": 91, "sales_6_month": 182}
SALES_DAYS |= {"sales_9_month": 273}
FORECAST_WEEKS = {"forecast_3_month": 13, "forecast_6_month": 26, "forecast_9_month": 39}
PERF_DAYS = {"perf_6_month_avg": 182, "perf_12_month_avg": 365}
UNKNOWN_FLAGS = ("potential_issue", "deck_risk", "oe_constraint", "ppap_risk", "stop_auto_buy")
HORIZON = timedelta(weeks=8)  # the label: went on backorder within this after the date
UNKNOWN_PERF = -99.0

Features = dict[str, float | None]


@dataclass(frozen=True)
class Sku:
    id: int
    sku: str
    on_hand: int
    backordered: int
    lead_days: int | None
    supplier_id: str | None
    discontinued: bool


def _skus(conn: Connection, only: Iterable[str] | None = None) -> list[Sku]:
    query = (
        select(
            products.c.id,
            products.c.sku,
            products.c.on_hand,
            products.c.backordered,
            func.coalesce(
                products.c.lead_time_days,
                product_suppliers.c.lead_time_days,
                suppliers.c.lead_time_days,
            ),
            products.c.supplier_id,
            products.c.discontinued,
        )
        .outerjoin(suppliers, suppliers.c.id == products.c.supplier_id)
        .outerjoin(
            product_suppliers,
            (product_suppliers.c.product_id == products.c.id)
            & (product_suppliers.c.supplier_id == products.c.supplier_id),
        )
        .order_by(products.c.id)
    )
    if only is not None:
        query = query.where(products.c.sku.in_(list(only)))
    return [Sku(*row) for row in conn.execute(query)]


def _sales(conn: Connection, at: datetime) -> dict[int, dict[str, float]]:
    """Units ordered per SKU in each window before `at`."""
    oldest = at - timedelta(days=max(SALES_DAYS.values()))
    columns = [
        func.sum(
            case(
                (order_lines.c.placed_at > at - timedelta(days=days), order_lines.c.quantity),
                else_=0,
            )
        ).label(name)
        for name, days in SALES_DAYS.items()
    ]
    rows = conn.execute(
        select(order_lines.c.product_id, *columns)
        .where(order_lines.c.placed_at > oldest, order_lines.c.placed_at <= at)
        .group_by(order_lines.c.product_id)
    ).mappings()
    return {r["product_id"]: {n: float(r[n] or 0) for n in SALES_DAYS} for r in rows}


def _performance(conn: Connection, at: datetime) -> dict[str, dict[str, float]]:
    """Per supplier, the on-time share of purchase orders completed in each window."""
    oldest = at - timedelta(days=max(PERF_DAYS.values()))
    po = purchase_orders.c
    columns = []
    for name, days in PERF_DAYS.items():
        inside = po.closed_at > at - timedelta(days=days)
        columns.append(func.sum(case((inside, 1), else_=0)).label(f"{name}_n"))
        columns.append(func.sum(case((and_(inside, po.on_time), 1), else_=0)).label(f"{name}_ok"))
    rows = conn.execute(
        select(po.supplier_id, *columns)
        .where(po.state == "received", po.closed_at > oldest, po.closed_at <= at)
        .group_by(po.supplier_id)
    ).mappings()
    found: dict[str, dict[str, float]] = {}
    for r in rows:
        found[r["supplier_id"]] = {
            name: (int(r[f"{name}_ok"] or 0) / int(r[f"{name}_n"]))
            if r[f"{name}_n"]
            else UNKNOWN_PERF
            for name in PERF_DAYS
        }
    return found


def _forecast_sums(conn: Connection) -> dict[int, dict[str, float]]:
    """The stored network forecast summed over 13/26/39 weeks, and its safety stock."""
    rows = conn.execute(
        select(
            forecasts.c.product_id,
            forecasts.c.safety_stock,
            forecast_periods.c.period_start,
            forecast_periods.c.point,
        )
        .outerjoin(forecast_periods, forecast_periods.c.forecast_id == forecasts.c.id)
        .where(forecasts.c.location_id.is_(None))
        .order_by(forecasts.c.product_id, forecast_periods.c.period_start)
    ).all()
    points: dict[int, list[float]] = defaultdict(list)
    safety: dict[int, float] = {}
    for product_id, safety_stock, period_start, point in rows:
        safety[product_id] = float(safety_stock or 0)
        if period_start is not None:
            points[product_id].append(float(point))
    found: dict[int, dict[str, float]] = {}
    for product_id, bank in safety.items():
        weekly = points.get(product_id, [])
        sums = {
            name: sum(weekly[:weeks]) + (weekly[-1] * max(0, weeks - len(weekly)) if weekly else 0)
            for name, weeks in FORECAST_WEEKS.items()
        }
        found[product_id] = sums | {"min_bank": bank}
    return found


def _supply(conn: Connection, today: date) -> dict[int, tuple[float, float]]:
    """Per SKU: units in transit (open PO lines and shipped transfers), and PO units past due."""
    open_units = po_lines.c.ordered - po_lines.c.received - po_lines.c.cancelled
    found: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for product_id, units, late in conn.execute(
        select(
            po_lines.c.product_id,
            func.sum(open_units),
            func.sum(case((po_lines.c.expected_on < today, open_units), else_=0)),
        )
        .join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id)
        .where(open_units > 0, purchase_orders.c.approval == "approved")
        .group_by(po_lines.c.product_id)
    ):
        found[product_id][0] += float(units or 0)
        found[product_id][1] += float(late or 0)
    for product_id, units in conn.execute(
        select(transfers.c.product_id, func.sum(transfers.c.quantity - transfers.c.received))
        .where(transfers.c.state == "shipped")
        .group_by(transfers.c.product_id)
    ):
        found[product_id][0] += float(units or 0)
    return {k: (v[0], v[1]) for k, v in found.items()}


def _row(sku: Sku, known: dict[str, Any]) -> Features:
    perf = known.get("perf") or dict.fromkeys(PERF_DAYS, UNKNOWN_PERF)
    sales = known.get("sales") or dict.fromkeys(SALES_DAYS, 0.0)
    # without a stored forecast, the demand of the matching past months stands in for it
    ahead = known.get("forecast") or {
        "forecast_3_month": sales["sales_3_month"],
        "forecast_6_month": sales["sales_6_month"],
        "forecast_9_month": sales["sales_9_month"],
        "min_bank": 0.0,
    }
    transit, late = known.get("supply") or (0.0, 0.0)
    features: Features = {
        "national_inv": float(known["on_hand"]),
        "lead_time": None if sku.lead_days is None else sku.lead_days / 7.0,
        "in_transit_qty": transit,
        **{name: float(ahead[name]) for name in FORECAST_WEEKS},
        **{name: float(sales[name]) for name in SALES_DAYS},
        "min_bank": float(ahead["min_bank"]),
        "pieces_past_due": late,
        **{name: float(perf[name]) for name in PERF_DAYS},
        "local_bo_qty": float(known["backordered"]),
        "rev_stop": 1.0 if sku.discontinued else 0.0,
    }
    return features | dict.fromkeys(UNKNOWN_FLAGS)


def current(
    conn: Connection, now: datetime, only: Iterable[str] | None = None
) -> dict[str, Features]:
    """The features of every SKU (or those named) at `now`, by SKU."""
    skus = _skus(conn, only)
    sales = _sales(conn, now)
    perf = _performance(conn, now)
    ahead = _forecast_sums(conn)
    supply = _supply(conn, now.date())
    return {
        s.sku: _row(
            s,
            {
                "on_hand": s.on_hand,
                "backordered": s.backordered,
                "sales": sales.get(s.id),
                "perf": perf.get(s.supplier_id or ""),
                "forecast": ahead.get(s.id),
                "supply": supply.get(s.id),
            },
        )
        for s in skus
    }


# --- our own history: snapshots at past dates, and whether the SKU then went on backorder ---


def _on_hand_at(conn: Connection, skus: list[Sku], at: datetime) -> dict[int, int]:
    """On hand at `at`: on hand now, less the stock movements after it, plus the units
    shipped after it (shipping takes units off on hand without a movement)."""
    moved = dict(
        conn.execute(
            select(stock_movements.c.product_id, func.sum(stock_movements.c.units))
            .where(stock_movements.c.moved_at > at)
            .group_by(stock_movements.c.product_id)
        ).all()
    )
    shipped = dict(
        conn.execute(
            select(order_lines.c.product_id, func.sum(shipment_lines.c.units))
            .join(shipment_lines, shipment_lines.c.line_id == order_lines.c.id)
            .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
            .where(shipments.c.shipped_at > at)
            .group_by(order_lines.c.product_id)
        ).all()
    )
    return {
        s.id: max(0, s.on_hand - int(moved.get(s.id) or 0) + int(shipped.get(s.id) or 0))
        for s in skus
    }


def _waiting_at(conn: Connection, at: datetime, until: datetime) -> dict[int, tuple[float, bool]]:
    """Per SKU: units of lines waiting at `at` (a line's whole quantity: partial fills are
    not replayed, so this is an upper bound), and whether a line of it went on backorder
    after `at`, up to `until`."""
    line = order_lines.c
    waiting_at = and_(
        line.backordered_at <= at,
        or_(line.filled_at.is_(None), line.filled_at > at),
        or_(line.withdrawn_at.is_(None), line.withdrawn_at > at),
    )
    units = line.quantity
    rows = conn.execute(
        select(
            line.product_id,
            func.sum(case((waiting_at, units), else_=0)),
            func.sum(case((line.backordered_at > at, 1), else_=0)),
        )
        .where(line.backordered_at.is_not(None), line.backordered_at <= until)
        .group_by(line.product_id)
    ).all()
    return {pid: (float(max(0, waiting or 0)), bool(went)) for pid, waiting, went in rows}


def _supply_at(conn: Connection, at: datetime) -> dict[int, tuple[float, float]]:
    """Per SKU at `at`: units on purchase-order lines ordered by then and not yet fully
    received (their units still open then, approximately ordered - cancelled - received
    when the last receipt came after `at`), and of those, units expected before that day."""
    po = purchase_orders.c
    line = po_lines.c
    open_then = and_(
        po.approval == "approved",
        po.created_at <= at,
        or_(po.closed_at.is_(None), po.closed_at > at),
        or_(line.last_received_at.is_(None), line.last_received_at > at),
    )
    units = line.ordered - line.cancelled
    found: dict[int, tuple[float, float]] = {}
    for product_id, total, late in conn.execute(
        select(
            line.product_id,
            func.sum(units),
            func.sum(case((line.expected_on < at.date(), units), else_=0)),
        )
        .join(purchase_orders, purchase_orders.c.id == line.po_id)
        .where(open_then)
        .group_by(line.product_id)
    ):
        found[product_id] = (float(total or 0), float(late or 0))
    return found


def snapshots(conn: Connection, now: datetime, weeks: int) -> tuple[list[Features], list[int]]:
    """Weekly snapshots over the last `weeks` whose 8-week outcome is known by `now`: the
    features each SKU had then (forecasts as they were are not kept: the demand of the
    matching past months stands in for them) and the label."""
    skus = _skus(conn)
    rows: list[Features] = []
    labels: list[int] = []
    last = now - HORIZON
    for k in range(weeks):  # bounded by `weeks`
        at = last - timedelta(weeks=k)
        on_hand = _on_hand_at(conn, skus, at)
        sales = _sales(conn, at)
        perf = _performance(conn, at)
        supply = _supply_at(conn, at)
        waiting = _waiting_at(conn, at, at + HORIZON)
        for s in skus:
            demand = sales.get(s.id) or dict.fromkeys(SALES_DAYS, 0.0)
            row = _row(
                s,
                {
                    "on_hand": on_hand[s.id],
                    "backordered": waiting.get(s.id, (0.0, False))[0],
                    "sales": demand,
                    "perf": perf.get(s.supplier_id or ""),
                    "forecast": None,  # past forecasts are not kept: demand stands in
                    "supply": supply.get(s.id),
                },
            )
            rows.append(row)
            labels.append(int(waiting.get(s.id, (0.0, False))[1]))
    return rows, labels
