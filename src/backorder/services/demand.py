"""Demand per SKU (and location) and period: from the orders the engine holds, and from
history imported for a new install (`backorder history import`). Pure SQL: works without
the forecast extra.

- Order demand: store/demand.py (every unit ordered, on the UTC day the order was placed).
- Imported history: one kind of period (day, week or month) per SKU and location; spread
  evenly over its days and counted only before the SKU's first order (domain/periods.py).
- The network's imported history is the rows without a location; a SKU imported only per
  location has the sum of its locations' rows."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select

from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.periods import (
    PERIOD_KINDS,
    Period,
    PeriodKind,
    next_start,
    parse_period,
    period_name,
    spread,
    start_of,
    starts,
)
from backorder.services.context import Backorder
from backorder.store import demand as sql
from backorder.store.db import batches
from backorder.store.tables import demand_history, locations, products

COLUMNS = ("sku", "period", "units", "location")
MAX_ERRORS = 5  # named in one refusal; the rest are counted
MAX_LINES = 1_000_000
DEFAULT_LAST: dict[PeriodKind, int] = {"day": 90, "week": 104, "month": 36}
MAX_LAST = 2000

Key = tuple[int, int | None]  # (product id, location id or None for the network)


@dataclass
class Bucket:
    """A period's demand: units ordered, and imported units counted there."""

    ordered: int = 0
    imported: float = 0.0

    @property
    def units(self) -> float:
        return self.ordered + self.imported


@dataclass
class Series:
    """The demand of one SKU (at one location, or the network) per period, by start."""

    buckets: dict[date, Bucket] = field(default_factory=dict)

    def at(self, start: date) -> Bucket:
        found = self.buckets.get(start)
        if found is None:
            found = self.buckets[start] = Bucket()
        return found

    @property
    def first(self) -> date | None:
        shown = [start for start, b in self.buckets.items() if b.units > 0]
        return min(shown) if shown else None


# --- reading -------------------------------------------------------------------------------


def demand_series(
    conn: Connection,
    product_ids: Sequence[int],
    kind: PeriodKind,
    window: tuple[date, date],
    at_locations: bool = False,
) -> dict[Key, Series]:
    """Demand per product (and per location when `at_locations`) and period, for periods
    starting from window[0] and ending before window[1] (a period start)."""
    since, before = window
    found: dict[Key, Series] = defaultdict(Series)
    for pid, start, units in sql.ordered(conn, product_ids, kind, since, before):
        found[(pid, None)].at(start).ordered += int(units)
    if at_locations:
        for pid, lid, start, units in sql.ordered_at_locations(
            conn, product_ids, kind, since, before
        ):
            found[(pid, lid)].at(start).ordered += int(units)
    cutoffs = sql.first_orders(conn, product_ids)
    for key, entries in _imported(conn, product_ids, at_locations).items():
        cutoff = min(cutoffs.get(key[0], before), before)
        for start, share in spread(entries, kind, cutoff).items():
            if since <= start < before:
                found[key].at(start).imported += share
    return dict(found)


def _imported(
    conn: Connection, product_ids: Sequence[int], at_locations: bool
) -> dict[Key, list[tuple[Period, float]]]:
    rows: dict[Key, list[tuple[Period, float]]] = defaultdict(list)
    for pid, lid, kind, start, units in sql.imported(conn, product_ids):
        rows[(pid, lid)].append((Period(kind, start), float(units)))
    result: dict[Key, list[tuple[Period, float]]] = {}
    for pid in {key[0] for key in rows}:
        network = rows.get((pid, None))
        per_location = [(key, v) for key, v in rows.items() if key[0] == pid and key[1]]
        result[(pid, None)] = network or [e for _, v in per_location for e in v]
        if at_locations:
            result.update(per_location)
    return result


