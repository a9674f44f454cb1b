"""The KPI facts of closed days, rolled up per grouping and group (tables kpi_day_*): saved
by the roll-up, summed by the KPIs. A day counts for a grouping only while its row in
kpi_days is there; the triggers of migration 0014 delete it when a change reaches the day."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Date, String, delete, func, insert, literal, select

from backorder.domain.kpis import Facts
from backorder.store.tables import kpi_day_facts, kpi_day_hours, kpi_day_reasons, kpi_days

# Where a day's counts go: the columns of kpi_day_facts that are Facts' own counters.
COUNTERS = (
    "orders",
    "backordered_orders",
    "lines",
    "backordered_lines",
    "converted_units",
    "cancelled_units",
    "shipped_lines",
    "accurate_lines",
    "promised_lines",
    "kept_promises",
)
SPREADS = ("waits", "fills")
ROLL_UP_LOCK = 7203  # migration 0014: the triggers hold it shared, a roll-up alone

F, R, H, D = kpi_day_facts.c, kpi_day_reasons.c, kpi_day_hours.c, kpi_days.c


MONTH = "/month"
DAILY = D.dimension.not_like(f"%{MONTH}")


def monthly(dimension: str) -> str:
    """Where a grouping's whole months are kept: under the month's first day, as
    "<grouping>/month"."""
    return f"{dimension}{MONTH}"


def rolled_up(conn: Connection, dimension: str, first: date, last: date) -> list[date]:
    """The days from first to last (both included) rolled up for the grouping, in order."""
    query = (
        select(D.day).where(D.dimension == dimension, D.day >= first, D.day <= last).order_by(D.day)
    )
    return list(conn.execute(query).scalars())


def missing(conn: Connection, first: date, last: date, dimensions: int) -> list[date]:
    """The days from first to last not rolled up for every one of the `dimensions`."""
    query = (
        select(D.day)
        .where(D.day >= first, D.day <= last, DAILY)
        .group_by(D.day)
        .having(func.count() >= dimensions)
    )
    done = set(conn.execute(query).scalars())
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day not in done]


def complete(conn: Connection, first: date, last: date, dimensions: int) -> bool:
    """Whether every day from first to last is rolled up for every grouping (one count)."""
    query = select(func.count()).where(D.day >= first, D.day <= last, DAILY)
    return conn.execute(query).scalar_one() >= ((last - first).days + 1) * dimensions


def months_done(conn: Connection, first: date, last: date) -> set[tuple[date, str]]:
    """The (first day, grouping) of the whole months from first to last that are rolled up."""
    query = select(D.day, D.dimension).where(D.day >= first, D.day <= last, ~DAILY)
    return {(day, name.removesuffix(MONTH)) for day, name in conn.execute(query)}


def add_up(
    conn: Connection, dimension: str, first: date, last: date, of: Callable[[str], Facts]
) -> None:
    """Add the rolled-up days from first to last to each group's facts (the caller has
    checked that those days are rolled up)."""
    days = (F.dimension == dimension, F.day >= first, F.day <= last)
    sums = [func.sum(F[name]) for name in (*COUNTERS, *SPREADS, "wait_days", "fill_days")]
    for key, *values in conn.execute(select(F.key, *sums).where(*days).group_by(F.key)):
        facts = of(key)
        for name, value in zip(COUNTERS, values, strict=False):
            setattr(facts, name, getattr(facts, name) + int(value))
        waits, fills, wait_days, fill_days = values[len(COUNTERS) :]
        facts.waits.count += int(waits)
        facts.fills.count += int(fills)
        facts.waits.total_days += float(wait_days)
        facts.fills.total_days += float(fill_days)
    in_days = (R.dimension == dimension, R.day >= first, R.day <= last)
    reasons = select(R.key, R.reason, func.sum(R.units)).where(*in_days).group_by(R.key, R.reason)
    for key, reason, units in conn.execute(reasons):
        counted = of(key).cancel_reasons
        counted[reason] = counted.get(reason, 0) + int(units)
    in_days = (H.dimension == dimension, H.day >= first, H.day <= last)
    hours = (
        select(H.key, H.spread, H.hour, func.sum(H.count))
        .where(*in_days)
        .group_by(H.key, H.spread, H.hour)
    )
    for key, spread, hour, count in conn.execute(hours):
        histogram = getattr(of(key), spread).hours
        histogram[hour] = histogram.get(hour, 0) + int(count)


def save(
    conn: Connection, day: date, dimension: str, groups: dict[str, Facts], now: datetime
) -> None:
    """The day's facts for the grouping, in place of any rolled up before; the day counts as
    rolled up for it from the commit on."""
    for table in (kpi_day_facts, kpi_day_reasons, kpi_day_hours):
        conn.execute(delete(table).where(table.c.dimension == dimension, table.c.day == day))
    conn.execute(delete(kpi_days).where(D.dimension == dimension, D.day == day))
    where = {"dimension": dimension, "day": day}
    if groups:
        conn.execute(insert(kpi_day_facts), [_counts(where, key, f) for key, f in groups.items()])
    reasons = list(_reasons(where, groups.items()))
    if reasons:
        conn.execute(insert(kpi_day_reasons), reasons)
    hours = list(_hours(where, groups.items()))
    if hours:
        conn.execute(insert(kpi_day_hours), hours)
    conn.execute(insert(kpi_days).values(day=day, dimension=dimension, rolled_up_at=now))


def _counts(where: dict[str, object], key: str, facts: Facts) -> dict[str, object]:
    row = {**where, "key": key, **{name: getattr(facts, name) for name in COUNTERS}}
    row.update(
        waits=facts.waits.count,
        wait_days=facts.waits.total_days,
        fills=facts.fills.count,
        fill_days=facts.fills.total_days,
    )
    return row


def _reasons(
    where: dict[str, object], groups: Iterable[tuple[str, Facts]]
) -> Iterable[dict[str, object]]:
    for key, facts in groups:
        for reason, units in facts.cancel_reasons.items():
            yield {**where, "key": key, "reason": reason, "units": units}


def _hours(
    where: dict[str, object], groups: Iterable[tuple[str, Facts]]
) -> Iterable[dict[str, object]]:
    for key, facts in groups:
        for spread in SPREADS:
            for hour, count in getattr(facts, spread).hours.items():
                yield {**where, "key": key, "spread": spread, "hour": hour, "count": count}


def save_month(conn: Connection, first: date, last: date, dimension: str, now: datetime) -> None:
    """The sum of the month's rolled-up days (first to last, all rolled up), kept as one
    roll-up under its first day."""
    month = monthly(dimension)
    for table in (kpi_day_facts, kpi_day_reasons, kpi_day_hours):
        conn.execute(delete(table).where(table.c.dimension == month, table.c.day == first))
    conn.execute(delete(kpi_days).where(D.dimension == month, D.day == first))
    head = (literal(month, String()).label("dimension"), literal(first, Date()).label("day"))
    sums = (*COUNTERS, *SPREADS, "wait_days", "fill_days")
    for table, summed, keys in (
        (kpi_day_facts, sums, ("key",)),
        (kpi_day_reasons, ("units",), ("key", "reason")),
        (kpi_day_hours, ("count",), ("key", "spread", "hour")),
    ):
        c = table.c
        query = (
            select(*head, *(c[k] for k in keys), *(func.sum(c[n]).label(n) for n in summed))
            .where(c.dimension == dimension, c.day >= first, c.day <= last)
            .group_by(*(c[k] for k in keys))
        )
        conn.execute(insert(table).from_select(["dimension", "day", *keys, *summed], query))
    conn.execute(insert(kpi_days).values(day=first, dimension=month, rolled_up_at=now))
