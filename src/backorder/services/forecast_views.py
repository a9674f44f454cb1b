"""Reading forecasts: a SKU's stored forecast (the network's, or a location's) cut to a
horizon, or one computed now and not stored; and the list of stored forecasts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from backorder import foresight
from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.periods import period_name, start_of
from backorder.services.context import Backorder
from backorder.services.forecasts import (
    MAX_HORIZON,
    ForecastFailed,
    Made,
    NoDemandHistory,
    NoForecastStored,
    compute,
    periods_of,
    row_of,
)
from backorder.store.tables import forecast_periods, forecasts, locations, products

F, P = forecasts.c, forecast_periods.c


def forecast_view(
    app: Backorder,
    sku: str,
    location: str | None = None,
    horizon: int | None = None,
    stored_only: bool = False,
) -> dict[str, Any]:
    """A SKU's forecast (the network's, or a location's): the stored one, cut to `horizon`
    weeks; computed now and not stored (`stored: false`) when none is stored or it reaches
    less far than asked, unless `stored_only` (then NoForecastStored)."""
    if horizon is not None and not 1 <= horizon <= MAX_HORIZON:
        raise InvalidRequest(f"horizon {horizon}: from 1 to {MAX_HORIZON} weeks")
    with app.db.read() as uow:
        conn = uow.connection
        pid = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar()
        if pid is None:
            raise UnknownSku(sku)
        lid = None
        if location is not None:
            lid = conn.execute(select(locations.c.id).where(locations.c.code == location)).scalar()
            if lid is None:
                raise UnknownLocation(location)
        at = F.location_id.is_(None) if lid is None else F.location_id == lid
        row = conn.execute(select(forecasts).where(F.product_id == pid, at)).mappings().first()
        periods = []
        if row is not None:
            periods = list(
                conn.execute(
                    select(forecast_periods)
                    .where(P.forecast_id == row["id"])
                    .order_by(P.period_start)
                ).mappings()
            )
        if row is not None and (horizon is None or horizon <= len(periods)):
            return _stored_view(sku, location, row, periods[: horizon or len(periods)])
        if stored_only:
            where = f" at {location}" if location else ""
            raise NoForecastStored(
                f"no forecast of {sku}{where} stored yet"
                + (f" reaching {horizon} weeks" if row is not None else "")
                + ": the worker stores them every night (or run `backorder forecast run`)"
            )
        foresight.require("forecasting")
        weeks = horizon or app.settings.forecast_horizon_weeks
        done = compute(app, conn, [pid], weeks, lid is not None)
    made = [m for m in done.made if m.location_id == lid]
    if made:
        return _made_view(sku, location, made[0], app.now())
    where = f" at {location}" if location else ""
    if (pid, lid) in done.failed:
        raise ForecastFailed(
            f"the forecaster failed on the history of {sku}{where}: {done.failed[(pid, lid)]}"
        )
    raise NoDemandHistory(
        f"{sku} has no demand{where} yet (no orders, no imported history): nothing to forecast from"
    )


def _stored_view(sku: str, location: str | None, row: Any, periods: list[Any]) -> dict[str, Any]:
    return {
        "sku": sku,
        "location": location,
        "stored": True,
        "computed_at": row["computed_at"].isoformat(),
        "method": row["method"],
        "demand_class": row["demand_class"],
        "adi": _rounded(row["adi"]),
        "cv2": _rounded(row["cv2"]),
        "history_weeks": row["history_periods"],
        "backtest_mae": _rounded(row["backtest_mae"]),
        "backtest_mase": _rounded(row["backtest_mase"]),
        "mean_demand": _rounded(row["mean_demand"]),
        "error_sd": _rounded(row["error_sd"]),
        "service_level": row["service_level"],
        "safety_stock": row["safety_stock"],
        "reorder_point": row["reorder_point"],
        "inputs": row["inputs"],
        "periods": [
            {
                "week": period_name("week", p["period_start"]),
                "start": p["period_start"].isoformat(),
                **{name: _rounded(p[name]) for name in ("point", "lo80", "hi80", "lo95", "hi95")},
            }
            for p in periods
        ],
    }


def _made_view(sku: str, location: str | None, m: Made, now: datetime) -> dict[str, Any]:
    f = m.forecast
    monday = start_of("week", now.date())
    row = row_of(m, now, monday) | {
        "service_level": None,
        "safety_stock": None,
        "reorder_point": None,
    }
    periods = [p | {"period_start": p["period_start"]} for p in periods_of(0, f, monday)]
    return _stored_view(sku, location, row, periods) | {"stored": False}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def forecast_list(
    app: Backorder, location: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The stored forecasts (the network's, or a location's), by SKU: method, class, error,
    the units expected over the next four weeks."""
    monday = start_of("week", app.now().date())
    with app.db.read() as uow:
        conn = uow.connection
        query = (
            select(
                products.c.sku,
                F.id,
                F.method,
                F.demand_class,
                F.backtest_mase,
                F.computed_at,
            )
            .join(products, products.c.id == F.product_id)
            .order_by(products.c.sku)
            .limit(limit)
        )
        if location is None:
            query = query.where(F.location_id.is_(None))
        else:
            lid = conn.execute(select(locations.c.id).where(locations.c.code == location)).scalar()
            if lid is None:
                raise UnknownLocation(location)
            query = query.where(F.location_id == lid)
        rows = conn.execute(query).mappings().all()
        soon = (
            select(P.forecast_id, func.sum(P.point))
            .where(
                P.forecast_id.in_([row["id"] for row in rows]),
                P.period_start >= monday,
                P.period_start < monday + timedelta(weeks=4),
            )
            .group_by(P.forecast_id)
        )
        sums = {fid: float(units) for fid, units in conn.execute(soon)}
    return [
        {
            "sku": row["sku"],
            "method": row["method"],
            "demand_class": row["demand_class"],
            "backtest_mase": _rounded(row["backtest_mase"]),
            "next_4_weeks": _rounded(sums.get(row["id"], 0.0)),
            "computed_at": row["computed_at"].isoformat(),
        }
        for row in rows
    ]
