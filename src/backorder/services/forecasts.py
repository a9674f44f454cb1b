"""Demand forecasts in the product: recomputed for every active SKU (`backorder forecast
run`, and the worker once a night), stored one current forecast per SKU for the network
and, with more than one active location, per location with demand; read back for the CLI,
the API and the product page.

The weekly series a SKU is forecast from runs from its first week with demand (ordered or
imported) to the last whole week (the current one is still under way, so the forecast
starts on this week's Monday), at most BACKORDER_FORECAST_HISTORY_WEEKS long. The numeric
work needs the forecast extra; without it, recomputing refuses naming the install command,
the nightly step is skipped with one log line a day, and stored forecasts still read
(services/forecast_nightly.py, services/forecast_views.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, text

from backorder import foresight
from backorder.domain.errors import BackorderError, UnknownSku
from backorder.domain.periods import start_of
from backorder.services.context import Backorder
from backorder.services.demand import Series, demand_series
from backorder.store.tables import (
    forecast_periods,
    forecasts,
    locations,
    products,
)

if TYPE_CHECKING:
    from backorder.foresight.forecast import Forecast

log = logging.getLogger(__name__)

BATCH = 200  # SKUs read, forecast and stored per transaction
MAX_HORIZON = 104
FORECAST_LOCK_KEY = 7320  # PostgreSQL: one recompute writes at a time
F, P = forecasts.c, forecast_periods.c


class NoDemandHistory(BackorderError):
    """A forecast asked for where there is no demand to learn from."""


class NoForecastStored(BackorderError):
    """Only a stored forecast was asked for, and none is stored."""


class ForecastFailed(BackorderError):
    """The forecaster could not forecast a history (a failure of its own)."""


@dataclass(frozen=True)
class Made:
    product_id: int
    location_id: int | None
    forecast: Forecast
    inputs: dict[str, Any]


# --- computing -----------------------------------------------------------------------------


@dataclass
class Computed:
    made: list[Made]
    failed: dict[tuple[int, int | None], str]  # series the forecaster failed on: why


def compute(
    app: Backorder, conn: Connection, product_ids: Sequence[int], horizon: int, at_locations: bool
) -> Computed:
    """The forecasts of these products (and of their locations with demand), from their
    weekly series up to the last whole week."""
    # imported here: numpy and statsforecast come with the forecast extra, and only here
    import numpy as np

    monday = start_of("week", app.now().date())
    since = monday - timedelta(weeks=app.settings.forecast_history_weeks)
    found = demand_series(conn, product_ids, "week", (since, monday), at_locations)
    histories: dict[str, Any] = {}
    inputs: dict[str, tuple[int, int | None, dict[str, Any]]] = {}
    for (pid, lid), series in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        first = series.first
        if first is None:
            continue
        weeks = (monday - first).days // 7
        values = _weekly(series, first, weeks)
        key = f"{pid}@{lid or ''}"
        histories[key] = np.asarray(values, dtype=np.float64)
        inputs[key] = (pid, lid, _inputs(series, first, monday, horizon))
    made, failed = _forecast_all(histories, horizon)
    return Computed(
        [Made(inputs[k][0], inputs[k][1], f, inputs[k][2]) for k, f in made.items()],
        {inputs[k][:2]: why for k, why in failed.items()},
    )


def _forecast_all(
    histories: dict[str, Any], horizon: int
) -> tuple[dict[str, Forecast], dict[str, str]]:
    """The engine's forecasts of every series; when it fails on the batch, each series on
    its own, leaving out the ones it cannot forecast (with why), so that one series does not
    keep every other SKU without a forecast."""
    from backorder.foresight.forecast import forecast, forecast_many

    try:
        return forecast_many(histories, horizon), {}
    except Exception as error:  # the engine's own failure, on some series of the batch
        log.info("forecasting a batch failed (%r); forecasting its series one by one", error)
    made: dict[str, Forecast] = {}
    failed: dict[str, str] = {}
    for key, history in histories.items():
        try:
            made[key] = forecast(history, horizon)
        except Exception as error:  # this series only
            failed[key] = f"{type(error).__name__}: {error}"
    return made, failed


def _weekly(series: Series, first: date, weeks: int) -> list[float]:
    empty = 0.0
    return [
        (b.units if (b := series.buckets.get(first + timedelta(weeks=n))) else empty)
        for n in range(weeks)
    ]


def _inputs(series: Series, first: date, monday: date, horizon: int) -> dict[str, Any]:
    return {
        "history_from": first.isoformat(),
        "history_to": (monday - timedelta(days=1)).isoformat(),
        "ordered_units": sum(b.ordered for b in series.buckets.values()),
        "imported_units": round(sum(b.imported for b in series.buckets.values()), 2),
        "horizon_weeks": horizon,
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# --- recomputing and storing ---------------------------------------------------------------


def recompute(app: Backorder, skus: Sequence[str] | None = None) -> dict[str, int]:
    """Recompute and store the forecasts of these SKUs (None: every one not discontinued),
    a batch of SKUs per transaction; what it did: `skus` forecast, `forecasts` stored
    (network and locations), `skipped` SKUs without demand yet, `failed` SKUs whose history
    the forecaster failed on (logged); those two keep no forecast."""
    foresight.require("forecasting")
    horizon = app.settings.forecast_horizon_weeks
    with app.db.read() as uow:
        conn = uow.connection
        ids = _product_ids(conn, skus)
        at_locations = _active_locations(conn) > 1
    counts = {"skus": 0, "forecasts": 0, "skipped": 0, "failed": 0}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with app.db.read() as uow:
            done = compute(app, uow.connection, chunk, horizon, at_locations)
        _store(app, chunk, done.made)
        network = {m.product_id for m in done.made if m.location_id is None}
        failed = {pid for pid, lid in done.failed if lid is None}
        counts["skus"] += len(network)
        counts["failed"] += len(failed)
        counts["skipped"] += len(chunk) - len(network) - len(failed)
        counts["forecasts"] += len(done.made)
        if done.failed:
            (pid, lid), why = next(iter(done.failed.items()))
            log.warning(
                "the forecaster failed on %d series (product %d%s: %s); they have no forecast",
                len(done.failed),
                pid,
                f" at location {lid}" if lid else "",
                why,
            )
    return counts


def _product_ids(conn: Connection, skus: Sequence[str] | None) -> list[int]:
    query = select(products.c.id, products.c.sku).order_by(products.c.id)
    if skus is None:
        return [pid for pid, _ in conn.execute(query.where(products.c.discontinued.is_(False)))]
    found = dict((sku, pid) for pid, sku in conn.execute(query.where(products.c.sku.in_(skus))))
    for sku in skus:
        if sku not in found:
            raise UnknownSku(sku)
    return sorted(set(found.values()))


def _active_locations(conn: Connection) -> int:
    query = select(locations.c.id).where(locations.c.active.is_(True))
    return len(conn.execute(query).all())


def _store(app: Backorder, product_ids: Sequence[int], made: list[Made]) -> None:
    """Replace the stored forecasts of these products with the ones made, in one transaction."""
    now = app.now()
    monday = start_of("week", now.date())
    with app.db.write() as uow:
        conn = uow.connection
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({FORECAST_LOCK_KEY})"))
        old = select(F.id).where(F.product_id.in_(product_ids))
        conn.execute(delete(forecast_periods).where(P.forecast_id.in_(old)))
        conn.execute(delete(forecasts).where(F.product_id.in_(product_ids)))
        if made:
            rows = [row_of(m, now, monday) for m in made]
            stored = conn.execute(
                insert(forecasts).returning(F.id, sort_by_parameter_order=True), rows
            )
            ids = [row[0] for row in stored]
            periods = [
                period
                for forecast_id, m in zip(ids, made, strict=True)
                for period in periods_of(forecast_id, m.forecast, monday)
            ]
            if periods:
                conn.execute(insert(forecast_periods), periods)
        uow.commit()


def row_of(m: Made, now: datetime, monday: date) -> dict[str, Any]:
    f = m.forecast
    return {
        "product_id": m.product_id,
        "location_id": m.location_id,
        "computed_at": now,
        "period": "week",
        "first_period": monday,
        "method": f.method,
        "demand_class": f.demand_class,
        "adi": _finite(f.adi),
        "cv2": _finite(f.cv2),
        "history_periods": f.history_periods,
        "backtest_mae": _finite(f.backtest_mae),
        "backtest_mase": _finite(f.backtest_mase),
        "mean_demand": _finite(f.mean_demand) or 0.0,
        "error_sd": _finite(f.error_sd) or 0.0,
        "inputs": m.inputs,
    }


def periods_of(forecast_id: int, f: Forecast, monday: date) -> list[dict[str, Any]]:
    bands = (f.point, f.lo80, f.hi80, f.lo95, f.hi95)
    return [
        {
            "forecast_id": forecast_id,
            "period_start": monday + timedelta(weeks=n),
            **{
                name: max(0.0, _finite(float(values[n])) or 0.0)
                for name, values in zip(
                    ("point", "lo80", "hi80", "lo95", "hi95"), bands, strict=True
                )
            },
        }
        for n in range(len(f.point))
    ]
