"""The KPIs over a period, for everything or by SKU, channel, supplier, customer tier or
location: what the store counts, set-based, one query per figure (the definitions are in
domain/kpis.py; what a location's group counts, in store/kpi_locations.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Connection,
    FromClause,
    and_,
    case,
    distinct,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.sql.expression import ColumnElement

from backorder.domain.errors import InvalidRequest
from backorder.domain.kpis import Facts, Targets, aging_bounds, measure
from backorder.services.context import Backorder
from backorder.store import kpi_days, kpi_locations
from backorder.store.db import UnitOfWork
from backorder.store.tables import (
    allocations,
    cancellations,
    order_lines,
    orders,
    products,
    shipment_lines,
    shipments,
)
from backorder.store.timefuncs import days_between, hours, utc_day
from backorder.store.types import Money

LINE, ORDER, PRODUCT = order_lines.c, orders.c, products.c
ALL = "all"
DEFAULT_DAYS = 30
MAX_DAYS = 3660
DEFAULT_GROUPS, MAX_GROUPS, MAX_OFFSET = 100, 1000, 1_000_000


class Dimension(StrEnum):
    SKU = "sku"
    CHANNEL = "channel"
    SUPPLIER = "supplier"
    TIER = "tier"
    LOCATION = "location"  # where units were taken from and shipped from; never rolled up


# The parts a location's group has (the rest has no location: everything only).
AT_LOCATIONS = ("placed", "waits", "fills", "accuracy")


@dataclass(frozen=True)
class Period:
    """From one day to another, both included (UTC)."""

    first: date
    last: date

    @classmethod
    def of(cls, first: date | None, last: date | None, today: date) -> Period:
        """The period asked for; by default the 30 days up to today."""
        last = last or today
        if last >= date.max:  # the period's end is the moment after its last day
            raise InvalidRequest(f"a period ends by {date.max - timedelta(days=1)} at the latest")
        first = first or last - min(last - date.min, timedelta(days=DEFAULT_DAYS - 1))
        if first > last:
            raise InvalidRequest(f"the period starts ({first}) after it ends ({last})")
        if (last - first).days >= MAX_DAYS:
            raise InvalidRequest(f"a period is at most {MAX_DAYS} days")
        return cls(first, last)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def _key(by: Dimension | None) -> ColumnElement[Any]:
    if by is Dimension.SKU:
        return PRODUCT.sku
    if by is Dimension.CHANNEL:
        return ORDER.channel
    if by is Dimension.SUPPLIER:
        return func.coalesce(PRODUCT.supplier_id, literal_column("''"))
    if by is Dimension.TIER:
        return ORDER.customer_tier
    return literal(ALL)


@dataclass(frozen=True)
class Scope:
    """A grouping: its key, and the fewest tables a query must join to read it."""

    by: Dimension | None

    @property
    def key(self) -> ColumnElement[Any]:
        return _key(self.by).label("key")

    @property
    def name(self) -> str:
        """The grouping's name ("all" for none), as its roll-ups are kept."""
        return ALL if self.by is None else self.by.value

    @property
    def grouped(self) -> bool:
        return self.by is not None

    @property
    def by_order(self) -> bool:
        """Overall, by channel or by tier, every group is a set of whole orders."""
        return self.by in (None, Dimension.CHANNEL, Dimension.TIER)

    def lines(self) -> FromClause:
        """Order lines, with their order and SKU where the key needs them."""
        if self.by in (Dimension.CHANNEL, Dimension.TIER):
            return self._keyed(order_lines.join(orders, ORDER.id == LINE.order_id))
        return self._keyed(order_lines)

    def lines_and_orders(self) -> FromClause:
        """Order lines with their orders, and their SKU where the key needs it."""
        return self._keyed(order_lines.join(orders, ORDER.id == LINE.order_id))

    def _keyed(self, joined: FromClause) -> FromClause:
        if self.by in (Dimension.SKU, Dimension.SUPPLIER):
            return joined.join(products, PRODUCT.id == LINE.product_id)
        return joined


def within(column: ColumnElement[Any], period: Period) -> ColumnElement[bool]:
    """A moment in the period."""
    return and_(column >= period.start, column < period.end)


