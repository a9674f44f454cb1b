"""The KPIs over a period, for everything or by SKU, channel, supplier or customer tier: what
the store counts, set-based, one query per figure (the definitions are in domain/kpis.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    exists,
    false,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.sql.expression import ColumnElement

from backorder.domain.errors import InvalidRequest
from backorder.domain.kpis import Facts, Targets, aging_bounds, measure
from backorder.services.context import Backorder
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


class Dimension(StrEnum):
    SKU = "sku"
    CHANNEL = "channel"
    SUPPLIER = "supplier"
    TIER = "tier"


@dataclass(frozen=True)
class Period:
    """From one day to another, both included (UTC)."""

    first: date
    last: date

    @classmethod
    def of(cls, first: date | None, last: date | None, today: date) -> Period:
        """The period asked for; by default the 30 days up to today."""
        last = last or today
        first = first or last - timedelta(days=DEFAULT_DAYS - 1)
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
        return func.coalesce(PRODUCT.supplier_id, "")
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
    def grouped(self) -> bool:
        return self.by is not None

    def lines(self, with_orders: bool = False) -> FromClause:
        """Order lines, with their order and SKU where the key (or the query) needs them."""
        joined: FromClause = order_lines
        if with_orders or self.by in (Dimension.CHANNEL, Dimension.TIER):
            joined = joined.join(orders, ORDER.id == LINE.order_id)
        if self.by in (Dimension.SKU, Dimension.SUPPLIER):
            joined = joined.join(products, PRODUCT.id == LINE.product_id)
        return joined


def within(column: ColumnElement[Any], period: Period) -> ColumnElement[bool]:
    """A moment in the period."""
    return and_(column >= period.start, column < period.end)


def fills_a_line(period: Period) -> ColumnElement[bool]:
    """An allocation (joined to its line) of the period that served the line's last waiting
    unit: from the queue, nothing waits on the line, and no later allocation from the queue."""
    a, later = allocations.c, allocations.alias("later").c
    return and_(
        within(a.allocated_at, period),
        a.source != "intake",
        LINE.backordered == 0,
        ~exists().where(later.line_id == a.line_id, later.id > a.id, later.source != "intake"),
    )


Of = Callable[[Any], Facts]  # the Facts of a group, by its key

# A period's queries; those whose counts add up across any grouping (a line, a unit or a
# shipment belongs to one SKU, channel, supplier and tier), and those that count orders,
# which by SKU or supplier may fall in several groups.
ADDITIVE = ("ended", "waits", "accuracy", "promises", "waiting")
BY_ORDER = ("placed", "fills")


def compute(
    conn: Connection,
    period: Period,
    now: datetime,
    by: Dimension | None = None,
    parts: tuple[str, ...] = ADDITIVE + BY_ORDER,
) -> dict[str, Facts]:
    """The facts per group (one group, "all", without `by`)."""
    facts: dict[str, Facts] = {}
    scope = Scope(by)

    def of(group: Any) -> Facts:
        name = ALL if group is None else str(group) or "(none)"
        return facts.setdefault(name, Facts())

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
    return facts


def overall_and_groups(
    conn: Connection, period: Period, now: datetime, by: Dimension | None
) -> tuple[Facts, dict[str, Facts]]:
    """Everything, and per group: the groups are counted once and everything is their sum,
    except, by SKU or supplier, the counts of orders (an order may hold several SKUs)."""
    if by is None:
        return compute(conn, period, now).get(ALL, Facts()), {}
    groups = compute(conn, period, now, by)
    overall = Facts()
    for facts in groups.values():
        overall.merge(facts)
    if by in (Dimension.SKU, Dimension.SUPPLIER):
        orders_of = compute(conn, period, now, None, BY_ORDER).get(ALL, Facts())
        overall.orders, overall.backordered_orders = orders_of.orders, orders_of.backordered_orders
        overall.lines, overall.backordered_lines = orders_of.lines, orders_of.backordered_lines
        overall.fills = orders_of.fills
    return overall, groups


def _placed(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    waited, key = LINE.backordered_at.is_not(None), scope.key
    query = (
        select(
            key,
            func.count(distinct(ORDER.id)),
            func.count(distinct(case((waited, ORDER.id)))),
            func.count(LINE.id),
            func.count(LINE.backordered_at),
        )
        .select_from(scope.lines(with_orders=True))
        .where(within(ORDER.placed_at, period))
        .group_by(key)
    )
    for group, placed, backordered, lines, waiting in conn.execute(query):
        facts = of(group)
        facts.orders, facts.backordered_orders = placed, backordered
        facts.lines, facts.backordered_lines = lines, waiting


def _ended(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    a, c, key = allocations.c, cancellations.c, scope.key
    served = (
        select(key, func.sum(a.units))
        .select_from(
            allocations.join(scope.lines(), LINE.id == a.line_id) if scope.grouped else allocations
        )
        .where(within(a.allocated_at, period), a.source != "intake")
        .group_by(key)
    )
    for group, units in conn.execute(served):
        of(group).converted_units = int(units)
    lost = (
        select(key, c.reason, func.sum(c.from_backordered))
        .select_from(
            cancellations.join(scope.lines(), LINE.id == c.line_id)
            if scope.grouped
            else cancellations
        )
        .where(within(c.cancelled_at, period), c.from_backordered > 0)
        .group_by(key, c.reason)
    )
    for group, reason, units in conn.execute(lost):
        facts = of(group)
        facts.cancelled_units += int(units)
        facts.cancel_reasons[reason] = facts.cancel_reasons.get(reason, 0) + int(units)


def _waits(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Lines whose last waiting unit was allocated in the period: how long they waited."""
    a = allocations.c
    days = days_between(a.allocated_at, LINE.backordered_at)
    last_served = (
        select(scope.key, days.label("days"))
        .select_from(allocations.join(scope.lines(), LINE.id == a.line_id))
        .where(fills_a_line(period), LINE.backordered_at.is_not(None))
        .subquery()
    )
    _spread(conn, last_served, "waits", of)


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
    """Orders with a backordered line whose shipment in the period completed them: from the
    order to that shipment. By SKU or supplier, an order counts once in the group of each of
    its backordered lines."""
    s = shipments.c
    waited = order_lines.alias("waited")
    base = (
        select(s.order_id, days_between(s.shipped_at, ORDER.placed_at).label("days"))
        .select_from(shipments.join(orders, ORDER.id == s.order_id))
        .where(
            within(s.shipped_at, period),
            s.completed.is_(True),
            exists().where(waited.c.order_id == s.order_id, waited.c.backordered_at.is_not(None)),
        )
        .subquery()
    )
    per_group = (
        select(base.c.order_id, scope.key, base.c.days)
        .select_from(base.join(scope.lines(), LINE.order_id == base.c.order_id))
        .where(LINE.backordered_at.is_not(None))
        .distinct()
        .subquery()
    )
    _spread(conn, per_group, "fills", of)