def demand_view(
    app: Backorder,
    sku: str,
    by: PeriodKind = "week",
    location: str | None = None,
    last: int | None = None,
) -> dict[str, Any]:
    """A SKU's demand per period (day, ISO week or month), the network's or a location's,
    over its `last` periods up to the current one (which is still under way)."""
    if by not in PERIOD_KINDS:
        raise InvalidRequest(f"by {by!r}: day, week or month")
    shown = DEFAULT_LAST[by] if last is None else last
    if not 1 <= shown <= MAX_LAST:
        raise InvalidRequest(f"last {shown}: from 1 to {MAX_LAST} periods")
    today = app.now().date()
    current = start_of(by, today)
    first = current
    for _ in range(shown - 1):
        first = start_of(by, first - timedelta(days=1))
    with app.db.read() as uow:
        conn = uow.connection
        pid = _product_id(conn, sku)
        lid = _location_id(conn, location) if location else None
        window = (first, next_start(by, current))
        series = demand_series(conn, [pid], by, window, at_locations=lid is not None)
        first_order = sql.first_orders(conn, [pid]).get(pid)
    mine = series.get((pid, lid), Series())
    periods: list[dict[str, Any]] = []
    for start in starts(by, first, current):
        bucket = mine.buckets.get(start, Bucket())
        periods.append(
            {
                "period": period_name(by, start),
                "start": start.isoformat(),
                "ordered": bucket.ordered,
                "imported": round(bucket.imported, 2),
                "units": round(bucket.units, 2),
            }
        )
    return {
        "sku": sku,
        "by": by,
        "location": location,
        "first_order": first_order.isoformat() if first_order else None,
        "current": period_name(by, current),
        "total": round(sum(p["units"] for p in periods), 2),
        "periods": periods,
    }


def _product_id(conn: Connection, sku: str) -> int:
    pid = conn.execute(select(products.c.id).where(products.c.sku == sku)).scalar()
    if pid is None:
        raise UnknownSku(sku)
    return int(pid)


def _location_id(conn: Connection, code: str) -> int:
    lid = conn.execute(select(locations.c.id).where(locations.c.code == code)).scalar()
    if lid is None:
        raise UnknownLocation(code)
    return int(lid)


# --- importing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    line: int
    sku: str
    period: Period
    units: int
    location: str | None