# The conditions of the partial indexes, as literals: a bound parameter would keep
# PostgreSQL's generic plans (and SQLite's, without the value) off those indexes.
FROM_QUEUE = allocations.c.source != literal_column("'intake'")
OUT_OF_QUEUE = cancellations.c.from_backordered > literal_column("0")
WAITED = ORDER.waited_lines > literal_column("0")


def filled_in(period: Period) -> ColumnElement[bool]:
    """Lines whose wait was filled (the last waiting unit allocated) in the period."""
    return and_(within(LINE.filled_at, period), LINE.filled_at.is_not(None))


Of = Callable[[Any], Facts]  # the Facts of a group, by its key

# A period's queries; those whose counts add up across any grouping (a line, a unit or a
# shipment belongs to one SKU, channel, supplier and tier), and those that count orders,
# which by SKU or supplier may fall in several groups.
ADDITIVE = ("ended", "waits", "accuracy", "promises", "waiting")
BY_ORDER = ("placed", "fills")
# What a rolled-up day holds: everything but what waits now.
ROLLED_UP = ("placed", "ended", "waits", "fills", "accuracy", "promises")


def compute(
    conn: Connection,
    period: Period,
    now: datetime,
    by: Dimension | None = None,
    parts: tuple[str, ...] = ADDITIVE + BY_ORDER,
) -> dict[str, Facts]:
    """The facts per group (one group, "all", without `by`), read from the lines."""
    facts: dict[str, Facts] = {}
    _count(conn, period, now, Scope(by), parts, collect(facts))
    return facts


def gather(
    conn: Connection,
    period: Period,
    now: datetime,
    by: Dimension | None = None,
    parts: tuple[str, ...] = ADDITIVE + BY_ORDER,
) -> dict[str, Facts]:
    """compute()'s facts, with the closed months, weeks and days that are rolled up summed from
    their roll-ups (which bring all their facts, whatever `parts` asks for) and the rest
    read from the lines."""
    facts, rolled_up = gather_counts(conn, period, now, by, parts)
    of = collect(facts)
    for name, first, last in rolled_up:
        kpi_days.add_durations(conn, name, first, last, of)
    return facts


Runs = list[tuple[str, date, date]]  # (roll-up, first day, last day)


def gather_counts(
    conn: Connection,
    period: Period,
    now: datetime,
    by: Dimension | None,
    parts: tuple[str, ...],
) -> tuple[dict[str, Facts], Runs]:
    """gather()'s facts but for the durations of the rolled-up days, which the caller adds
    (kpi_days.add_durations) for the groups it needs; and the runs of rolled-up days."""
    facts: dict[str, Facts] = {}
    of, scope = collect(facts), Scope(by)
    daily = tuple(part for part in parts if part in ROLLED_UP)
    closed = min(period.last, now.date() - timedelta(days=1))
    rolled_up: Runs = []
    spans: list[tuple[date, date]] = []  # the days each run covers
    if daily and closed >= period.first:
        covered: set[date] = set()
        for stretch in STRETCHES:  # the longest first; then the days they leave
            name = kpi_days.summed(scope.name, stretch.suffix)
            starts = [
                first
                for first in kpi_days.rolled_up(conn, name, period.first, closed)
                if stretch.end(first) <= closed
                and first not in covered
                and stretch.end(first) not in covered
            ]
            for first, last in runs(starts, stretch.after):
                rolled_up.append((name, first, last))
                spans.append((first, stretch.end(last)))
            covered.update(day for first in starts for day in stretch.days(first))
        days = [
            day
            for day in kpi_days.rolled_up(conn, scope.name, period.first, closed)
            if day not in covered
        ]
        for first, last in runs(days, lambda day: day + DAY):
            rolled_up.append((scope.name, first, last))
            spans.append((first, last))
    for name, first, last in rolled_up:
        kpi_days.add_counts(conn, name, first, last, of)
    for first, last in gaps(period, sorted(spans)):
        _count(conn, Period(first, last), now, scope, daily, of)
    if "waiting" in parts and scope.by is not Dimension.LOCATION:
        _waiting(conn, now, scope, of)
    return facts, rolled_up


