"""Replaying recorded inputs through the real use cases in an isolated copy: a fresh SQLite
file in a temporary folder (copied from one migrated once per process), seeded with the
catalogue, driven by a clock the replay moves (see domain/simulation.py for what a policy
changes and how recorded inputs are read under it)."""

from __future__ import annotations

import heapq
import random
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, event, insert, select, update

from backorder.config import Settings
from backorder.domain.errors import BackorderError
from backorder.domain.simulation import (
    Policy,
    Replenishment,
    Terms,
    units_to_cancel,
    units_to_ship,
)
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import (
    Dispatch,
    cancel_order,
    expedite_order,
    lock_order,
    ship_locked,
)
from backorder.services.products import rerank_queues
from backorder.services.simulation.buying import buy
from backorder.services.simulation.record import (
    CATALOGUE,
    Cancel,
    History,
    Input,
    Movement,
    PoChanged,
    PoPlaced,
    Ship,
)
from backorder.services.stock import receive_stock, set_stock
from backorder.services.supply import (
    PoLineIn,
    add_purchase_order,
    cancel_purchase_order,
    redate_purchase_order,
    reduce_purchase_order,
)
from backorder.store.db import Database
from backorder.store.migrate import upgrade
from backorder.store.network import all_sites, holdings_of, site_named
from backorder.store.tables import (
    line_holdings,
    locations,
    order_lines,
    orders,
    po_lines,
    products,
    purchase_orders,
    stock_levels,
    suppliers,
)

_TEMPLATE: dict[str, Path] = {}
_TEMPLATE_LOCK = threading.Lock()


def template() -> Path:
    """A migrated empty database, made once per process."""
    with _TEMPLATE_LOCK:
        if "path" not in _TEMPLATE:
            folder = Path(tempfile.mkdtemp(prefix="backorder-sim-template-"))
            path = folder / "template.db"
            database = Database(f"sqlite:///{path}")
            upgrade(database)
            database.dispose()
            _TEMPLATE["path"] = path
        return _TEMPLATE["path"]


def use_template(path: Path) -> None:
    """Copies start from this migrated file (a process the simulator started is given the
    one its parent made)."""
    with _TEMPLATE_LOCK:
        _TEMPLATE["path"] = path


