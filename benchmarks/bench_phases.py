"""The two measured phases, each run by the engine and by the raw-driver floor:
intake (orders/s) and allocation from a deep queue (lines/s per receipt)."""

from __future__ import annotations

import cProfile
import io
import pstats
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import bench_raw
from bench_drivers import (
    RawDb,
    Target,
    postgres_databases,
    postgres_problem,
    sqlite_databases,
)
from bench_workload import (
    CHANNEL,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    DeepBatch,
    catalogue,
    deep_quantity,
    deep_rows,
    receipt_units,
)

from backorder.config import Settings
from backorder.domain.model import OrderRequest, Product
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock

DEEP_PRICE = Decimal("12.50")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def print_each_backend(
    backend: str, postgres_url: str, run: Callable[[Callable[[str], Target]], str]
) -> None:
    """Run `run` on SQLite, PostgreSQL or both (`backend`), each on fresh databases; print
    what each said under the SQLite version. PostgreSQL out of reach: SQLite only."""
    backends = ["sqlite", "postgresql"] if backend == "both" else [backend]
    if "postgresql" in backends and (problem := postgres_problem(postgres_url)):
        say(f"PostgreSQL is not reachable ({problem}); running SQLite only")
        backends = ["sqlite"]
    texts = []
    for name in backends:
        databases: AbstractContextManager[Callable[[str], Target]] = (
            sqlite_databases() if name == "sqlite" else postgres_databases(postgres_url)
        )
        with databases as new_database:
            texts.append(run(new_database))
    print(f"SQLite {sqlite3.sqlite_version}\n" + "\n\n".join(texts))


def open_app(target: Target) -> Backorder:
    """The product as a deployment opens it: settings from the environment, schema upgraded
    on first use."""
    return Backorder.open(Settings(), target.url)


def seed_catalogue(app: Backorder, plan: dict[str, int]) -> None:
    for product in catalogue():
        add_product(app, product)
    for sku, units in plan.items():
        if units > 0:
            receive_stock(app, sku, units, ref="bench-seed")


# --- intake -------------------------------------------------------------------------------


@dataclass
class IntakeRun:
    seconds: float
    orders: int
    lines: int
    lines_backordered: int
    units_allocated: int
    units_backordered: int
    allocation_rows: int
    events: int
    event_bytes: float  # mean payload size, to show both write the same content
    block_seconds: list[float] = field(default_factory=list)

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds

    def same_rows_as(self, other: IntakeRun) -> bool:
        mine = (self.orders, self.lines, self.lines_backordered, self.units_allocated,
                self.units_backordered, self.allocation_rows, self.events)
        theirs = (other.orders, other.lines, other.lines_backordered, other.units_allocated,
                  other.units_backordered, other.allocation_rows, other.events)
        return mine == theirs


def _measure_written(db: RawDb, seconds: float) -> IntakeRun:
    """What an intake run left in its database (both runs start from the same catalogue)."""
    lines = db.rows(
        "SELECT count(DISTINCT o.id), count(*), "
        "sum(CASE WHEN l.backordered > 0 THEN 1 ELSE 0 END), sum(l.allocated), "
        "sum(l.backordered) FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.channel = %s", (CHANNEL,))[0]
    allocation_rows = db.rows("SELECT count(*) FROM allocations WHERE source = 'intake'")[0][0]
    payload_size = "length(payload)" if db.backend == "sqlite" else "length(payload::text)"
    events, size = db.rows(
        f"SELECT count(*), avg({payload_size}) FROM events WHERE type <> 'stock_received'"
    )[0]
    db.commit()
    return IntakeRun(seconds, int(lines[0]), int(lines[1]), int(lines[2]), int(lines[3]),
                     int(lines[4]), int(allocation_rows), int(events), float(size or 0))


INTAKE_BLOCKS = 50


def _engine_block(app: Backorder, block: Sequence[OrderRequest],
                  profiler: cProfile.Profile | None) -> float:
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    for request in block:
        place_order(app, request)
    seconds = time.perf_counter() - start
    if profiler:
        profiler.disable()
    return seconds