DAY = timedelta(days=1)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(first: date) -> date:
    """The last day of the month of `first`."""
    return (first.replace(day=1) + timedelta(days=32)).replace(day=1) - DAY


def week_of(day: date) -> date:
    """The Monday of the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def week_end(first: date) -> date:
    """The Sunday of the ISO week of `first`."""
    return week_of(first) + timedelta(days=6)


@dataclass(frozen=True)
class Stretch:
    """Whole months, or whole ISO weeks: rolled up as one once all their days are, kept under
    their first day."""

    suffix: str
    start: Callable[[date], date]  # of the stretch a day is in
    end: Callable[[date], date]  # of the stretch that starts on a day

    def after(self, first: date) -> date:
        """The first day of the next stretch."""
        return self.end(first) + DAY

    def days(self, first: date) -> Iterator[date]:
        day = first
        while day <= self.end(first):
            yield day
            day += DAY

    def within(self, first: date, last: date) -> Iterator[date]:
        """The first day of each stretch that lies wholly from first to last."""
        start = self.start(first)
        if start < first:
            start = self.after(start)
        while self.end(start) <= last:
            yield start
            start = self.after(start)


MONTHS = Stretch(kpi_days.MONTH, month_of, month_end)
WEEKS = Stretch(kpi_days.WEEK, week_of, week_end)
STRETCHES = (MONTHS, WEEKS)  # the longest first


def collect(facts: dict[str, Facts]) -> Of:
    """The Facts of a group, by its key, kept in `facts`."""

    def of(group: Any) -> Facts:
        name = ALL if group is None else str(group) or "(none)"
        found = facts.get(name)
        if found is None:  # not setdefault: a Facts() per result row costs more than the query
            found = facts[name] = Facts()
        return found

    return of


def _count(
    conn: Connection, period: Period, now: datetime, scope: Scope, parts: tuple[str, ...], of: Of
) -> None:
    if scope.by is Dimension.LOCATION:
        parts = tuple(part for part in parts if part in AT_LOCATIONS)
    steps: dict[str, Callable[[], None]] = {
        "placed": lambda: _placed(conn, period, scope, of),
        "ended": lambda: _ended(conn, period, scope, of),
        "waits": lambda: _waits(conn, period, scope, of),
        "fills": lambda: _fills(conn, period, scope, of),
        "accuracy": lambda: _accuracy(conn, period, scope, of),
        "promises": lambda: _promises(conn, period, now, scope, of),
        "waiting": lambda: _waiting(conn, now, scope, of),
    }
    for part in parts:
        steps[part]()


def runs(items: list[date], after: Callable[[date], date]) -> Iterator[tuple[date, date]]:
    """Items in order as (first, last) runs, each item following the one before (`after`
    gives the one that would)."""
    start = previous = None
    for item in items:
        if previous is None or item != after(previous):
            if start is not None and previous is not None:
                yield start, previous
            start = item
        previous = item
    if start is not None and previous is not None:
        yield start, previous


def gaps(period: Period, covered: list[tuple[date, date]]) -> Iterator[tuple[date, date]]:
    """The runs of the period's days outside the covered (first, last) runs, in order."""
    first = period.first
    for start, last in covered:
        if start > first:
            yield first, start - timedelta(days=1)
        first = max(first, last + timedelta(days=1))
    if first <= period.last:
        yield first, period.last


@dataclass(frozen=True)
class Page:
    """Which of the groups, ranked (most units waiting first, then by key), an answer shows."""

    limit: int = DEFAULT_GROUPS
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_GROUPS:
            raise InvalidRequest(f"limit must be between 1 and {MAX_GROUPS}")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise InvalidRequest(f"offset must be between 0 and {MAX_OFFSET}")


@dataclass
class Answer:
    overall: Facts
    groups: list[tuple[str, Facts]]  # the page's, ranked
    count: int  # groups in all


