"""Broker benchmark: what NATS JetStream in front of channel intake buys. Shopify orders are
POSTed by concurrent clients to `/api/v1/channels/shopify/orders` of a `backorder serve`
without a broker (direct: stored and placed before the answer) and of one with
`BACKORDER_BROKER_URL` (brokered: 202 once the stream has it), in the same run, on fresh
databases seeded alike; then one and two `backorder intake consume` processes drain what the
stream took. Every order answered 2xx must be placed exactly once.

    python benchmarks/bench_broker.py --quick          # PostgreSQL, under 90 s
    python benchmarks/bench_broker.py                  # PostgreSQL, 15 s of load a side
    python benchmarks/bench_broker.py --backend both --json

The nats-server is this machine's binary, started on a free loopback port with a store in a
temporary directory, and always stopped (broker_processes.py starts the processes and makes
the orders). See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from bench_drivers import Target, postgres_databases, postgres_problem, sqlite_databases
from bench_http import DEFAULT_POSTGRES_URL, Run
from bench_intake import prepare  # a seeded database and a channel key, as there
from bench_phases import say
from bench_workload import make_orders
from broker_processes import NATS_SERVER, backorder, nats_server, serve, shopify_order, stop
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from backorder.store.db import normalise_url
from backorder.store.tables import orders

PATH = "/api/v1/channels/shopify/orders"
FULL = {"seconds": 15.0, "max_orders": 200_000, "drain_limit": 600.0}
QUICK = {"seconds": 4.0, "max_orders": 1_500, "drain_limit": 45.0}
POOL = 2_000  # distinct order shapes; the Shopify id makes each POST a new order
REQUEST_TIMEOUT_S = 30.0
POLL_S = 0.2


# --- load ---------------------------------------------------------------------------------


@dataclass
class Load:
    """One phase of POSTs: the answers, and the Shopify ids answered 2xx."""

    run: Run
    acked: set[str] = field(default_factory=set)
    sent: set[str] = field(default_factory=set)

    def describe(self) -> dict[str, Any]:
        errors = sum(n for status, n in self.run.statuses.items() if not 200 <= status < 300)
        return self.run.describe() | {"acked": len(self.acked), "errors": errors}


async def post_for(
    base: str, key: str, bodies: Callable[[int], bytes], first_id: int,
    args: argparse.Namespace, label: str,
) -> Load:
    """`args.clients` clients POSTing one order after another until `args.seconds` have
    passed or `args.max_orders` were sent (closed loop)."""
    load = Load(Run(label))
    numbers = itertools.count()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    deadline = time.perf_counter() + args.seconds
    connector = aiohttp.TCPConnector(limit=args.clients)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            n = next(numbers)
            if n >= args.max_orders:
                return
            order_id = str(first_id + n)
            load.sent.add(order_id)
            started = time.perf_counter()
            try:
                async with session.post(f"{base}{PATH}", data=bodies(n)) as answer:
                    await answer.read()
                    status = answer.status
            except (TimeoutError, aiohttp.ClientError):
                status = 0  # no answer: counted as an error, never as acknowledged
            load.run.latencies.append(time.perf_counter() - started)
            load.run.statuses[status] += 1
            if 200 <= status < 300:
                load.acked.add(order_id)

    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=timeout
    ) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(args.clients)))
        load.run.seconds = time.perf_counter() - started
    return load


# --- checks and the drain -----------------------------------------------------------------


def placed(engine: Engine) -> Counter[str]:
    """Shopify orders in the database, counted by the channel's order id."""
    query = (
        select(orders.c.external_id, func.count())
        .where(orders.c.channel == "shopify")
        .group_by(orders.c.external_id)
    )
    with engine.connect() as conn:
        return Counter({row[0]: int(row[1]) for row in conn.execute(query)})


def placed_count(engine: Engine) -> int:
    query = select(func.count()).select_from(orders).where(orders.c.channel == "shopify")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def exactly_once(engine: Engine, load: Load) -> dict[str, Any]:
    counts = placed(engine)
    missing = load.acked - set(counts)
    twice = sorted(ref for ref, n in counts.items() if n > 1)
    made_up = set(counts) - load.sent
    ok = not missing and not twice and not made_up
    return {
        "acked": len(load.acked),
        "placed": len(counts),
        "missing": len(missing),
        "placed_twice": len(twice),
        "not_sent": len(made_up),
        "ok": ok,
    }


def wait_until(engine: Engine, target: int, deadline: float) -> tuple[int, float]:
    """Poll until `target` orders are placed or the deadline passes: (count, when)."""
    while True:
        count = placed_count(engine)
        if count >= target or time.monotonic() > deadline:
            return count, time.monotonic()
        time.sleep(POLL_S)


