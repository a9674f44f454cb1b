"""Feed benchmark: a 3PL snapshot of 10,000 SKUs at one location through our path, beside
the raw driver doing the equivalent minimal writes, in the same run.

    python benchmarks/bench_feeds.py                   # both backends, 10,000 SKUs
    python benchmarks/bench_feeds.py --quick           # 1,000 SKUs
    python benchmarks/bench_feeds.py --backend sqlite --json

Ours: `services.ingest.ingest(app, "stock-json", text)`: the payload stored, read, its
location and SKUs resolved, the SKUs locked, the as_of per SKU and location read, receipts
and shipments since as_of summed, on hand set at the location (`stock.count_locked`), the
movements, events (one StockAdjusted per SKU) and as_of written, the payload marked applied.
Each run is a newer snapshot with other counts, so every level changes.

The floor: the same rows written by hand with the raw driver in one transaction: the payload
stored, the products locked, the levels read, the levels upserted with their as_of, the
products' sums updated, one movement and one event per SKU, the payload marked done. It
skips what the product must do and ours does (reading the format, aliases, the as_of rule,
allocations taken back, the queue served, dates), so it is a floor."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_drivers import (
    RawDb,
    Target,
    postgres_databases,
    postgres_problem,
    sqlite_databases,
)

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.ingest import ingest
from backorder.services.locations import LocationIn, add
from backorder.store.db import Database
from backorder.store.migrate import upgrade
from backorder.store.tables import products

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed(target: Target, skus: int) -> Backorder:
    database = Database(target.url)
    upgrade(database)
    app = Backorder(database, Settings(database_url=target.url))
    now = datetime.now(UTC)
    rows = [
        {"sku": f"SKU-{n:05d}", "name": f"Item {n}", "unit_price": 1, "policy": "allow",
         "queue_strategy": "fifo", "created_at": now, "updated_at": now}
        for n in range(skus)
    ]  # fmt: skip
    with app.db.write() as uow:
        uow.connection.execute(products.insert(), rows)
        uow.commit()
    add(app, LocationIn("east", "3PL East", "3pl"))
    add(app, LocationIn("floor", "Raw floor", "3pl"))
    return app


def document(skus: int, run: int, location: str) -> str:
    as_of = (START + timedelta(hours=run)).isoformat()
    items = [{"sku": f"SKU-{n:05d}", "on_hand": (n + run) % 50} for n in range(skus)]
    return json.dumps({"location": location, "as_of": as_of, "items": items})


def ours(app: Backorder, skus: int, run: int) -> float:
    text = document(skus, run, "east")
    started = time.perf_counter()
    [outcome] = ingest(app, "stock-json", text)
    elapsed = time.perf_counter() - started
    if outcome.state != "accepted":
        raise RuntimeError(f"snapshot not applied: {outcome.reasons}")
    return elapsed


def floor(raw: RawDb, skus: int, run: int) -> float:
    text = document(skus, run, "floor")
    counts = json.loads(text)["items"]
    as_of = START + timedelta(hours=run)
    now = datetime.now(UTC)
    started = time.perf_counter()
    raw.begin()
    [(payload,)] = raw.rows(
        "INSERT INTO intake_payloads (channel, account, received_at, content_hash, raw, state, "
        "attempts) VALUES ('bench', 'default', %s, 'x', %s, 'pending', 0) RETURNING id",
        (raw.ts(now), text),
    )
    [(location,)] = raw.rows("SELECT id FROM locations WHERE code = 'floor'")
    names = [item["sku"] for item in counts]
    marks = ", ".join("%s" for _ in names)
    found = raw.rows(
        f"SELECT id, sku, on_hand FROM products WHERE sku IN ({marks}) ORDER BY sku"
        + raw.for_update,
        names,
    )
    ids = {sku: (pid, on_hand) for pid, sku, on_hand in found}
    here = dict(
        raw.rows("SELECT product_id, on_hand FROM stock_levels WHERE location_id = %s", (location,))
    )
    levels, sums, moves, facts = [], [], [], []
    for item in counts:
        pid, total = ids[item["sku"]]
        delta = item["on_hand"] - here.get(pid, 0)
        levels.append((pid, location, item["on_hand"], raw.ts(as_of)))
        sums.append((total + delta, raw.ts(now), pid))
        moves.append((pid, delta, total + delta, raw.ts(now), location))
        facts.append(
            ("stock_adjusted", raw.ts(now), item["sku"],
             raw.json({"sku": item["sku"], "on_hand": total + delta}))
        )  # fmt: skip
    raw.run_many(
        "INSERT INTO stock_levels (product_id, location_id, on_hand, allocated, counted_as_of) "
        "VALUES (%s, %s, %s, 0, %s) ON CONFLICT (product_id, location_id) DO UPDATE "
        "SET on_hand = excluded.on_hand, counted_as_of = excluded.counted_as_of",
        levels,
    )
    raw.run_many("UPDATE products SET on_hand = %s, updated_at = %s WHERE id = %s", sums)
    raw.run_many(
        "INSERT INTO stock_movements (product_id, kind, units, on_hand_after, ref, moved_at, "
        "location_id) VALUES (%s, 'count', %s, %s, 'floor', %s, %s)",
        moves,
    )
    raw.run_many(
        "INSERT INTO events (type, occurred_at, sku, payload) VALUES (%s, %s, %s, %s)", facts
    )
    raw.rows(
        "UPDATE intake_payloads SET state = 'accepted', processed_at = %s WHERE id = %s",
        (raw.ts(now), payload),
    )
    raw.commit()
    return time.perf_counter() - started


def run_backend(new: Callable[[str], Target], skus: int, runs: int) -> dict[str, Any]:
    target = new("feeds")
    say(f"{target.backend}: seeding {skus:,} SKUs")
    app = seed(target, skus)
    raw = target.raw()
    ours_s, floor_s = [], []
    try:
        for run in range(1, runs + 1):  # interleaved, so load on the machine hits both
            ours_s.append(ours(app, skus, run))
            floor_s.append(floor(raw, skus, run))
            say(f"{target.backend} run {run}: ours {ours_s[-1]:.3f} s, floor {floor_s[-1]:.3f} s")
    finally:
        raw.close()
        app.close()
    mine, low = statistics.median(ours_s), statistics.median(floor_s)
    return {"skus": skus, "runs": runs, "ours_s": round(mine, 4), "floor_s": round(low, 4),
            "ratio": round(mine / low, 2), "ours_all_s": [round(s, 4) for s in ours_s],
            "floor_all_s": [round(s, 4) for s in floor_s]}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BACKORDER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1,000 SKUs, 2 runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    skus, runs = (1_000, 2) if args.quick else (args.skus, args.runs)
    if not 1 <= skus <= 10_000 or not 1 <= runs <= 20:
        parser.error("--skus is 1 to 10,000 (one snapshot), --runs 1 to 20")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    for backend in backends:
        if backend == "postgresql":
            problem = postgres_problem(args.postgres_url)
            if problem:
                results[backend] = {"skipped": problem}
                continue
            with postgres_databases(args.postgres_url) as new:
                results[backend] = run_backend(new, skus, runs)
        else:
            with sqlite_databases() as new:
                results[backend] = run_backend(new, skus, runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for backend, figures in results.items():
        if "skipped" in figures:
            print(f"{backend}: skipped ({figures['skipped']})")
            continue
        print(
            f"{backend}: snapshot of {figures['skus']:,} SKUs at one location, median of "
            f"{figures['runs']}: ours {figures['ours_s'] * 1000:.0f} ms, raw floor "
            f"{figures['floor_s'] * 1000:.0f} ms, ratio {figures['ratio']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
