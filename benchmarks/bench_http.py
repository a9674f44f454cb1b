"""HTTP load benchmark: N concurrent clients place orders against `backorder serve` on SQLite
and on PostgreSQL, beside the in-process engine placing the same orders and a bare endpoint
of the same app, in the same run.

    python benchmarks/bench_http.py                    # both backends, 32 clients, 30 s each
    python benchmarks/bench_http.py --quick            # a smoke run (under a minute)
    python benchmarks/bench_http.py --backend sqlite --clients 64 --seconds 60 --json

Per backend it prints orders/s, p50/p99, errors and the CPU milliseconds per order of the
server process(es) and of the PostgreSQL backends serving the benchmark's database (from
/proc), checks that every order the server acknowledged (2xx with a ref) is in the
database, and prints the issue's aims beside the figures. See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from itertools import cycle
from pathlib import Path
from typing import Any

import aiohttp
import bench_profile
from bench_cpu import Sampler, nothing, postgres_backends, tree
from bench_drivers import Target, postgres_databases, postgres_problem, sqlite_databases
from bench_load import Run, canonical, closed_loop, free_port
from bench_phases import open_app, say, seed_catalogue
from bench_workload import CHANNEL, make_orders, stock_plan
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from backorder.domain.access import Role
from backorder.domain.model import OrderRequest
from backorder.services.apikeys import create_key
from backorder.services.intake import place_order
from backorder.store.tables import order_lines, orders

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SERVER = Path(__file__).with_name("http_server.py")
FULL = {"seconds": 30.0}
QUICK = {"seconds": 4.0}
WARM = 50  # orders placed first on each side, not counted
# Each SKU is stocked with two thirds of the units of the orders a run at 60 orders/s would
# place (and the warm-up): a third of their lines wait, and every line of the orders after.
STOCK_PER_SECOND = 60
MAX_RATE = 1_000  # order bodies made per second of the run; a faster server runs out early
AIM_RATIO, AIM_P99_MS, AIM_CPU = 0.5, 250.0, 2.0


@contextmanager
def server(url: str, port: int) -> Iterator[tuple[str, int]]:
    """`backorder serve`'s app and uvicorn settings in a process of its own."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER), url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not answer within 30 s")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def database_processes(target: Target) -> Callable[[], set[int]]:
    if target.backend != "postgresql":
        return nothing  # SQLite runs inside the process that calls it
    return partial(postgres_backends, make_url(target.url).database or "")


async def over_http(
    base: str, pid: int, key: str, bodies: list[bytes], args: argparse.Namespace,
    database: Callable[[], set[int]],
) -> dict[str, Run]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=args.clients * 2)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as s:
        orders_url, bare_url = f"{base}/api/v1/orders", f"{base}/bench/bare"
        say(f"warming up: {WARM} requests to each endpoint")
        await closed_loop(s, bare_url, iter(bodies[:WARM]), Run("warm"), args.clients)
        warm = Run("warm")
        await closed_loop(s, orders_url, iter(bodies[:WARM]), warm, args.clients)
        bare, placed = Run("bare"), Run("orders")
        bare_seconds = max(2.0, args.seconds / 3)
        say(f"bare endpoint: {args.clients} clients for {bare_seconds:.0f} s")
        bare.app_cpu = Sampler(partial(tree, pid)).start()
        await closed_loop(s, bare_url, cycle(bodies[WARM:]), bare, args.clients, bare_seconds)
        bare.stop_cpu()
        say(f"orders: {args.clients} clients for {args.seconds:.0f} s")
        profiling = None
        if args.profile:
            out = args.profile / f"orders-{args.backend_now}.txt"
            profiling = (bench_profile.record(pid, args.seconds, out), out)
        placed.app_cpu, placed.db_cpu = Sampler(partial(tree, pid)), Sampler(database)
        placed.app_cpu.start(), placed.db_cpu.start()
        await closed_loop(s, orders_url, iter(bodies[WARM:]), placed, args.clients, args.seconds)
        placed.stop_cpu()
        if profiling:
            bench_profile.finish(profiling[0], args.seconds)
            say(f"profile of the server ({profiling[1]}):\n" + bench_profile.summary(profiling[1]))
    return {"warm": warm, "bare": bare, "orders": placed}


def in_process(target: Target, requests: Sequence[OrderRequest], limit_s: float) -> Run:
    """The engine places the same orders one after another in this process: the rate and
    CPU time the HTTP path is measured against (this thread's CPU + the database's)."""
    app = open_app(target)
    run = Run("in-process")
    try:
        for request in requests[:WARM]:
            place_order(app, request)
        run.db_cpu = Sampler(database_processes(target)).start()
        cpu, started = time.thread_time(), time.perf_counter()
        for request in requests[WARM:]:
            began = time.perf_counter()
            if began - started > limit_s:
                break
            place_order(app, request)
            run.latencies.append(time.perf_counter() - began)
        run.seconds = time.perf_counter() - started
        run.own_cpu_s = time.thread_time() - cpu
        run.stop_cpu()
    finally:
        app.close()
    return run


def stored(target: Target, acknowledged: set[str]) -> dict[str, Any]:
    """Which acknowledged orders are in the database, and the share of lines that wait."""
    app = open_app(target)
    try:
        with app.db.read() as uow:
            found = {
                f"{CHANNEL}:{external}"
                for (external,) in uow.connection.execute(
                    select(orders.c.external_id).where(orders.c.channel == CHANNEL)
                )
            }
            lines, waiting = uow.connection.execute(
                select(func.count(), func.count().filter(order_lines.c.backordered > 0))
            ).one()
    finally:
        app.close()
    return {"acknowledged": len(acknowledged), "stored": len(found),
            "missing": len(acknowledged - found),
            "lines_waiting": round(int(waiting or 0) / lines, 3) if lines else 0.0}


