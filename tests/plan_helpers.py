"""Stored forecasts for the plan's tests, written straight into `forecasts` and
`forecast_periods` (the forecaster has its own tests; these state only what the plan reads)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import delete, insert, select

from backorder.services.context import Backorder
from backorder.store.tables import forecast_periods, forecast_runs, forecasts, locations, products

FIRST_WEEK = date(2026, 1, 5)  # the Monday of the test clock's week (10 January 2026)


def store_forecast(
    app: Backorder,
    sku: str,
    points: Sequence[float],
    spread: tuple[float, float] = (1.0, 1.0),
    demand_class: str = "smooth",
    location: str | None = None,
    first: date = FIRST_WEEK,
) -> int:
    """Replace the SKU's forecast with `points` per week from `first` (a Monday); `spread` is
    (mean demand per week, sigma_d) when they should differ from the points' mean."""
    mean, error_sd = spread
    with app.db.write() as uow:
        conn = uow.connection
        product_id = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar_one()
        location_id = (
            None
            if location is None
            else conn.execute(
                select(locations.c.id).where(locations.c.code == location)
            ).scalar_one()
        )
        same = forecasts.c.product_id == product_id
        where = (
            forecasts.c.location_id.is_(None)
            if location_id is None
            else forecasts.c.location_id == location_id
        )
        conn.execute(delete(forecasts).where(same, where))
        forecast_id = conn.execute(
            insert(forecasts).returning(forecasts.c.id),
            {
                "product_id": product_id,
                "location_id": location_id,
                "computed_at": app.now(),
                "first_period": first,
                "method": "ets",
                "demand_class": demand_class,
                "history_periods": 52,
                "mean_demand": mean,
                "error_sd": error_sd,
                "inputs": {"from": "test"},
            },
        ).scalar_one()
        conn.execute(
            insert(forecast_periods),
            [
                {
                    "forecast_id": forecast_id,
                    "period_start": first + timedelta(weeks=i),
                    "point": point,
                    "lo80": point * 0.5,
                    "hi80": point * 1.5,
                    "lo95": 0.0,
                    "hi95": point * 2,
                }
                for i, point in enumerate(points)
            ],
        )
        uow.commit()
    return int(forecast_id)


def nightly_done(app: Backorder) -> None:
    """Mark today's nightly forecast run as done, so a worker pass keeps the forecasts a
    test stored by hand."""
    now = app.now()
    with app.db.write() as uow:
        uow.connection.execute(
            insert(forecast_runs).values(day=now.date(), started_at=now, finished_at=now)
        )
        uow.commit()