def parse_history(text: str, today: date) -> list[HistoryRow]:
    """The rows of a history file (`sku,period,units[,location]` with that header), or one
    refusal naming the lines that are wrong."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in COLUMNS[:3] if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise InvalidRequest(
            "line 1: the header must be sku,period,units (and location, optional); "
            f"got {','.join(header) or 'nothing'}"
        )
    at = {name: header.index(name) for name in header}
    rows: list[HistoryRow] = []
    errors: list[str] = []
    for number, cells in enumerate(reader, start=2):
        if number > MAX_LINES + 1:
            raise InvalidRequest(f"more than {MAX_LINES} lines: split the file")
        if not any(cell.strip() for cell in cells):
            continue
        try:
            rows.append(_row(number, cells, at, today))
        except ValueError as error:
            errors.append(f"line {number}: {error}")
    _refuse(errors)
    if not rows:
        raise InvalidRequest("the file has no rows after its header")
    return rows


def _row(number: int, cells: list[str], at: dict[str, int], today: date) -> HistoryRow:
    if len(cells) != len(at):
        raise ValueError(f"{len(cells)} fields where the header has {len(at)}")
    sku = cells[at["sku"]].strip()
    if not sku:
        raise ValueError("no SKU")
    period = parse_period(cells[at["period"]])
    if period.start > today:
        raise ValueError(f"period {cells[at['period']].strip()} has not begun yet")
    text = cells[at["units"]].strip()
    try:
        units = int(text)
    except ValueError:
        raise ValueError(f"units {text!r} is not a whole number") from None
    if units < 0:
        raise ValueError(f"units {units} is negative")
    location = cells[at["location"]].strip() or None if "location" in at else None
    return HistoryRow(number, sku, period, units, location)


def _refuse(errors: list[str]) -> None:
    if not errors:
        return
    more = len(errors) - MAX_ERRORS
    raise InvalidRequest(
        "; ".join(errors[:MAX_ERRORS])
        + (f" (and {more} more)" if more > 0 else "")
        + "; nothing was imported"
    )


def import_history(app: Backorder, text: str) -> dict[str, Any]:
    """Import a history file, all or nothing, in one transaction. The periods it gives
    replace the same periods imported before; a SKU (at a location) keeps one kind of
    period: a file mixing kinds for one, or giving another kind than it has, is refused."""
    now = app.now()
    rows = parse_history(text, now.date())
    with app.db.write() as uow:
        conn = uow.connection
        pids = _ids(conn, products.c.sku, {r.sku for r in rows})
        lids = _ids(conn, locations.c.code, {r.location for r in rows if r.location})
        errors = [f"line {r.line}: unknown SKU {r.sku!r}" for r in rows if r.sku not in pids] + [
            f"line {r.line}: unknown location {r.location!r}"
            for r in rows
            if r.location and r.location not in lids
        ]
        _refuse(errors)
        groups: dict[Key, list[HistoryRow]] = defaultdict(list)
        for r in rows:
            groups[(pids[r.sku], lids[r.location] if r.location else None)].append(r)
        stored = _stored_kinds(conn, list(pids.values()))
        for key, group in groups.items():
            errors += _group_errors(group, stored.get(key))
        _refuse(errors)
        replaced = 0
        for (pid, lid), group in groups.items():
            replaced += _replace(conn, pid, lid, group)
        values = [
            {
                "product_id": pids[r.sku],
                "location_id": lids[r.location] if r.location else None,
                "period_kind": r.period.kind,
                "period_start": r.period.start,
                "units": r.units,
                "imported_at": now,
            }
            for r in rows
        ]
        for chunk in batches(values):
            conn.execute(insert(demand_history), list(chunk))
        uow.commit()
    return {
        "rows": len(rows),
        "skus": len(pids),
        "replaced": replaced,
        "units": sum(r.units for r in rows),
        "kinds": sorted({r.period.kind for r in rows}),
        "first": min(r.period.start for r in rows).isoformat(),
        "last": max(r.period.start for r in rows).isoformat(),
    }


def _ids(conn: Connection, column: Any, names: set[str]) -> dict[str, int]:
    table = column.table
    found: dict[str, int] = {}
    for chunk in batches(sorted(names)):
        query = select(column, table.c.id).where(column.in_(chunk))
        found.update({name: int(i) for name, i in conn.execute(query)})
    return found


def _stored_kinds(conn: Connection, pids: list[int]) -> dict[Key, str]:
    h = demand_history.c
    kinds: dict[Key, str] = {}
    for chunk in batches(pids):
        query = (
            select(h.product_id, h.location_id, h.period_kind)
            .where(h.product_id.in_(chunk))
            .distinct()
        )
        kinds.update({(pid, lid): kind for pid, lid, kind in conn.execute(query)})
    return kinds


def _group_errors(group: list[HistoryRow], stored: str | None) -> list[str]:
    first = group[0]
    where = f"SKU {first.sku!r}" + (f" at {first.location}" if first.location else "")
    kinds = {r.period.kind for r in group}
    if len(kinds) > 1:
        return [f"line {first.line}: {where} mixes {' and '.join(sorted(kinds))} periods: use one"]
    kind = first.period.kind
    if stored is not None and stored != kind:
        return [f"line {first.line}: {where} has {stored} history already; this file gives {kind}"]
    seen: dict[date, int] = {}
    errors = []
    for r in group:
        if r.period.start in seen:
            name = period_name(kind, r.period.start)
            errors.append(f"line {r.line}: {where} {name} is on line {seen[r.period.start]} too")
        seen.setdefault(r.period.start, r.line)
    return errors


def _replace(conn: Connection, pid: int, lid: int | None, group: list[HistoryRow]) -> int:
    h = demand_history.c
    at = h.location_id.is_(None) if lid is None else h.location_id == lid
    gone = 0
    for chunk in batches([r.period.start for r in group]):
        done = conn.execute(
            delete(demand_history).where(and_(h.product_id == pid, at, h.period_start.in_(chunk)))
        )
        gone += done.rowcount
    return gone