def bench_backend(new: Callable[..., Target], args: argparse.Namespace) -> dict[str, Any]:
    http_target = new("http")
    load = [round(x, 1) for x in os.getloadavg()]
    skus = [f"BENCH-{n:03d}" for n in range(30)]
    requests = make_orders(WARM + int(args.seconds * MAX_RATE), skus)
    plan = stock_plan(requests[: WARM + int(args.seconds * STOCK_PER_SECOND)])
    say(f"{http_target.backend}: seeding the catalogue; {len(requests):,} order bodies")
    app = open_app(http_target)
    try:
        seed_catalogue(app, plan)
    finally:
        app.close()
    engine_target = new("engine", like=http_target)  # the same schema and stock
    app = open_app(http_target)
    try:
        key = create_key(app, Role.CHANNEL, "bench").key
    finally:
        app.close()
    bodies = [canonical(request) for request in requests]
    with server(http_target.url, free_port()) as (base, pid):
        runs = asyncio.run(
            over_http(base, pid, key, bodies, args, database_processes(http_target))
        )
    check = stored(http_target, runs.pop("warm").refs | runs["orders"].refs)
    sent = len(runs["orders"].latencies)
    say(f"{engine_target.backend}: the engine places the same {sent:,} orders in process")
    engine = in_process(engine_target, requests[: WARM + sent], limit_s=2 * args.seconds)
    runs["in_process"] = engine
    load += [round(x, 1) for x in os.getloadavg()]
    figures = {name: run.describe() for name, run in runs.items()}
    http, inner = runs["orders"], engine
    aims = {
        "rate_ratio": round(http.rate / inner.rate, 3) if inner.rate else None,
        "p99_ms": round(http.percentile(0.99), 1),
        "cpu_ratio": round(http.cpu_ms_per_request() / inner.cpu_ms_per_request(), 2)
        if inner.cpu_ms_per_request() else None,
    }
    aims["met"] = {
        "rate": aims["rate_ratio"] is not None and aims["rate_ratio"] >= AIM_RATIO,
        "p99": aims["p99_ms"] < AIM_P99_MS,
        "cpu": aims["cpu_ratio"] is not None and aims["cpu_ratio"] <= AIM_CPU,
    }
    ok = check["missing"] == 0 and check["stored"] >= check["acknowledged"]
    return {"backend": http_target.backend, "clients": args.clients, "load": load,
            "runs": figures,
            "check": check | {"ok": ok}, "aims": aims}


def report(results: list[dict[str, Any]]) -> None:
    head = f"{'backend':<11}{'what':<36}{'per s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
    print(head + "  CPU ms/order (app + database)")
    for result in results:
        clients = result["clients"]
        rows = (
            ("in-process place_order", result["runs"]["in_process"]),
            (f"POST /bench/bare ({clients} clients)", result["runs"]["bare"]),
            (f"POST /api/v1/orders ({clients} clients)", result["runs"]["orders"]),
        )
        for what, run in rows:
            p50 = f"{run['p50_ms']:>8.1f}" if run["p50_ms"] else f"{'-':>8}"
            p99 = f"{run['p99_ms']:>8.1f}" if run["p99_ms"] else f"{'-':>8}"
            print(
                f"{result['backend']:<11}{what:<36}{run['per_second']:>8,.0f}{p50}{p99}"
                f"{run['errors']:>7}  {run['cpu_ms']:.2f} "
                f"({run['app_cpu_ms']:.2f} + {run['db_cpu_ms']:.2f}"
                + (f", {run['db_processes']} db processes)" if run["db_processes"] else ")")
            )
        check, aims, load = result["check"], result["aims"], result["load"]
        print(f"{'':<11}load average {load[0]} at start, {load[3]} at end (2+ means the "
              "cores were shared with other work: compare CPU/order and ratios)")
        print(
            f"{'':<11}check: {check['acknowledged']:,} orders acknowledged (2xx with a ref), "
            f"{check['stored']:,} in the database, {check['missing']} missing: "
            f"{'ok' if check['ok'] else 'MISMATCH'}; {check['lines_waiting']:.0%} of lines wait"
        )
        met = {True: "met", False: "NOT met"}
        print(
            f"{'':<11}aims: HTTP/in-process rate {aims['rate_ratio']} (>= {AIM_RATIO}) "
            f"{met[aims['met']['rate']]}; p99 {aims['p99_ms']:.0f} ms (< {AIM_P99_MS:.0f}) "
            f"{met[aims['met']['p99']]}; CPU/order {aims['cpu_ratio']}x in-process "
            f"(<= {AIM_CPU:.0f}x) {met[aims['met']['cpu']]}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run (4 s phases)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--seconds", type=float, help="length of the orders phase")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="profile the server with py-spy during the orders phase; "
                        "collapsed stacks go to DIR, a summary to stderr")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not (1 <= args.clients <= 256 and 1 <= args.seconds <= 600):
        parser.error("--clients must be 1..256 and --seconds 1..600")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and (problem := postgres_problem(args.postgres_url)):
        say(f"skipping PostgreSQL: {problem}")
        backends.remove("postgresql")
    results = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for backend in backends:
        args.backend_now = backend
        with ExitStack() as stack:
            databases = (sqlite_databases() if backend == "sqlite"
                         else postgres_databases(args.postgres_url))
            results.append(bench_backend(stack.enter_context(databases), args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0 if all(r["check"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