def overall_and_groups(
    conn: Connection, period: Period, now: datetime, by: Dimension | None, page: Page
) -> Answer:
    """Everything, and the page's groups. The groups are counted once and everything is
    their sum, except what is read for everything as one group: by SKU or supplier, the
    counts of orders (an order may hold several SKUs); and when the page shows only some
    groups, the durations (whose rolled-up days are then read for the page's groups
    alone)."""
    if by is None:
        return Answer(gather(conn, period, now).get(ALL, Facts()), [], 0)
    groups, rolled_up = gather_counts(conn, period, now, by, ADDITIVE + BY_ORDER)
    shown = _sorted(groups)[page.offset : page.offset + page.limit]
    keys = [key for key, _ in shown] if len(shown) < len(groups) else None
    of = collect(groups)
    for name, first, last in rolled_up:
        kpi_days.add_durations(conn, name, first, last, of, keys)
    overall = Facts()
    for facts in groups.values():
        overall.merge(facts)
    whole = (
        (("waits", "fills") if keys is not None else ())
        + (() if Scope(by).by_order else BY_ORDER)
        + (NOT_AT_LOCATIONS if by is Dimension.LOCATION else ())
    )
    if whole:
        everything = gather(conn, period, now, None, tuple(dict.fromkeys(whole))).get(ALL, Facts())
        if by is Dimension.LOCATION:
            _take_unlocated(overall, everything)
        overall.fills = everything.fills
        if keys is not None:
            overall.waits = everything.waits
        if not Scope(by).by_order:
            overall.orders, overall.lines = everything.orders, everything.lines
            overall.backordered_orders = everything.backordered_orders
            overall.backordered_lines = everything.backordered_lines
    return Answer(overall, shown, len(groups))


NOT_AT_LOCATIONS = ("ended", "promises", "waiting")


def _take_unlocated(overall: Facts, everything: Facts) -> None:
    """By location, everything's figures that have no location, read for everything."""
    overall.converted_units = everything.converted_units
    overall.cancelled_units = everything.cancelled_units
    overall.cancel_reasons = everything.cancel_reasons
    overall.promised_lines = everything.promised_lines
    overall.kept_promises = everything.kept_promises
    overall.aging = everything.aging
    overall.at_risk = everything.at_risk


