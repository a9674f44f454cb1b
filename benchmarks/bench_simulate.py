"""Policy simulator benchmark: a year of the demo's trading, simulated under three policies,
beside the engine's own replay of the same inputs (no policy, no KPIs) in the same run.

    python benchmarks/bench_simulate.py                 # a year (365 days), three policies
    python benchmarks/bench_simulate.py --days 60       # a quick run
    python benchmarks/bench_simulate.py --keep /tmp/year.db   # keep (and reuse) the history

The history is made the way `backorder demo` makes its five weeks, stretched to `--days`:
the demo's catalogue, customers, channels, locations (own warehouse, 3PL, FBA), buyer,
goods-in, cancellations, expedites, 3PL feeds and ship runs, every step a real use case at a
simulated time (the daily review and message planning are left out: they add no recorded
input). It is made once into a SQLite file (reused by --keep when it exists). Then:

- floor: the recorded inputs applied in a fresh copy under the actual policy, nothing
  measured (what the engine itself costs to replay them);
- the three policies of examples/policies/ (VIP first, ship complete, reorder point) in one
  simulate(), `--jobs` of them at once (default: one per CPU): the table with their KPIs,
  the seconds each took and in all.

The issue's aim: three policies in under 60 s on this machine. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from backorder.cli.simulate import read_policy, simulation_table
from backorder.config import Settings
from backorder.demo import store as demo_store
from backorder.domain.simulation import Policy
from backorder.services.context import Backorder
from backorder.services.simulation import Simulation, run_policy, simulate, window_of
from backorder.services.simulation.record import read_history
from backorder.store.db import Database
from backorder.store.migrate import ensure_schema

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
NAMES = ("vip_first", "ship_complete", "reorder_point")
TODAY = datetime(2026, 1, 5, 8, tzinfo=UTC)


def make_history(path: Path, days: int, seed: int) -> tuple[int, float]:
    """The demo's trading over `days` up to TODAY, into `path`; orders made, seconds."""
    began = time.perf_counter()
    demo_store.DAYS = days  # the demo's span, stretched
    settings = Settings(database_url=f"sqlite:///{path}")
    span = demo_store.Span(TODAY)
    clock = demo_store.SimClock(span.opening)
    app = Backorder(Database(settings.database_url), settings, clock)
    ensure_schema(app.db)
    with app.db.engine.connect():
        store = demo_store.Store(app, span, clock, random.Random(seed))
        store.review = lambda: None  # type: ignore[method-assign]
        store.open()
        for moment, step in store.plan():
            clock.now = moment
            step()
    with app.db.read() as uow:
        orders = uow.connection.exec_driver_sql("select count(*) from orders").scalar_one()
    app.close()
    return int(orders), time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="the history's file (made if missing)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="policies at once")
    args = parser.parse_args()
    console = Console(width=80)
    folder = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    path = args.keep or folder / "history.db"
    if not path.exists():
        orders, seconds = make_history(path, args.days, args.seed)
        console.print(f"history: {args.days} days, {orders:,} orders, made in {seconds:.0f} s")
    settings = Settings(database_url=f"sqlite:///{path}")
    app = Backorder(Database(settings.database_url), settings, lambda: TODAY)
    end = TODAY.date() + timedelta(days=1)
    start = end - timedelta(days=args.days)
    window = window_of(start, end)
    with app.db.read() as uow:
        history = read_history(uow.connection, window[1])
    inputs = len(history.inputs)
    console.print(f"inputs replayed: {inputs:,} ({start} to {end}, exclusive)")
    console.print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    floor_column, _ = run_policy(settings, history, (window, Policy("floor"), args.seed))
    floor, floor_cpu = floor_column.seconds or 0.0, floor_column.cpu_seconds or 0.0
    console.print(
        f"floor (the engine's own replay, actual policy, measured too): {floor:.1f} s "
        f"({floor_cpu:.1f} s CPU), {floor / inputs * 1000:.2f} ms per input"
    )
    policies = [read_policy(POLICIES / f"{name}.toml") for name in NAMES]
    began = time.perf_counter()
    result: Simulation = simulate(app, (start, end), policies, args.seed, args.jobs)
    total = time.perf_counter() - began
    console.print(simulation_table(result))
    for column in result.columns[1:]:
        seconds, cpu = column.seconds or 0.0, column.cpu_seconds or 0.0
        console.print(
            f"{column.name}: {seconds:.1f} s, {cpu:.1f} s CPU ({cpu / floor_cpu:.2f} x the floor's)"
        )
    console.print(f"load average after: {os.getloadavg()[0]:.1f}")
    verdict = "under" if total < 60 else "OVER"
    console.print(
        f"three policies, {args.jobs} at once: {total:.1f} s in all ({verdict} the 60 s aim)"
    )
    app.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
