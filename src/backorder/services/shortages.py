"""Reading the plan: one SKU's projection by week with its safety stock and inputs (computed
afresh from the stored forecast, today's stock and open purchase orders), and the coming
shortages (what the last refresh stored: services.foresight_plan)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.projection import monday
from backorder.services.context import Backorder
from backorder.services.demand import demand_series
from backorder.services.foresight_plan import (
    MAX_WEEKS,
    F,
    abc_classes,
    check_weeks,
    inputs_of,
    plan_rows,
    select_forecasts,
)
from backorder.store.tables import forecasts, locations, products, risk_scores

HISTORY_WEEKS = 26
MAX_LISTED = 1000


def weekly_demand(conn: Connection, product_id: int, first: date, weeks: int) -> list[int]:
    """Units asked for per week (demand: whatever became of them) from `first`, `weeks`
    long: the orders held, and the history imported for the weeks before the first order."""
    end = first + timedelta(weeks=weeks)
    series = demand_series(conn, [product_id], "week", (first, end)).get((product_id, None))
    units = [0] * weeks
    for start, bucket in (series.buckets if series else {}).items():
        index = (start - first).days // 7
        if 0 <= index < weeks:
            units[index] += round(bucket.units)
    return units


def projection(
    app: Backorder, sku: str, location: str | None = None, weeks: int | None = None
) -> dict[str, Any]:
    """A SKU's projected stock by week (network, or at a location), its safety stock and
    reorder point with their inputs, the projected stockout, its risk score and its demand
    of the last 26 weeks. A SKU without a stored forecast answers with its stock only."""
    weeks = check_weeks(weeks if weeks is not None else MAX_WEEKS)
    now = app.now()
    first = monday(now.date())
    with app.db.read() as uow:
        conn = uow.connection
        row = one_forecast(conn, sku, location)
        product = conn.execute(
            select(
                products.c.id, products.c.on_hand, products.c.allocated, products.c.backordered
            ).where(products.c.sku == sku)
        ).one()
        history_first = first - timedelta(weeks=HISTORY_WEEKS)
        view: dict[str, Any] = {
            "sku": sku,
            "location": location,
            "as_of": now.isoformat(),
            "history": [
                {"week": (history_first + timedelta(weeks=i)).isoformat(), "units": units}
                for i, units in enumerate(
                    weekly_demand(conn, product.id, history_first, HISTORY_WEEKS)
                )
            ],
            "risk": risk_of(conn, [product.id]).get(product.id),
        }
        if row is None:
            stock = (product.on_hand, product.allocated, product.backordered)
            return view | _empty(stock, location is None)
        (plan,) = plan_rows(conn, [row], app, abc_classes(conn))
    shown = plan.projection.weeks[:weeks]
    bands = {p["period_start"]: p for p in plan.periods}
    stockout = plan.projection.stockout
    return view | {
        "forecast": {
            "method": row["method"],
            "demand_class": row["demand_class"],
            "computed_at": row["computed_at"].isoformat(),
            "history_periods": row["history_periods"],
            "backtest_mase": row["backtest_mase"],
        },
        "stock": _stock(plan.stock, plan.projection.start_level),
        "safety_stock": inputs_of(plan)
        | {
            "safety_stock": plan.safety.safety_stock,
            "reorder_point": plan.safety.reorder_point,
        },
        "weeks": [
            {
                "week": w.start.isoformat(),
                "demand": round(w.demand, 3),
                "lo80": round(float(bands[w.start]["lo80"]), 3),
                "hi80": round(float(bands[w.start]["hi80"]), 3),
                "inbound": w.inbound,
                "available": round(w.available, 3),
            }
            for w in shown
        ],
        "stockout": None
        if stockout is None or stockout.week >= first + timedelta(weeks=weeks)
        else {
            "week": stockout.week.isoformat(),
            "units_short": stockout.units_short,
            "arrive_by": stockout.arrive_by.isoformat(),
            "order_by": stockout.order_by.isoformat(),
            "late": stockout.late,
        },
        "below_safety_week": plan.projection.below_safety.isoformat()
        if plan.projection.below_safety
        and plan.projection.below_safety < first + timedelta(weeks=weeks)
        else None,
    }


def _stock(stock: tuple[int, int, int], start: int) -> dict[str, int]:
    on_hand, allocated, waiting = stock
    return {"on_hand": on_hand, "allocated": allocated, "waiting": waiting, "start": start}


def _empty(stock: tuple[int, int, int], network: bool) -> dict[str, Any]:
    on_hand, allocated, waiting = stock if network else (0, 0, 0)
    return {
        "forecast": None,
        "stock": _stock((on_hand, allocated, waiting), on_hand - allocated - waiting),
        "safety_stock": None,
        "weeks": [],
        "stockout": None,
        "below_safety_week": None,
    }


def shortages(app: Backorder, weeks: int | None = None, limit: int = 100) -> dict[str, Any]:
    """The SKUs whose network projection runs out within `weeks` (default: the setting),
    soonest first, as the last refresh found them, with their risk where scored."""
    weeks = check_weeks(weeks if weeks is not None else app.settings.shortage_weeks)
    if not 1 <= limit <= MAX_LISTED:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LISTED} (got {limit})")
    now = app.now()
    with app.db.read() as uow:
        return {"as_of": now.isoformat()} | coming(uow.connection, now.date(), weeks, limit)


def coming(conn: Connection, today: date, weeks: int, limit: int) -> dict[str, Any]:
    """The coming shortages within `weeks` of today's week, read in the caller's transaction
    (the dashboard's too)."""
    horizon = monday(today) + timedelta(weeks=weeks)
    within = (F.location_id.is_(None), F.stockout_week.is_not(None), F.stockout_week < horizon)
    total = conn.execute(select(func.count()).select_from(forecasts).where(*within)).scalar_one()
    rows = conn.execute(
        select(
            products.c.id,
            products.c.sku,
            products.c.name,
            F.stockout_week,
            F.units_short,
            F.order_by,
            F.safety_stock,
            F.reorder_point,
        )
        .join(forecasts, F.product_id == products.c.id)
        .where(*within)
        .order_by(F.stockout_week, F.units_short.desc(), products.c.sku)
        .limit(limit)
    ).all()
    planned_at = conn.execute(
        select(func.max(F.planned_at)).where(F.location_id.is_(None))
    ).scalar()
    risk = risk_of(conn, [r.id for r in rows])
    return {
        "weeks": weeks,
        "count": total,
        "planned_at": planned_at.isoformat() if planned_at else None,
        "shortages": [
            {
                "sku": r.sku,
                "name": r.name,
                "week": r.stockout_week.isoformat(),
                "units_short": r.units_short,
                "order_by": r.order_by.isoformat(),
                "late": r.order_by < today,
                "safety_stock": r.safety_stock,
                "reorder_point": r.reorder_point,
                "risk": risk[r.id]["probability"] if r.id in risk else None,
            }
            for r in rows
        ],
    }


def one_forecast(conn: Connection, sku: str, location: str | None) -> RowMapping | None:
    """The stored forecast of a SKU (network, or at a location), refusing unknown names."""
    product_id = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar()
    if product_id is None:
        raise UnknownSku(sku)
    query = select_forecasts().where(F.product_id == product_id)
    if location is None:
        return conn.execute(query.where(F.location_id.is_(None))).mappings().first()
    location_id = conn.execute(select(locations.c.id).where(locations.c.code == location)).scalar()
    if location_id is None:
        raise UnknownLocation(location)
    return conn.execute(query.where(F.location_id == location_id)).mappings().first()


def risk_of(conn: Connection, product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The latest backorder-risk score of these products, where there is one."""
    if not product_ids:
        return {}
    r = risk_scores.c
    return {
        row.product_id: {
            "probability": round(float(row.probability), 4),
            "scored_at": row.scored_at.isoformat(),
            "reasons": row.reasons,
        }
        for row in conn.execute(
            select(r.product_id, r.probability, r.scored_at, r.reasons).where(
                r.product_id.in_(product_ids)
            )
        )
    }