def _raw_block(db: RawDb, block: Sequence[OrderRequest]) -> float:
    start = time.perf_counter()
    for request in block:
        bench_raw.place_order(db, request, datetime.now(UTC))
    return time.perf_counter() - start


def intake(targets: tuple[Target, Target], requests: Sequence[OrderRequest],
           plan: dict[str, int], profile_top: int) -> tuple[IntakeRun, IntakeRun]:
    """Place the orders with the engine on one database and with the raw driver on another
    (same schema and catalogue), in interleaved blocks so that a change of machine load
    during the run hits both sides alike. Returns (engine, raw)."""
    engine_target, raw_target = targets
    for target in (raw_target, engine_target):
        app = open_app(target)  # schema and catalogue set up through the product, untimed
        try:
            seed_catalogue(app, plan)
        finally:
            app.close()
    app, db = open_app(engine_target), raw_target.raw()
    profiler = cProfile.Profile() if profile_top else None
    say(f"{engine_target.backend}: engine and raw driver place {len(requests):,} orders each, "
        f"in {INTAKE_BLOCKS} interleaved blocks"
        + (" (engine under cProfile: slower than unprofiled)" if profiler else ""))
    size = -(-len(requests) // INTAKE_BLOCKS)
    engine_blocks: list[float] = []
    raw_blocks: list[float] = []
    try:
        for number, first in enumerate(range(0, len(requests), size)):
            block = requests[first:first + size]
            if number % 2:  # alternate who goes first
                raw_blocks.append(_raw_block(db, block))
                engine_blocks.append(_engine_block(app, block, profiler))
            else:
                engine_blocks.append(_engine_block(app, block, profiler))
                raw_blocks.append(_raw_block(db, block))
        raw = _measure_written(db, sum(raw_blocks))
        raw.block_seconds = raw_blocks
    finally:
        app.close()
        db.close()
    if profiler:
        _print_profile(profiler, profile_top)
    db = engine_target.raw()
    try:
        engine = _measure_written(db, sum(engine_blocks))
    finally:
        db.close()
    engine.block_seconds = engine_blocks
    return engine, raw


def _print_profile(profiler: cProfile.Profile, top: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(f"--- engine intake profile, by {order} ---", file=sys.stderr)
        print(out.getvalue(), file=sys.stderr)


# --- allocation from a deep queue -----------------------------------------------------------


@dataclass
class DeepQueue:
    """One SKU whose queue is kept exactly `depth` lines deep before every receipt: after
    each receipt the served lines are replaced at the tail (untimed)."""

    db: RawDb
    sku: str
    product_id: int
    head: int = 0  # position of the first waiting line
    tail: int = 0  # position the next appended line takes

    def append(self, count: int) -> None:
        self.db.begin()
        order_id = self.db.rows("SELECT coalesce(max(id), 0) FROM orders")[0][0]
        line_id = self.db.rows("SELECT coalesce(max(id), 0) FROM order_lines")[0][0]
        batch = DeepBatch(self.sku, self.product_id, int(DEEP_PRICE * 10_000), self.tail, count,
                          order_id + 1, line_id + 1)
        order_rows, line_rows = deep_rows(batch, self.db.ts)
        units = sum(deep_quantity(p) for p in range(self.tail, self.tail + count))
        self.db.bulk_insert("orders", ORDER_COLUMNS, order_rows)
        self.db.bulk_insert("order_lines", LINE_COLUMNS, line_rows)
        self.db.rows("UPDATE products SET backordered = backordered + %s WHERE id = %s",
                     (units, self.product_id))
        self.db.commit()
        self.db.sync_sequences()
        self.tail += count

    def served(self, lines: int) -> None:
        self.head += lines
        self.append(lines)


@dataclass
class DepthRun:
    depth: int
    lines_per_receipt: int
    engine_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)

    @property
    def engine_median_ms(self) -> float:
        return statistics.median(self.engine_ms)

    @property
    def raw_median_ms(self) -> float:
        return statistics.median(self.raw_ms)


def _timed(expected: int, who: str, action: Callable[..., int], *args: Any) -> float:
    start = time.perf_counter()
    served = action(*args)
    elapsed_ms = (time.perf_counter() - start) * 1000
    if served != expected:
        raise RuntimeError(f"{who} served {served} lines, expected {expected}")
    return elapsed_ms


def _engine_receipt(app: Backorder, sku: str, units: int, ref: str) -> int:
    return receive_stock(app, sku, units, ref=ref).lines_served


def _seed_queue(app: Backorder, db: RawDb, depth: int) -> DeepQueue:
    sku = f"DEEP-{depth}"
    add_product(app, Product(sku=sku, name=f"Deep queue {depth}", unit_price=DEEP_PRICE))
    product_id = db.rows("SELECT id FROM products WHERE sku = %s", (sku,))[0][0]
    queue = DeepQueue(db, sku, product_id)
    say(f"{db.backend}: seeding a queue of {depth:,} lines on {sku}")
    queue.append(depth)
    return queue


def _check_depth(db: RawDb, queue: DeepQueue, depth: int) -> None:
    waiting = db.rows(
        "SELECT count(*) FROM order_lines WHERE product_id = %s AND backordered > 0",
        (queue.product_id,))[0][0]
    db.commit()
    if waiting != depth:
        raise RuntimeError(f"{queue.sku}: {waiting} lines waiting, expected {depth}")


def allocation(app: Backorder, target: Target, depths: Sequence[int],
               receipts: int, lines: int) -> list[DepthRun]:
    """One SKU per depth, its queue kept exactly that deep. Each round visits every depth
    and there takes one engine receipt and one raw-driver receipt, so that a change of
    machine load during the phase hits every depth and both sides alike. The first round
    warms up and is not counted."""
    db = target.raw()
    try:
        queues = [_seed_queue(app, db, depth) for depth in depths]
        db.refresh_statistics()
        runs = [DepthRun(depth, lines) for depth in depths]
        say(f"{target.backend}: {receipts} round(s) of receipts serving {lines} lines, "
            f"engine and raw, at depths {', '.join(f'{d:,}' for d in depths)}")
        for round_no in range(receipts + 1):
            for run, queue in zip(runs, queues, strict=True):
                engine_ms = _timed(lines, "engine", _engine_receipt, app, queue.sku,
                                   receipt_units(queue.head, lines), f"bench-{round_no}")
                queue.served(lines)
                raw_ms = _timed(lines, "raw driver", bench_raw.receive_stock, db,
                                (queue.product_id, queue.sku),
                                receipt_units(queue.head, lines), lines, datetime.now(UTC))
                queue.served(lines)
                if round_no:
                    run.engine_ms.append(engine_ms)
                    run.raw_ms.append(raw_ms)
        for run, queue in zip(runs, queues, strict=True):
            _check_depth(db, queue, run.depth)
        return runs
    finally:
        db.close()


def describe_intake(run: IntakeRun) -> dict[str, Any]:
    return {"seconds": round(run.seconds, 3), "orders_per_s": round(run.orders_per_s, 1),
            "lines_per_s": round(run.lines / run.seconds, 1), "events": run.events,
            "mean_event_bytes": round(run.event_bytes, 1),
            "block_seconds": [round(x, 3) for x in run.block_seconds]}


def describe_depth(run: DepthRun) -> dict[str, Any]:
    lines = run.lines_per_receipt
    return {"depth": run.depth, "lines_per_receipt": lines,
            "engine_ms": round(run.engine_median_ms, 3),
            "engine_lines_per_s": round(lines / run.engine_median_ms * 1000, 1),
            "raw_ms": round(run.raw_median_ms, 3),
            "raw_lines_per_s": round(lines / run.raw_median_ms * 1000, 1),
            "engine_over_raw_rate": round(run.raw_median_ms / run.engine_median_ms, 3),
            "engine_ms_each": [round(x, 3) for x in run.engine_ms],
            "raw_ms_each": [round(x, 3) for x in run.raw_ms]}