def drain(url: str, env: dict[str, str], engine: Engine, acked: int,
          limit: float) -> dict[str, Any]:
    """One consumer until a third of the backlog is placed, then a second one; the rate of
    one is timed from its first order to the third, that of two from the half to the end
    (the second consumer starting up in between)."""
    started = time.monotonic()
    deadline = started + limit
    consumers = [backorder(url, env, "intake", "consume", "--batch", "50")]
    try:
        first, at_first = wait_until(engine, 1, deadline)
        third, at_third = wait_until(engine, max(first + 1, acked // 3), deadline)
        consumers.append(backorder(url, env, "intake", "consume", "--batch", "50"))
        half, at_half = wait_until(engine, max(third + 1, acked // 2), deadline)
        done, at_done = wait_until(engine, acked, deadline)
    finally:
        for consumer in consumers:
            stop(consumer)

    def rate(count: int, seconds: float) -> float:
        return round(count / seconds, 1) if seconds > 0 else 0.0

    return {
        "backlog": acked,
        "placed": done,
        "complete": done >= acked,
        "seconds": round(at_done - started, 2),
        "first_order_after_s": round(at_first - started, 2),
        "one_consumer_per_s": rate(third - first, at_third - at_first),
        "two_consumers_per_s": rate(done - half, at_done - at_half),
        "overall_per_s": rate(done, at_done - started),
    }


# --- one backend --------------------------------------------------------------------------


def bench_backend(new: Callable[[str], Target], args: argparse.Namespace) -> dict[str, Any]:
    requests = make_orders(POOL, [f"BENCH-{n:03d}" for n in range(30)])

    def bodies(first_id: int) -> Callable[[int], bytes]:
        return lambda n: shopify_order(requests[n % POOL], first_id + n)

    direct_db, broker_db = new("direct"), new("brokered")
    say(f"{direct_db.backend}: seeding two databases alike")
    keys = {t.label: prepare(t, requests) for t in (direct_db, broker_db)}
    result: dict[str, Any] = {"backend": direct_db.backend, "clients": args.clients}

    say(f"direct: {args.clients} clients for {args.seconds:g} s")
    with serve(direct_db.url, {}) as base:
        direct = asyncio.run(post_for(base, keys["direct"], bodies(1), 1, args, "direct"))
    engine = create_engine(normalise_url(direct_db.url))
    try:
        result["direct"] = direct.describe() | {"check": exactly_once(engine, direct)}
    finally:
        engine.dispose()

    with tempfile.TemporaryDirectory(prefix="backorder_nats_") as folder, nats_server(
        Path(folder)
    ) as nats:
        env = {"BACKORDER_BROKER_URL": nats, "BACKORDER_BROKER_REPLICAS": "1"}
        first = 10_000_000
        say(f"brokered: {args.clients} clients for {args.seconds:g} s, no consumer running")
        with serve(broker_db.url, env) as base:
            brokered = asyncio.run(
                post_for(base, keys["brokered"], bodies(first), first, args, "brokered")
            )
        engine = create_engine(normalise_url(broker_db.url))
        try:
            before = placed_count(engine)
            say(f"draining {len(brokered.acked):,} orders: one consumer, then two")
            result["drain"] = drain(
                broker_db.url, env, engine, len(brokered.acked), args.drain_limit
            ) | {"placed_before_consumers": before}
            result["brokered"] = brokered.describe() | {
                "check": exactly_once(engine, brokered)
            }
        finally:
            engine.dispose()
    return result


def passed(result: dict[str, Any]) -> bool:
    return bool(
        result["direct"]["check"]["ok"]
        and result["brokered"]["check"]["ok"]
        and result["drain"]["complete"]
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(results: list[dict[str, Any]], load: dict[str, str]) -> None:
    print(f"load average: {load['start']} at the start, {load['end']} at the end")
    head = f"{'backend':<11}{'side':<10}{'answers/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(head + f"{'acked':>9}{'errors':>8}  exactly once")
    for r in results:
        for side in ("direct", "brokered"):
            s, c = r[side], r[side]["check"]
            verdict = "ok" if c["ok"] else (
                f"FAILED (missing {c['missing']}, twice {c['placed_twice']}, "
                f"not sent {c['not_sent']})"
            )
            print(
                f"{r['backend']:<11}{side:<10}{s['per_second']:>10,.0f}{s['p50_ms']:>9.1f}"
                f"{s['p99_ms']:>9.1f}{s['acked']:>9,}{s['errors']:>8,}  "
                f"{c['placed']:,} placed, {verdict}"
            )
        d, x, b = r["drain"], r["direct"], r["brokered"]
        spike = b["per_second"] / x["per_second"] if x["per_second"] else float("nan")
        print(
            f"{'':<11}the stream took {spike:.1f}x the direct rate ({r['clients']} clients); "
            f"drain of {d['backlog']:,}: 1 consumer {d['one_consumer_per_s']:,.0f}/s, "
            f"2 consumers {d['two_consumers_per_s']:,.0f}/s, all placed in "
            f"{d['seconds']:.1f} s{'' if d['complete'] else ' (INCOMPLETE: bound reached)'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"],
                        default="postgresql")
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 90 s")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, help="length of each load phase")
    parser.add_argument("--max-orders", type=int, help="at most this many POSTs a phase")
    parser.add_argument("--drain-limit", type=float, help="seconds the drain may take")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not (1 <= args.clients <= 256 and 0.5 <= args.seconds <= 300):
        parser.error("--clients must be 1..256 and --seconds 0.5..300")
    if not (1 <= args.max_orders <= 1_000_000 and 1 <= args.drain_limit <= 3_600):
        parser.error("--max-orders must be 1..1,000,000 and --drain-limit 1..3,600")
    if not Path(NATS_SERVER).exists():
        parser.error(f"no nats-server binary at {NATS_SERVER}")

    load = {"start": load_average()}
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with ExitStack() as stack:
        for backend in backends:
            if backend == "postgresql":
                if problem := postgres_problem(args.postgres_url):
                    say(f"skipping PostgreSQL: {problem}")
                    continue
                new = stack.enter_context(postgres_databases(args.postgres_url))
            else:
                new = stack.enter_context(sqlite_databases())
            results.append(bench_backend(new, args))
    load["end"] = load_average()
    if args.json:
        print(json.dumps({"load_average": load, "results": results}, indent=2))
    else:
        report(results, load)
    return 0 if results and all(passed(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