def _placed(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Orders placed in the period, those with a line that waited, and their lines. Overall,
    by channel or tier, the orders' own counts (one index range); by SKU or supplier, from
    their lines."""
    key = scope.key
    if scope.by is Dimension.LOCATION:
        query = kpi_locations.placed(period.start, period.end)
    elif scope.by_order:
        query = (
            select(
                key,
                func.count(),
                func.sum(case((WAITED, 1), else_=0)),
                func.sum(ORDER.line_count),
                func.sum(ORDER.waited_lines),
            )
            .where(within(ORDER.placed_at, period))
            .group_by(key)
        )
    else:
        waited = LINE.backordered_at.is_not(None)
        query = (
            select(
                key,
                func.count(distinct(ORDER.id)),
                func.count(distinct(case((waited, ORDER.id)))),
                func.count(LINE.id),
                func.count(LINE.backordered_at),
            )
            .select_from(scope.lines_and_orders())
            .where(within(ORDER.placed_at, period))
            .group_by(key)
        )
    for group, placed, backordered, lines, waiting in conn.execute(query):
        facts = of(group)  # added to: a period may be read in parts
        facts.orders += placed
        facts.backordered_orders += int(backordered or 0)
        facts.lines += int(lines or 0)
        facts.backordered_lines += int(waiting or 0)


def _ended(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    a, c, key = allocations.c, cancellations.c, scope.key
    served = (
        select(key, func.sum(a.units))
        .select_from(
            allocations.join(scope.lines(), LINE.id == a.line_id) if scope.grouped else allocations
        )
        .where(within(a.allocated_at, period), FROM_QUEUE)
        .group_by(key)
    )
    for group, units in conn.execute(served):
        of(group).converted_units += int(units)
    lost = (
        select(key, c.reason, func.sum(c.from_backordered))
        .select_from(
            cancellations.join(scope.lines(), LINE.id == c.line_id)
            if scope.grouped
            else cancellations
        )
        .where(within(c.cancelled_at, period), OUT_OF_QUEUE)
        .group_by(key, c.reason)
    )
    for group, reason, units in conn.execute(lost):
        facts = of(group)
        facts.cancelled_units += int(units)
        facts.cancel_reasons[reason] = facts.cancel_reasons.get(reason, 0) + int(units)


def _waits(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Lines whose wait was filled in the period: how long they waited."""
    if scope.by is Dimension.LOCATION:
        _spread(conn, kpi_locations.waits(period.start, period.end), "waits", of)
        return
    filled = (
        select(scope.key, days_between(LINE.filled_at, LINE.backordered_at).label("days"))
        .select_from(scope.lines())
        .where(filled_in(period))
        .subquery()
    )
    _spread(conn, filled, "waits", of)


def _spread(conn: Connection, durations: FromClause, name: str, of: Of) -> None:
    hour = hours(durations.c.days)
    query = select(durations.c.key, hour, func.count(), func.sum(durations.c.days)).group_by(
        durations.c.key, hour
    )
    for group, whole_hours, count, total in conn.execute(query):
        spread = getattr(of(group), name)
        spread.count += count
        spread.total_days += float(total)
        spread.hours[int(whole_hours)] = spread.hours.get(int(whole_hours), 0) + count


def _fills(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Orders with a line that waited, completed by a shipment in the period: from the
    order to that shipment. By SKU or supplier, an order counts once in the group of each of
    its lines that waited."""
    completed = and_(within(ORDER.completed_at, period), ORDER.completed_at.is_not(None), WAITED)
    days = days_between(ORDER.completed_at, ORDER.placed_at).label("days")
    if scope.by is Dimension.LOCATION:
        per_group = kpi_locations.fills(period.start, period.end)
    elif scope.by_order:
        per_group = select(scope.key, days).where(completed).subquery()
    else:
        per_group = (
            select(ORDER.id, scope.key, days)
            .select_from(scope.lines_and_orders())
            .where(completed, LINE.backordered_at.is_not(None))
            .distinct()
            .subquery()
        )
    _spread(conn, per_group, "fills", of)


def _accuracy(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Shipment lines of the period that shipped exactly what was allocated to the line:
    overall, by channel or tier from each shipment's own counts; by SKU or supplier from its
    lines."""
    sl, s, key = shipment_lines.c, shipments.c, scope.key
    if scope.by is Dimension.LOCATION:
        for group, lines, matching in conn.execute(
            kpi_locations.accuracy(period.start, period.end)
        ):
            facts = of(group)
            facts.shipped_lines += int(lines or 0)
            facts.accurate_lines += int(matching or 0)
        return
    if scope.by_order:
        source: FromClause = shipments
        if scope.grouped:
            source = shipments.join(orders, ORDER.id == s.order_id)
        query = select(key, func.sum(s.line_count), func.sum(s.exact_lines)).select_from(source)
    else:
        query = select(
            key, func.count(), func.sum(case((sl.units == sl.allocated, 1), else_=0))
        ).select_from(
            shipment_lines.join(shipments, s.id == sl.shipment_id).join(
                scope.lines(), LINE.id == sl.line_id
            )
        )
    for group, lines, matching in conn.execute(
        query.where(within(s.shipped_at, period)).group_by(key)
    ):
        facts = of(group)
        facts.shipped_lines += int(lines or 0)
        facts.accurate_lines += int(matching or 0)


def _promises(conn: Connection, period: Period, now: datetime, scope: Scope, of: Of) -> None:
    """Backordered lines whose promised date, in the period, has passed: kept (filled by
    that day) or not; a line withdrawn by that day is not counted."""
    last = min(period.last, now.date() - timedelta(days=1))
    if last < period.first:
        return
    kept = and_(LINE.filled_at.is_not(None), utc_day(LINE.filled_at) <= LINE.promised)
    withdrawn = and_(LINE.withdrawn_at.is_not(None), utc_day(LINE.withdrawn_at) <= LINE.promised)
    query = (
        select(scope.key, func.count(), func.sum(case((kept, 1), else_=0)))
        .select_from(scope.lines())
        .where(
            LINE.backordered_at.is_not(None),
            LINE.promised >= period.first,
            LINE.promised <= last,
            ~withdrawn,
        )
        .group_by(scope.key)
    )
    for group, counted, on_time in conn.execute(query):
        facts = of(group)
        facts.promised_lines += counted
        facts.kept_promises += int(on_time or 0)


def _waiting(conn: Connection, now: datetime, scope: Scope, of: Of) -> None:
    """The waiting lines now: by age, currency and whether they are overdue."""
    whens, key = [], scope.key
    for label, earliest, latest in aging_bounds(now):
        newer = LINE.backordered_at <= latest
        whens.append(
            (newer if earliest is None else and_(newer, LINE.backordered_at > earliest), label)
        )
    bucket = case(*whens, else_=literal("0-7")).label("bucket")
    overdue = case((LINE.promised < now.date(), 1), else_=0).label("overdue")
    value = type_coerce(func.sum(LINE.backordered * LINE.unit_price), Money)
    query = (
        select(
            key, bucket, ORDER.currency, overdue, func.count(), func.sum(LINE.backordered), value
        )
        .select_from(scope.lines_and_orders())
        .where(LINE.backordered > 0)
        .group_by(key, bucket, ORDER.currency, overdue)
    )
    for group, label, currency, late, lines, units, amount in conn.execute(query):
        facts = of(group)
        for target in (facts.aging[label], *((facts.at_risk,) if late else ())):
            target.lines += lines
            target.units += int(units)
            target.value[currency] = target.value.get(currency, Decimal(0)) + amount


def waiting_now(conn: Connection, now: datetime) -> Facts:
    """What waits now, by age and whether it is overdue (for the dashboard)."""
    facts = Facts()
    _waiting(conn, now, Scope(None), lambda _: facts)
    return facts


def targets_of(app: Backorder) -> Targets:
    s = app.settings
    return Targets(
        backorder_rate=s.target_backorder_rate,
        conversion_rate=s.target_conversion_rate,
        backorder_days=s.target_backorder_days,
        fill_days=s.target_fill_days,
        cancel_rate=s.target_cancel_rate,
        fulfillment_accuracy=s.target_fulfillment_accuracy,
        promise_accuracy=s.target_promise_accuracy,
    )


def tune(uow: UnitOfWork) -> None:
    """Settings for the KPI queries of one transaction. On PostgreSQL: plans of a few hundred
    milliseconds, whose compiling costs more than it saves; hash joins and sorts over a month
    of lines that want more than 4 MB; and the rows a period reads are in the KPI indexes and
    mostly in memory, so that a random read costs little more than a sequential one (the
    default, 4, is for spinning disks; with it the planner scans a whole table to join a
    month of allocations)."""
    if uow.dialect == "postgresql":
        for setting in ("jit = off", "work_mem = '64MB'", "random_page_cost = 1.1"):
            uow.connection.exec_driver_sql(f"SET LOCAL {setting}")


def kpis(
    app: Backorder,
    first: date | None = None,
    last: date | None = None,
    by: Dimension | None = None,
    page: Page | None = None,
) -> dict[str, Any]:
    """The KPIs of a period (default: the 30 days up to today), overall and, with `by`, per
    SKU, channel, supplier or customer tier, each against its target: the groups with the
    most units waiting first, a page of them (by default the first 100)."""
    now = app.now()
    period = Period.of(first, last, now.date())
    page = page or Page()
    targets = targets_of(app)
    with app.db.stale_read() as uow:  # a read replica's, when one is set
        if uow.dialect == "postgresql":  # every figure from one snapshot
            uow.connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        tune(uow)
        answer = overall_and_groups(uow.connection, period, now, by, page)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "as_of": now.isoformat(),
        "by": by.value if by else None,
        "kpis": measure(answer.overall, targets),
        "group_count": answer.count,
        "limit": page.limit,
        "offset": page.offset,
        "groups": [{"key": name, "kpis": measure(facts, targets)} for name, facts in answer.groups],
    }


def _sorted(groups: dict[str, Facts]) -> list[tuple[str, Facts]]:
    """Groups with the most waiting first, then by name."""
    return sorted(groups.items(), key=lambda kv: (-kv[1].waiting().units, kv[0]))