def _fast(engine: Engine) -> None:
    """A throwaway copy need not survive a crash: no waiting for the disk."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()


def open_copy(folder: Path, catalogue: dict[str, list[dict[str, Any]]]) -> Database:
    """A fresh database in `folder`, migrated, holding the catalogue without its stock."""
    path = folder / "simulation.db"
    shutil.copyfile(template(), path)
    database = Database(f"sqlite:///{path}")
    _fast(database.engine)
    with database.engine.begin() as conn:
        conn.execute(delete(locations))
        for table in CATALOGUE:
            rows = catalogue[table.name]
            if table is products:
                rows = [{**r, "on_hand": 0, "allocated": 0, "backordered": 0} for r in rows]
            if table is suppliers:
                rows = [{**r, "orders_completed": 0, "orders_on_time": 0} for r in rows]
            if table is locations:  # the copy never sends a 3PL anything: no address, no key
                rows = [{**r, "orders_url": None, "orders_secret": None} for r in rows]
            if rows:
                conn.execute(insert(table), rows)
    return database


@dataclass
class SimClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Replay:
    """One run: the apps before and after the switch, the inputs still to apply."""

    actual: Backorder
    simulated: Backorder
    policy: Policy
    start: datetime  # when the policy takes over
    until: datetime
    terms: dict[str, Terms] = field(default_factory=dict)  # the reorder policy's, by SKU
    seed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dropped_pos: set[str] = field(default_factory=set)
    _queue: list[tuple[datetime, int, int, int, Input]] = field(default_factory=list)
    _n: int = 0
    # refs -> the last recorded shipment or cancellation of the order (ship runs' rule)
    _last: dict[str, datetime] = field(default_factory=dict)

    @property
    def clock(self) -> SimClock:
        assert isinstance(self.actual.clock, SimClock)
        return self.actual.clock

    def push(self, item: Input, rank: int) -> None:
        self._n += 1
        heapq.heappush(self._queue, (item.at, rank, item.seq, self._n, item))

    def run(self, history: History) -> None:
        self.rng = random.Random(self.seed)
        for item in history.inputs:
            if self._dropped(item, history):
                continue
            self.push(item, _rank(item.kind))
        first = min((item.at for item in history.inputs), default=self.start)
        self.clock.now = min(first, self.start)
        for sku, location, units in history.opening:
            set_stock(self.actual, sku, units, "opening level", location)
        self.push(Input(self.start, "switch", 0, None), -1)
        if not self.policy.changes_nothing:
            self._ship_runs(history)
        if self.policy.replenishment is Replenishment.REORDER_POINT:
            day = self.start.date()
            while (moment := datetime.combine(day, time(6), UTC)) < self.until:
                if moment >= self.start:
                    self.push(Input(moment, "buy", 0, None), 9)
                day += timedelta(days=1)
        while self._queue:
            _, _, _, _, item = heapq.heappop(self._queue)
            if item.at >= self.until:
                break
            self.clock.now = item.at
            app = self.simulated if item.at >= self.start else self.actual
            try:
                APPLY[item.kind](self, app, item.data)
            except BackorderError:
                self.skipped[item.kind] += 1

    def _ship_runs(self, history: History) -> None:
        """Under a policy other than the actual one, the moments the business shipped from
        each location (from the start on) are ship runs: an order holding units there whose
        recorded shipments and cancellations are all over ships what it holds."""
        runs = set()
        for item in history.inputs:
            if isinstance(item.data, Ship | Cancel):
                self._last[item.data.ref] = max(item.at, self._last.get(item.data.ref, item.at))
            if isinstance(item.data, Ship) and item.at >= self.start:
                runs.add((item.at, item.data.location))
        for n, (moment, location) in enumerate(sorted(runs, key=lambda r: (r[0], r[1] or ""))):
            self.push(Input(moment, "ship_run", n, location), 6)

    def _dropped(self, item: Input, history: History) -> bool:
        """Under the reorder-point policy: purchase orders placed from the start on, and
        what came of them."""
        if self.policy.replenishment is not Replenishment.REORDER_POINT:
            return False
        data = item.data
        if isinstance(data, PoPlaced | PoChanged):
            placed = history.po_created.get(data.ref)
            if placed is not None and placed >= self.start:
                self.dropped_pos.add(data.ref)
                return True
        if isinstance(data, Movement) and data.kind == "receipt" and data.ref:
            placed = history.po_created.get(data.ref)
            return placed is not None and placed >= self.start
        return False


def _rank(kind: str) -> int:
    return {"po": 0, "stock": 1, "order": 2, "expedite": 3, "cancel": 4, "ship": 5}[kind]


def _switch(replay: Replay, app: Backorder, _: None) -> None:
    """The policy takes over: its limits on every SKU, every queue ranked under it."""
    changes = replay.policy.product_changes()
    if changes:
        with app.db.write() as uow:
            uow.connection.execute(update(products).values(**changes))
            uow.commit()
    rerank_queues(app)


def _order(replay: Replay, app: Backorder, request: Any) -> None:
    preference = replay.policy.preference(request.terms.preference)
    if app is replay.simulated and preference is not request.terms.preference:
        request = replace(request, terms=replace(request.terms, preference=preference))
    place_order(app, request)


def _stock(replay: Replay, app: Backorder, move: Movement) -> None:
    if move.kind == "receipt":
        receive_stock(app, move.sku, move.units, move.ref, move.location)
        return
    with app.db.read() as uow:
        conn = uow.connection
        code = move.location or app.settings.default_location
        level = conn.execute(
            select(stock_levels.c.on_hand)
            .join(products, products.c.id == stock_levels.c.product_id)
            .join(locations, locations.c.id == stock_levels.c.location_id)
            .where(products.c.sku == move.sku, locations.c.code == code)
        ).scalar()
    set_stock(app, move.sku, max(0, (level or 0) + move.units), move.ref, move.location)


def _po(replay: Replay, app: Backorder, data: PoPlaced | PoChanged) -> None:
    if isinstance(data, PoPlaced):
        lines = [PoLineIn(sku, units, expected) for sku, units, expected in data.lines]
        add_purchase_order(app, data.ref, data.supplier, lines, data.location)
        return
    if data.action == "cancelled":
        cancel_purchase_order(app, data.ref)
        return
    with app.db.read() as uow:
        now_lines = {
            r.sku: r
            for r in uow.connection.execute(
                select(products.c.sku, po_lines.c.expected_on, po_lines.c.ordered)
                .add_columns(po_lines.c.cancelled)
                .join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id)
                .join(products, products.c.id == po_lines.c.product_id)
                .where(purchase_orders.c.ref == data.ref)
            )
        }
    for line in data.lines:
        mine = now_lines.get(line["sku"])
        if mine is None:
            continue
        if data.action == "redated" and str(mine.expected_on) != line["expected_on"]:
            redate_purchase_order(
                app, data.ref, line["sku"], date.fromisoformat(line["expected_on"])
            )
        wanted = line["ordered"] - line["cancelled"]
        if data.action == "reduced" and wanted < mine.ordered - mine.cancelled:
            reduce_purchase_order(app, data.ref, line["sku"], wanted)


def _line(app: Backorder, ref: str, line_no: int) -> tuple[int, int] | None:
    channel, _, external_id = ref.partition(":")
    with app.db.read() as uow:
        row = uow.connection.execute(
            select(order_lines.c.backordered, order_lines.c.allocated)
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(
                orders.c.channel == channel,
                orders.c.external_id == external_id,
                order_lines.c.line_no == line_no,
            )
        ).first()
    return None if row is None else (row.backordered, row.allocated)


def _cancel(replay: Replay, app: Backorder, data: Cancel) -> None:
    line = _line(app, data.ref, data.line_no)
    if line is None:
        replay.skipped["cancel"] += 1
        return
    waiting, allocated = line
    units = units_to_cancel((data.from_waiting, data.from_allocated), waiting, waiting + allocated)
    if units > 0:
        cancel_order(app, data.ref, data.line_no, units, data.reason)


def _ship(replay: Replay, app: Backorder, data: Ship) -> None:
    why_not = ship_now(app, data)
    if why_not is not None:
        replay.skipped[f"ship ({why_not})"] += 1


def ship_now(app: Backorder, data: Ship) -> str | None:
    """Ship what the recorded shipment says, as the order stands now; why not, if it did
    not ship."""
    with app.db.write() as uow:
        locked = lock_order(uow, data.ref)
        _, lines, _ = locked
        if lines[0].order.terms.preference.value == "ship_complete" and any(
            line.qty.backordered for line in lines
        ):
            return "waits: ship complete"
        sites = all_sites(uow.connection)
        site = site_named(sites, data.location or app.settings.default_location)
        held = holdings_of(uow.connection, [line.id for line in lines])
        by_number = {line.line_no: line for line in lines}
        plan: dict[int, int] = {}
        if all(exact for _, _, exact in data.lines):  # all it held: all it holds now
            plan = {line.line_no: held[line.id].get(site.id, 0) for line in lines}
        else:
            for number, units, exact in data.lines:
                there = held[by_number[number].id].get(site.id, 0)
                plan[number] = units_to_ship(units, exact, there)
        plan = {number: units for number, units in plan.items() if units > 0}
        if not plan:
            return "nothing held"
        ship_locked(uow, locked, [(site, plan)], Dispatch(data.tracking, app.now()))
        uow.commit()
    return None


def _ship_run(replay: Replay, app: Backorder, location: str | None) -> None:
    """The orders holding units at the location with nothing more recorded of them ship."""
    now = app.now()
    code = location or app.settings.default_location
    still = order_lines.alias("still")
    waiting = (
        select(still.c.id).where(still.c.order_id == orders.c.id, still.c.backordered > 0).exists()
    )
    with app.db.read() as uow:
        held = uow.connection.execute(
            select(orders.c.channel, orders.c.external_id)
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .join(line_holdings, line_holdings.c.line_id == order_lines.c.id)
            .join(locations, locations.c.id == line_holdings.c.location_id)
            .where(locations.c.code == code, line_holdings.c.allocated > 0)
            .where((orders.c.shipping_preference != "ship_complete") | ~waiting)
            .group_by(orders.c.id, orders.c.channel, orders.c.external_id)
            .order_by(orders.c.id)
        ).all()
    for channel, external_id in held:
        ref = f"{channel}:{external_id}"
        last = replay._last.get(ref)
        if last is not None and last >= now:
            continue
        ship_now(app, Ship(ref, location, None, ()))


def _expedite(replay: Replay, app: Backorder, ref: str) -> None:
    expedite_order(app, ref)


def _buy(replay: Replay, app: Backorder, _: None) -> None:
    """The reorder-point policy's daily look: what it orders arrives later."""
    for arrival, at in buy(
        app, (replay.policy, replay.terms), replay.rng, f"SIM-{app.now():%Y%m%d}"
    ):
        replay.push(Input(at, "stock", 0, arrival), 1)


APPLY: dict[str, Any] = {
    "switch": _switch,
    "order": _order,
    "stock": _stock,
    "po": _po,
    "cancel": _cancel,
    "ship": _ship,
    "expedite": _expedite,
    "buy": _buy,
    "ship_run": _ship_run,
}


def policy_settings(settings: Settings, policy: Policy) -> Settings:
    """The deployment's settings with the policy's queue rules."""
    changes: dict[str, Any] = {}
    if policy.priority_rules is not None:
        changes["priority_rules"] = list(policy.priority_rules)
    if policy.aging_days is not None:
        changes["priority_aging_days"] = policy.aging_days or None
    return settings.model_copy(update=changes)
