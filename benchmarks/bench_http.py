"""HTTP load benchmark: POST /api/v1/orders against a bare endpoint of the same app that only
parses the same JSON, in the same run, on SQLite and on PostgreSQL.

    python benchmarks/bench_http.py                    # both backends (about 2 minutes)
    python benchmarks/bench_http.py --quick            # a smoke run
    python benchmarks/bench_http.py --backend sqlite --json

The server is `backorder serve`'s app in its own process (benchmarks/http_server.py adds the
bare route). The client is aiohttp in this process, keeping `--concurrency` keep-alive
connections busy (closed loop) for the rate, then offering a fixed rate (open loop, latency
counted from when each request was due) for the latency at half load. See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from bench_drivers import Target, postgres_databases, postgres_problem, sqlite_databases
from bench_phases import open_app, say, seed_catalogue
from bench_workload import make_orders, stock_plan
from sqlalchemy import func, select

from backorder.domain.access import Role
from backorder.domain.model import OrderRequest
from backorder.services.apikeys import create_key
from backorder.store.tables import orders

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SERVER = Path(__file__).with_name("http_server.py")
FULL = {"requests": 4_000, "concurrency": 16, "open_seconds": 10.0}
QUICK = {"requests": 400, "concurrency": 8, "open_seconds": 3.0}
BLOCKS = 4  # closed-loop blocks per side, interleaved bare/orders/orders/bare/...
PHASE_LIMIT_S = 120.0  # no phase runs longer, whatever the machine does
MAX_IN_FLIGHT = 1_000  # open loop: past this many requests in flight the run is overloaded
AIM_RATIO = 0.5
AIM_P99_MS = 50.0


@dataclass
class Run:
    """Requests of one kind: how many, how long, how each answered."""

    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    late: int = 0  # open loop: requests that could not be sent for MAX_IN_FLIGHT

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def describe(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2)
            if self.latencies
            else None,
            "statuses": dict(self.statuses),
            "late": self.late,
        }


def canonical(request: OrderRequest) -> bytes:
    """The canonical order JSON a channel would POST."""
    customer = request.customer
    return json.dumps(
        {
            "channel": request.channel,
            "external_id": request.external_id,
            "placed_at": request.placed_at.isoformat(),
            "customer": {
                "id": customer.id,
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
                "tier": customer.tier.value,
            },
            "currency": request.currency,
            "shipping": {
                "method": request.terms.shipping_method.value,
                "preference": request.terms.preference.value,
            },
            "payment_timing": request.terms.payment_timing.value,
            "lines": [
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    **({"unit_price": str(line.unit_price)} if line.unit_price else {}),
                }
                for line in request.lines
            ],
        }
    ).encode()


async def closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    bodies: Sequence[bytes],
    run: Run,
    concurrency: int,
    method: str = "POST",
) -> None:
    """`concurrency` connections, each sending the next body as soon as its last answer came."""
    queue = iter(bodies)
    deadline = time.perf_counter() + PHASE_LIMIT_S

    async def connection() -> None:
        for body in queue:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            async with session.request(method, url, data=body or None) as answer:
                await answer.read()
                run.statuses[answer.status] += 1
            run.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    run.seconds += time.perf_counter() - started


async def open_loop(
    session: aiohttp.ClientSession, url: str, bodies: Sequence[bytes], run: Run, rate: float
) -> None:
    """One request every 1/rate seconds whatever the answers do; each latency runs from when
    the request was due, so a stalled server cannot hide its queue (no coordinated omission)."""
    in_flight: set[asyncio.Task[None]] = set()

    async def one(due: float, body: bytes) -> None:
        async with session.post(url, data=body) as answer:
            await answer.read()
            run.statuses[answer.status] += 1
        run.latencies.append(time.perf_counter() - due)

    start = time.perf_counter() + 0.05
    for number, body in enumerate(bodies):
        due = start + number / rate
        if due - start > PHASE_LIMIT_S:
            break
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        if len(in_flight) >= MAX_IN_FLIGHT:
            run.late += 1
            continue
        task = asyncio.create_task(one(due, body))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    run.seconds = time.perf_counter() - start


@contextmanager
def server(url: str, port: int) -> Iterator[str]:
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
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def measure(
    base: str, key: str, bodies: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=args.concurrency * 4)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as s:
        orders_url, bare_url = f"{base}/api/v1/orders", f"{base}/bench/bare"
        warm = bodies[:200]
        say(f"warming up on {len(warm)} orders")
        await closed_loop(s, bare_url, warm, Run("warm"), args.concurrency)
        await closed_loop(s, orders_url, warm, Run("warm"), args.concurrency)

        ceiling, bare, placed = Run("GET /healthz"), Run("bare"), Run("orders")
        # What the client and the server's HTTP layer do with no work at all: if the bare
        # rate came close to this, the floor would be the client's, not the app's.
        await closed_loop(
            s, f"{base}/healthz", [b""] * args.requests, ceiling, args.concurrency, "GET"
        )
        closed = bodies[len(warm) : len(warm) + args.requests]
        size = max(1, len(closed) // BLOCKS)
        blocks = [closed[i : i + size] for i in range(0, len(closed), size)]
        say(f"closed loop: {len(closed):,} requests per side, {args.concurrency} connections")
        for number, block in enumerate(blocks):
            sides = [(bare_url, bare), (orders_url, placed)]
            for url, run in sides if number % 2 == 0 else reversed(sides):
                await closed_loop(s, url, block, run, args.concurrency)

        rate = max(1.0, placed.rate / 2)
        rest = bodies[len(warm) + len(closed) :]
        offered = rest[: int(rate * args.open_seconds)]
        say(f"open loop: {len(offered):,} orders at {rate:,.0f}/s (half the measured rate)")
        half = Run("orders at half load")
        await open_loop(s, orders_url, offered, half, rate)
    return {
        "client_ceiling": ceiling.describe(),
        "bare": bare.describe(),
        "orders": placed.describe(),
        "orders_half_load": half.describe() | {"offered_per_second": round(rate, 1)},
        "ratio": round(placed.rate / bare.rate, 3) if bare.rate else None,
        "sent_orders": len(warm) + len(closed) + len(half.latencies),
    }


def bench_backend(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    total = 200 + args.requests + int(args.requests * args.open_seconds)
    requests = make_orders(total, [f"BENCH-{n:03d}" for n in range(30)])
    say(f"{target.backend}: seeding the catalogue and {len(requests):,} order bodies")
    app = open_app(target)
    try:
        seed_catalogue(app, stock_plan(requests))
        key = create_key(app, Role.CHANNEL, "bench").key
    finally:
        app.close()
    bodies = [canonical(request) for request in requests]
    with server(target.url, free_port()) as base:
        figures = asyncio.run(measure(base, key, bodies, args))
    app = open_app(target)
    try:
        with app.db.read() as uow:
            stored = uow.connection.execute(select(func.count()).select_from(orders)).scalar_one()
    finally:
        app.close()
    created = sum(
        figures[k]["statuses"].get(201, 0) for k in ("orders", "orders_half_load")
    )
    figures["orders_in_database"] = stored
    figures["check"] = "ok" if stored >= created and not _errors(figures) else "MISMATCH"
    return {"backend": target.backend} | figures


def _errors(figures: dict[str, Any]) -> int:
    bad = 0
    for name in ("bare", "orders", "orders_half_load"):
        bad += sum(n for status, n in figures[name]["statuses"].items() if status >= 400)
    return bad


def report(results: list[dict[str, Any]]) -> None:
    print(f"{'backend':<11}{'what':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for result in results:
        rows = [
            ("GET /healthz (client ceiling)", result["client_ceiling"]),
            ("POST /bench/bare (floor)", result["bare"]),
            ("POST /api/v1/orders", result["orders"]),
            (
                f"orders at {result['orders_half_load']['offered_per_second']:,.0f}/s (half)",
                result["orders_half_load"],
            ),
        ]
        for what, run in rows:
            print(
                f"{result['backend']:<11}{what:<34}{run['per_second']:>9,.0f}"
                f"{run['p50_ms']:>9.1f}{run['p99_ms']:>9.1f}"
            )
        ratio, p99 = result["ratio"], result["orders_half_load"]["p99_ms"]
        print(
            f"{'':<11}orders/bare {ratio:.2f} (aim >= {AIM_RATIO}); "
            f"p99 at half load {p99:.1f} ms (aim < {AIM_P99_MS:.0f}); "
            f"{result['orders_in_database']:,} orders stored; check {result['check']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--requests", type=int, help="closed-loop requests per side")
    parser.add_argument("--concurrency", type=int, help="client connections")
    parser.add_argument("--open-seconds", type=float, help="length of the open-loop phase")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not (1 <= args.requests <= 1_000_000 and 1 <= args.concurrency <= 256):
        parser.error("--requests must be 1..1,000,000 and --concurrency 1..256")
    if not 0.5 <= args.open_seconds <= 60:
        parser.error("--open-seconds must be 0.5..60")

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with ExitStack() as stack:
        if "sqlite" in backends:
            new = stack.enter_context(sqlite_databases())
            results.append(bench_backend(new("http"), args))
        if "postgresql" in backends:
            problem = postgres_problem(args.postgres_url)
            if problem:
                say(f"skipping PostgreSQL: {problem}")
            else:
                new = stack.enter_context(postgres_databases(args.postgres_url))
                results.append(bench_backend(new("http"), args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0 if all(r["check"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
