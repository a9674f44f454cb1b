"""The nightly forecasts: once per UTC day, from BACKORDER_FORECAST_AT on, the worker
recomputes every forecast (services/forecasts.py). Workers racing for the day claim its row
in forecast_runs, and one runs it; a run left unfinished for an hour is taken over, and a
failed one gives its claim back for the next pass. Without the forecast extra the step is
skipped, said once a day in the log."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from backorder import foresight
from backorder.services.context import Backorder
from backorder.services.forecasts import recompute
from backorder.store.tables import forecast_runs

log = logging.getLogger(__name__)

STALE_RUN = timedelta(hours=1)  # a nightly run left unfinished this long is taken over

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
