"""Demand forecasts in the product: recomputed for every active SKU (`backorder forecast
run`, and the worker once a night), stored one current forecast per SKU for the network
and, with more than one active location, per location with demand; read back for the CLI,
the API and the product page.

The weekly series a SKU is forecast from runs from its first week with demand (ordered or
imported) to the last whole week (the current one is still under way, so the forecast
starts on this week's Monday), at most BACKORDER_FORECAST_HISTORY_WEEKS long. The numeric
work needs the forecast extra; without it, recomputing refuses naming the install command,
the nightly step is skipped with one log line a day, and stored forecasts still read."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from backorder import foresight
from backorder.domain.errors import BackorderError, InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.periods import period_name, start_of
from backorder.services.context import Backorder
from backorder.services.demand import Series, demand_series
from backorder.store.tables import (
    forecast_periods,
    forecast_runs,
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
STALE_RUN = timedelta(hours=1)  # a nightly run left unfinished this long is taken over
F, P = forecasts.c, forecast_periods.c


class NoDemandHistory(BackorderError):
    """A forecast asked for where there is no demand to learn from."""


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


def _compute(
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
            done = _compute(app, uow.connection, chunk, horizon, at_locations)
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
            rows = [_row(m, now, monday) for m in made]
            stored = conn.execute(
                insert(forecasts).returning(F.id, sort_by_parameter_order=True), rows
            )
            ids = [row[0] for row in stored]
            periods = [
                period
                for forecast_id, m in zip(ids, made, strict=True)
                for period in _periods(forecast_id, m.forecast, monday)
            ]
            if periods:
                conn.execute(insert(forecast_periods), periods)
        uow.commit()


def _row(m: Made, now: datetime, monday: date) -> dict[str, Any]:
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


def _periods(forecast_id: int, f: Forecast, monday: date) -> list[dict[str, Any]]:
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


# --- the nightly run -----------------------------------------------------------------------

_skipped_on: list[date] = []  # the day this process last said the extra is missing


def run_nightly(app: Backorder) -> dict[str, int]:
    """The worker's part: once per UTC day, from BACKORDER_FORECAST_AT on, recompute every
    forecast; what it did (nothing when not due). Workers racing for the day claim its row
    in forecast_runs: one runs it. A failed run gives its claim back for the next pass."""
    now = app.now()
    today = now.date()
    if now.timetz().replace(tzinfo=None) < app.settings.forecast_at or _done(app, today, now):
        return {}
    if not foresight.available():
        if today not in _skipped_on:
            _skipped_on[:] = [today]
            log.warning("nightly forecasts skipped: the forecast extra is not installed")
        return {}
    if not _claim(app, today, now):
        return {}
    try:
        counts = recompute(app)
    except Exception:
        with app.db.write() as uow:
            uow.connection.execute(delete(forecast_runs).where(forecast_runs.c.day == today))
            uow.commit()
        raise
    with app.db.write() as uow:
        uow.connection.execute(
            update(forecast_runs)
            .where(forecast_runs.c.day == today)
            .values(finished_at=app.now(), counts=counts)
        )
        uow.commit()
    return {"forecasted": counts["forecasts"]}


def _done(app: Backorder, today: date, now: datetime) -> bool:
    """Whether today's run finished, or runs now in another worker."""
    with app.db.read() as uow:
        row = uow.connection.execute(
            select(forecast_runs.c.started_at, forecast_runs.c.finished_at).where(
                forecast_runs.c.day == today
            )
        ).first()
    return row is not None and (row.finished_at is not None or now - row.started_at < STALE_RUN)


def _claim(app: Backorder, today: date, now: datetime) -> bool:
    """Take today's run: a new row, or one left unfinished too long; whether this worker won."""
    r = forecast_runs.c
    try:
        with app.db.write() as uow:
            conn = uow.connection
            row = conn.execute(select(r.started_at).where(r.day == today)).first()
            if row is None:
                conn.execute(insert(forecast_runs).values(day=today, started_at=now))
            else:
                taken = conn.execute(
                    update(forecast_runs)
                    .where(
                        r.day == today,
                        r.finished_at.is_(None),
                        r.started_at == row.started_at,
                        r.started_at < now - STALE_RUN,
                    )
                    .values(started_at=now)
                )
                if taken.rowcount != 1:
                    return False
            uow.commit()
    except IntegrityError:
        log.info("the forecasts of %s are run by another worker", today)
        return False
    return True


# --- reading -------------------------------------------------------------------------------


def forecast_view(
    app: Backorder, sku: str, location: str | None = None, horizon: int | None = None
) -> dict[str, Any]:
    """A SKU's forecast (the network's, or a location's): the stored one, cut to `horizon`
    weeks; computed now and not stored (`stored: false`) when none is stored or it reaches
    less far than asked."""
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
        foresight.require("forecasting")
        weeks = horizon or app.settings.forecast_horizon_weeks
        done = _compute(app, conn, [pid], weeks, lid is not None)
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
    row = _row(m, now, monday) | {
        "service_level": None,
        "safety_stock": None,
        "reorder_point": None,
    }
    periods = [p | {"period_start": p["period_start"]} for p in _periods(0, f, monday)]
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