def _accuracy(conn: Connection, period: Period, scope: Scope, of: Of) -> None:
    """Shipment lines of the period that shipped exactly what was allocated to the line."""
    sl, s, key = shipment_lines.c, shipments.c, scope.key
    shipped = shipment_lines.join(shipments, s.id == sl.shipment_id)
    query = (
        select(key, func.count(), func.sum(case((sl.units == sl.allocated, 1), else_=0)))
        .select_from(
            shipped.join(scope.lines(), LINE.id == sl.line_id) if scope.grouped else shipped
        )
        .where(within(s.shipped_at, period))
        .group_by(key)
    )
    for group, lines, matching in conn.execute(query):
        facts = of(group)
        facts.shipped_lines, facts.accurate_lines = lines, int(matching)


def _promises(conn: Connection, period: Period, now: datetime, scope: Scope, of: Of) -> None:
    """Backordered lines whose promised date, in the period, has passed: kept or not."""
    last = min(period.last, now.date() - timedelta(days=1))
    if last < period.first:
        return
    a, c = allocations.c, cancellations.c
    promised = (
        select(LINE.id, scope.key, LINE.promised, LINE.backordered)
        .select_from(scope.lines())
        .where(
            LINE.backordered_at.is_not(None), LINE.promised >= period.first, LINE.promised <= last
        )
        # Found once through the index of promised dates, then joined twice: inlined, SQLite
        # may start from the SKUs instead and read every line of each.
        .cte("promised")
        .prefix_with("MATERIALIZED")
    )
    served = (
        select(a.line_id, func.max(a.allocated_at).label("at"))
        .select_from(allocations.join(promised, promised.c.id == a.line_id))
        .where(a.source != "intake")
        .group_by(a.line_id)
        .subquery()
    )
    withdrawn = (
        select(c.line_id, func.max(c.cancelled_at).label("at"))
        .select_from(cancellations.join(promised, promised.c.id == c.line_id))
        .where(c.from_backordered > 0)
        .group_by(c.line_id)
        .subquery()
    )
    done = promised.c.backordered == 0
    kept = and_(done, served.c.at.is_not(None), utc_day(served.c.at) <= promised.c.promised)
    dropped = and_(done, served.c.at.is_(None), utc_day(withdrawn.c.at) <= promised.c.promised)
    query = (
        select(promised.c.key, func.count(), func.sum(case((kept, 1), else_=0)))
        .select_from(
            promised.outerjoin(served, served.c.line_id == promised.c.id).outerjoin(
                withdrawn, withdrawn.c.line_id == promised.c.id
            )
        )
        .where(~func.coalesce(dropped, false()))
        .group_by(promised.c.key)
    )
    for group, counted, on_time in conn.execute(query):
        facts = of(group)
        facts.promised_lines, facts.kept_promises = counted, int(on_time)


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
        .select_from(scope.lines(with_orders=True))
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


def kpis(
    app: Backorder,
    first: date | None = None,
    last: date | None = None,
    by: Dimension | None = None,
) -> dict[str, Any]:
    """The KPIs of a period (default: the 30 days up to today), overall and, with `by`, per
    SKU, channel, supplier or customer tier, each against its target."""
    now = app.now()
    period = Period.of(first, last, now.date())
    targets = targets_of(app)
    with app.db.read() as uow:
        if uow.dialect == "postgresql":
            # Plans of a few hundred milliseconds: compiling them costs more than it saves,
            # and the hash joins and sorts over a month of lines want more than 4 MB.
            uow.connection.exec_driver_sql("SET LOCAL jit = off")
            uow.connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        overall, groups = overall_and_groups(uow.connection, period, now, by)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "as_of": now.isoformat(),
        "by": by.value if by else None,
        "kpis": measure(overall, targets),
        "groups": [
            {"key": name, "kpis": measure(facts, targets)} for name, facts in _sorted(groups)
        ],
    }


def _sorted(groups: dict[str, Facts]) -> Iterable[tuple[str, Facts]]:
    """Groups with the most waiting first, then by name."""
    return sorted(groups.items(), key=lambda kv: (-kv[1].waiting().units, kv[0]))
