"""The KPI facts of closed days, rolled up per grouping and group (tables kpi_day_*): saved
by the roll-up, summed by the KPIs. A day counts for a grouping only while its row in
kpi_days is there; the triggers of migration 0014 delete it when a change reaches the day."""

from __future__ import annotations

import sys
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from itertools import chain, repeat

from sqlalchemy import Connection, LargeBinary, cast, delete, func, insert, literal, select
from sqlalchemy.sql.expression import ColumnElement

from backorder.domain.kpis import Facts, Spread
from backorder.store.db import batches
from backorder.store.tables import KPI_COUNTERS, kpi_day_facts, kpi_day_reasons, kpi_days

COUNTERS = KPI_COUNTERS
SPREADS = ("waits", "fills")
ROLL_UP_LOCK = 7203  # migration 0014: the triggers hold it shared, a roll-up alone

F, R, D = kpi_day_facts.c, kpi_day_reasons.c, kpi_days.c


MONTH, WEEK = "/month", "/week"
DAILY = D.dimension.not_like("%/%")


def summed(dimension: str, suffix: str) -> str:
    """Where a grouping's whole months (or ISO weeks) are kept: under their first day, as
    "<grouping>/month" (or "/week")."""
    return f"{dimension}{suffix}"


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


def sums_counted(conn: Connection, first: date, last: date) -> int:
    """How many whole months and weeks (of any grouping) from first to last are rolled up."""
    query = select(func.count()).where(D.day >= first, D.day <= last, ~DAILY)
    return int(conn.execute(query).scalar_one())


def sums_done(conn: Connection, first: date, last: date) -> set[tuple[date, str]]:
    """The (first day, "<grouping>/month" or "/week") of the whole months and weeks from
    first to last that are rolled up."""
    query = select(D.day, D.dimension).where(D.day >= first, D.day <= last, ~DAILY)
    return {(day, name) for day, name in conn.execute(query)}


def add_up(
    conn: Connection, dimension: str, first: date, last: date, of: Callable[[str], Facts]
) -> None:
    """Add the rolled-up days from first to last to each group's facts (the caller has
    checked that those days are rolled up)."""
    add_counts(conn, dimension, first, last, of)
    add_durations(conn, dimension, first, last, of)


def add_counts(
    conn: Connection, dimension: str, first: date, last: date, of: Callable[[str], Facts]
) -> None:
    """add_up() but for the durations' histograms: the counts, the durations' counts and
    totals, and the cancel reasons."""
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


def add_durations(
    conn: Connection,
    dimension: str,
    first: date,
    last: date,
    of: Callable[[str], Facts],
    keys: Sequence[str] | None = None,
) -> None:
    """The rest of add_up(): the durations' histograms, of every group or of these. The
    database joins each group's packed durations into one value (a year by SKU is some
    14,000 rows for 1,000 SKUs, each costing more to read than its few durations)."""
    days = (F.dimension == dimension, F.day >= first, F.day <= last)
    with_hours = (F.wait_hours.is_not(None)) | (F.fill_hours.is_not(None))
    joined = _joined(conn.dialect.name)
    query = (
        select(F.key, joined(F.wait_hours), joined(F.fill_hours))
        .where(*days, with_hours)
        .group_by(F.key)
    )
    for some in [None] if keys is None else batches(keys):
        for key, waits, fills in conn.execute(
            query if some is None else query.where(F.key.in_(some))
        ):
            facts = of(key)
            add_hours(facts.waits, waits)
            add_hours(facts.fills, fills)


def _joined(dialect: str) -> Callable[[ColumnElement[bytes]], ColumnElement[bytes]]:
    """An aggregate that joins a group's packed values end to end (in any order: they are
    counted, not read in sequence)."""
    empty = literal(b"", LargeBinary)
    if dialect == "postgresql":
        return lambda column: func.string_agg(column, empty, type_=LargeBinary)
    # SQLite's group_concat copies a blob's bytes, zeros and all; read back as a blob.
    return lambda column: cast(func.group_concat(column, empty), LargeBinary)


def packed(hours: dict[int, int]) -> bytes | None:
    """A histogram (whole hours: count) as the whole hours of each duration, little-endian
    32-bit integers: one value a row, which reads back into a Counter at C speed."""
    if not hours:
        return None
    each = array("i", chain.from_iterable(repeat(hour, count) for hour, count in hours.items()))
    if sys.byteorder == "big":
        each.byteswap()
    return each.tobytes()


def add_hours(spread: Spread, blob: bytes | None) -> None:
    """Add a packed histogram to a spread's."""
    if not blob:
        return
    each = array("i")
    each.frombytes(blob)
    if sys.byteorder == "big":
        each.byteswap()
    if not isinstance(spread.hours, Counter):
        spread.hours = Counter(spread.hours)
    spread.hours.update(each)


def save(
    conn: Connection, day: date, dimension: str, groups: dict[str, Facts], now: datetime
) -> None:
    """The day's facts for the grouping, in place of any rolled up before; the day counts as
    rolled up for it from the commit on."""
    _replace(conn, day, dimension, groups)
    conn.execute(insert(kpi_days).values(day=day, dimension=dimension, rolled_up_at=now))


def _replace(conn: Connection, day: date, dimension: str, groups: dict[str, Facts]) -> None:
    for table in (kpi_day_facts, kpi_day_reasons):
        conn.execute(delete(table).where(table.c.dimension == dimension, table.c.day == day))
    conn.execute(delete(kpi_days).where(D.dimension == dimension, D.day == day))
    where = {"dimension": dimension, "day": day}
    if groups:
        conn.execute(insert(kpi_day_facts), [_row(where, key, f) for key, f in groups.items()])
    reasons = [
        {**where, "key": key, "reason": reason, "units": units}
        for key, facts in groups.items()
        for reason, units in facts.cancel_reasons.items()
    ]
    if reasons:
        conn.execute(insert(kpi_day_reasons), reasons)


def _row(where: dict[str, object], key: str, facts: Facts) -> dict[str, object]:
    row = {**where, "key": key, **{name: getattr(facts, name) for name in COUNTERS}}
    row.update(
        waits=facts.waits.count,
        wait_days=facts.waits.total_days,
        wait_hours=packed(facts.waits.hours),
        fills=facts.fills.count,
        fill_days=facts.fills.total_days,
        fill_hours=packed(facts.fills.hours),
    )
    return row


def save_sum(
    conn: Connection, first: date, last: date, dimension: str, suffix: str, now: datetime
) -> bool:
    """The sum of the days from first to last (a month or an ISO week), kept as one roll-up
    under its first day, if every one of them is rolled up (a change may have made one
    forgotten since the caller looked); whether it was."""
    if len(rolled_up(conn, dimension, first, last)) <= (last - first).days:
        return False
    groups: dict[str, Facts] = {}
    add_up(conn, dimension, first, last, lambda key: groups.setdefault(key, Facts()))
    name = summed(dimension, suffix)
    _replace(conn, first, name, groups)
    conn.execute(insert(kpi_days).values(day=first, dimension=name, rolled_up_at=now))
    return True
