"""Engine benchmark: intake and allocation throughput, beside the raw driver in the same run.

    python benchmarks/bench_engine.py                     # both backends, full size
    python benchmarks/bench_engine.py --quick             # a smoke run of a few seconds
    python benchmarks/bench_engine.py --backend sqlite --json

Intake: N orders of three lines (about a third of the lines backordered) placed with
`services.intake.place_order`, one transaction each, against the raw driver writing the
same rows. Allocation: `services.stock.receive_stock` serving exactly 100 lines from a
queue 1,000 and 100,000 lines deep, against the raw driver doing the same. See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import sqlalchemy
from bench_drivers import (
    Target,
    postgres_databases,
    postgres_problem,
    postgres_version,
    sqlite_databases,
)
from bench_phases import (
    DepthRun,
    IntakeRun,
    allocation,
    describe_depth,
    describe_intake,
    intake,
    open_app,
    say,
)
from bench_workload import LINES_PER_ORDER, catalogue, make_orders, stock_plan
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FULL = {"orders": 10_000, "depths": "1000,100000", "receipts": 15}
QUICK = {"orders": 300, "depths": "200,2000", "receipts": 5}
MAX_ORDERS = 1_000_000
MAX_DEPTH = 5_000_000
MAX_RECEIPTS = 1_000
INTAKE_AIM = 1 / 3


def positive(limit: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text.replace("_", "").replace(",", ""))
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be between 1 and {limit:,}")
        return value
    return parse


def depth_list(text: str) -> list[int]:
    try:
        depths = sorted({positive(MAX_DEPTH)(part) for part in text.split(",") if part.strip()})
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    if not depths:
        raise argparse.ArgumentTypeError("give at least one depth, e.g. 1000,100000")
    return depths


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Backorder engine throughput (intake orders/s, allocated lines/s) "
        "beside the raw database driver.")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=positive(MAX_ORDERS),
                        help=f"orders to place (default {FULL['orders']:,}; quick "
                        f"{QUICK['orders']})")
    parser.add_argument("--queue-depths", type=depth_list, metavar="D1,D2,...",
                        help=f"queue depths for the allocation phase (default {FULL['depths']}; "
                        f"quick {QUICK['depths']})")
    parser.add_argument("--receipts", type=positive(MAX_RECEIPTS),
                        help=f"timed receipts per depth and side, median reported (default "
                        f"{FULL['receipts']}; quick {QUICK['receipts']})")
    parser.add_argument("--lines-per-receipt", type=positive(10_000), default=100)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BACKORDER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="server to create the throwaway database on (env BACKORDER_BENCH_POSTGRES_URL)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="run the engine intake under cProfile and print the top N "
                        "functions to stderr (that intake figure is then inflated)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.orders = args.orders or sizes["orders"]
    args.queue_depths = args.queue_depths or depth_list(str(sizes["depths"]))
    args.receipts = args.receipts or sizes["receipts"]
    if args.queue_depths[0] < args.lines_per_receipt:
        parser.error(f"every queue depth must be at least --lines-per-receipt "
                     f"({args.lines_per_receipt}); got {args.queue_depths[0]}")
    return args


Runs = tuple[IntakeRun, IntakeRun, list[DepthRun]]


def run_backend(new_database: Callable[[str], Target], args: argparse.Namespace) -> Runs:
    requests = make_orders(args.orders, [p.sku for p in catalogue()])
    plan = stock_plan(requests)
    engine_target = new_database("engine")
    engine, raw = intake((engine_target, new_database("raw")), requests, plan, args.profile)
    app = open_app(engine_target)
    try:
        depths = allocation(app, engine_target, args.queue_depths, args.receipts,
                            args.lines_per_receipt)
    finally:
        app.close()
    return engine, raw, depths


def figures(runs: Runs) -> dict[str, Any]:
    """The figures of one backend as plain JSON values."""
    engine, raw, depths = runs
    shallow, deep = depths[0], depths[-1]
    return {
        "intake": {
            "orders": engine.orders, "lines": engine.lines,
            "lines_backordered_share": round(engine.lines_backordered / engine.lines, 4),
            "events_per_order": round(engine.events / engine.orders, 3),
            "raw_wrote_the_same_rows": engine.same_rows_as(raw),
            "engine": describe_intake(engine), "raw": describe_intake(raw),
            "engine_over_raw_rate": round(engine.orders_per_s / raw.orders_per_s, 3),
            "aim": f">= {INTAKE_AIM:.2f}",
        },
        "allocation": {
            "depths": [describe_depth(run) for run in depths],
            "engine_deepest_over_shallowest_ms": round(
                deep.engine_median_ms / shallow.engine_median_ms, 3),
            "raw_deepest_over_shallowest_ms": round(
                deep.raw_median_ms / shallow.raw_median_ms, 3),
            "aim": "engine_deepest_over_shallowest_ms ~ 1",
        },
    }


def report(backend: str, version: str, runs: Runs) -> str:
    engine, raw, depths = runs
    summary = figures(runs)
    intake, allocation = summary["intake"], summary["allocation"]
    out = [f"== {backend} {version} ==",
           f"intake: {engine.orders:,} orders x {LINES_PER_ORDER} lines, "
           f"{intake['lines_backordered_share']:.1%} of lines backordered, "
           f"{intake['events_per_order']:.2f} events/order"
           + ("" if intake["raw_wrote_the_same_rows"] else "  (!) raw rows differ"),
           f"  {'':12}{'seconds':>9}{'orders/s':>11}{'lines/s':>11}{'event bytes':>13}"]
    for name, side in (("engine", engine), ("raw driver", raw)):
        out.append(f"  {name:12}{side.seconds:9.2f}{side.orders_per_s:11,.0f}"
                   f"{side.lines / side.seconds:11,.0f}{side.event_bytes:13,.0f}")
    ratio = intake["engine_over_raw_rate"]
    verdict = "meets" if ratio >= INTAKE_AIM else "BELOW"
    out.append(f"  engine / raw orders/s: {ratio:.2f} ({verdict} the aim of >= 0.33)")
    lines = depths[0].lines_per_receipt
    out += [f"allocation: one receipt serving {lines} lines, median of {len(depths[0].engine_ms)}",
            f"  {'depth':>9}{'engine ms':>11}{'lines/s':>10}{'raw ms':>9}{'raw lines/s':>13}"
            f"{'engine/raw':>12}"]
    for run in depths:
        out.append(f"  {run.depth:9,}{run.engine_median_ms:11.2f}"
                   f"{lines / run.engine_median_ms * 1000:10,.0f}{run.raw_median_ms:9.2f}"
                   f"{lines / run.raw_median_ms * 1000:13,.0f}"
                   f"{run.raw_median_ms / run.engine_median_ms:12.2f}")
    out.append(f"  deepest / shallowest engine ms: "
               f"{allocation['engine_deepest_over_shallowest_ms']:.2f} (aim ~1; raw driver "
               f"{allocation['raw_deepest_over_shallowest_ms']:.2f})")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shown_url = make_url(args.postgres_url).render_as_string(hide_password=True)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    skipped: dict[str, str] = {}
    if "postgresql" in backends:
        problem = postgres_problem(args.postgres_url)
        if problem:
            say(f"PostgreSQL is not reachable at {shown_url} ({problem}); running SQLite only")
            skipped["postgresql"] = problem
            backends = ["sqlite"]
    document: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "sqlalchemy": sqlalchemy.__version__,
                    "psycopg": psycopg.__version__, "load_average_at_start": load_average()},
        "settings": {"orders": args.orders, "queue_depths": args.queue_depths,
                     "receipts": args.receipts, "lines_per_receipt": args.lines_per_receipt},
        "backends": {}, "skipped": skipped,
    }
    texts: list[str] = []
    for backend in backends:
        databases: AbstractContextManager[Callable[[str], Target]]
        if backend == "sqlite":
            version, databases = f"SQLite {sqlite3.sqlite_version}", sqlite_databases()
        else:
            version = f"PostgreSQL {postgres_version(args.postgres_url)} at {shown_url}"
            databases = postgres_databases(args.postgres_url)
        with databases as new_database:
            runs = run_backend(new_database, args)
        texts.append(report(backend, version, runs))
        document["backends"][backend] = {"version": version, **figures(runs)}
    document["machine"]["load_average_at_end"] = load_average()
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        machine = document["machine"]
        print(f"machine: {machine['cpus']} CPUs, load average {machine['load_average_at_start']}"
              f" at start, {machine['load_average_at_end']} at end "
              "(other work on the machine skews absolute figures; compare ratios)\n")
        print("\n\n".join(texts))
        for backend, problem in skipped.items():
            print(f"\n{backend}: skipped, not reachable ({problem})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
