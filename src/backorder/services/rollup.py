"""Rolling up the KPI facts of closed days: per day, per grouping (everything, SKU, channel,
supplier, tier) and group, what the KPIs would read from the lines, kept so that a call over
months sums a few rows a day. The worker rolls up each day once it has closed, and again any
day that a later change reached (the triggers forget it); until then the KPIs read that day
from the lines, so that a roll-up makes them faster, never different."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select, text

from backorder.services.context import Backorder
from backorder.services.kpis import (
    MAX_DAYS,
    ROLLED_UP,
    STRETCHES,
    Dimension,
    Period,
    Scope,
    Stretch,
    compute,
    month_of,
    tune,
)
from backorder.store import kpi_days
from backorder.store.db import UnitOfWork
from backorder.store.tables import orders

log = logging.getLogger(__name__)

# Every grouping but location, whose KPIs are read from the lines (a few figures, of what was
# taken and shipped in the period).
GROUPINGS: tuple[Dimension | None, ...] = (
    None,
    *(by for by in Dimension if by is not Dimension.LOCATION),
)
DAYS_A_PASS = 7  # the worker's share of a backlog per pass (and 2 s): a short transaction a day


def roll_up_day(conn: Connection, day: date, now: datetime) -> None:
    """The day's facts for every grouping, in place of what was rolled up before."""
    period = Period(day, day)
    for by in GROUPINGS:
        kpi_days.save(conn, day, Scope(by).name, compute(conn, period, now, by, ROLLED_UP), now)


def _span(conn: Connection, now: datetime) -> tuple[date, date] | None:
    """The closed days to roll up: from the month of the first order (at most MAX_DAYS
    back) to yesterday; None when there are none."""
    earliest = conn.execute(select(func.min(orders.c.placed_at))).scalar()
    yesterday = now.date() - timedelta(days=1)
    if earliest is None:
        return None
    first = month_of(max(earliest.date(), now.date() - timedelta(days=MAX_DAYS)))
    return None if first > yesterday else (first, yesterday)


def pending(app: Backorder, now: datetime) -> list[date]:
    """The closed days with facts that are not rolled up for every grouping, oldest first."""
    with app.db.read() as uow:
        conn = uow.connection
        span = _span(conn, now)
        if span is None or kpi_days.complete(conn, *span, len(GROUPINGS)):
            return []
        return kpi_days.missing(conn, *span, len(GROUPINGS))


def pending_sums(app: Backorder, now: datetime) -> list[tuple[Stretch, date, list[str]]]:
    """The closed months and ISO weeks whose days are all rolled up, each with the groupings
    whose whole month (or week) is not rolled up yet."""
    with app.db.read() as uow:
        conn = uow.connection
        span = _span(conn, now)
        if span is None:
            return []
        first, last = span
        closed = [
            (stretch, start) for stretch in STRETCHES for start in stretch.within(first, last)
        ]
        if kpi_days.sums_counted(conn, first, last) >= len(closed) * len(GROUPINGS):
            return []  # the worker's pass, most of the time: one count
        done = kpi_days.sums_done(conn, first, last)
        waiting = set(kpi_days.missing(conn, first, last, len(GROUPINGS)))
    sums = []
    for stretch, start in closed:
        names = [
            Scope(by).name
            for by in GROUPINGS
            if (start, kpi_days.summed(Scope(by).name, stretch.suffix)) not in done
        ]
        if names and not any(day in waiting for day in stretch.days(start)):
            sums.append((stretch, start, names))
    return sums


def roll_up(app: Backorder, days: int = DAYS_A_PASS, seconds: float = 2.0) -> int:
    """Roll up the pending days, oldest first, one transaction a day: at most `days` of them
    and, after the first, none started once `seconds` have passed; then sum each closed
    month and ISO week whose days are all rolled up. How many days it rolled up."""
    now = app.now()
    started, done = time.monotonic(), 0
    for day in pending(app, now)[:days]:
        if done and time.monotonic() - started > seconds:
            break
        with _alone(app) as uow:
            roll_up_day(uow.connection, day, now)
            uow.commit()
        done += 1
    for stretch, first, names in pending_sums(app, now):
        with _alone(app) as uow:
            for name in names:
                kpi_days.save_sum(
                    uow.connection, first, stretch.end(first), name, stretch.suffix, now
                )
            uow.commit()
    if done:
        log.info("rolled up the KPI facts of %d day(s)", done)
    return done


@contextmanager
def _alone(app: Backorder) -> Iterator[UnitOfWork]:
    """A write transaction for rolling up. On PostgreSQL, alone: the changes to the facts in
    flight commit first, and new ones wait for it (migration 0014's lock)."""
    with app.db.write() as uow:
        if uow.dialect == "postgresql":
            uow.connection.execute(text(f"SELECT pg_advisory_xact_lock({kpi_days.ROLL_UP_LOCK})"))
        tune(uow)
        yield uow
