"""Orders/s through `backorder serve` with 1 process and with `--workers 2`, with a
`backorder worker` running beside it, on the same kind of database in the same run (the
1-process figure is the floor the 2-process one stands beside).

    python benchmarks/bench_procs.py --quick                    # SQLite, 10 s per side
    python benchmarks/bench_procs.py --backend postgresql --seconds 30 --clients 32

Each side gets a fresh database (a temporary SQLite file, or a throwaway PostgreSQL
database) with 200 SKUs in stock, and `--clients` aiohttp connections placing one order
after another (closed loop) for `--seconds`. Printed per side: orders/s, p50/p99/max
latency, every status seen, and whether every acknowledged order is in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.model import Policy, Product, QueueStrategy
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import receive_stock_many
from backorder.store.db import normalise_url

BACKORDER = str(Path(sys.executable).parent / "backorder")
SKUS = [f"BENCH-{n:03d}" for n in range(200)]
START_LIMIT_S = 120.0
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(backend: str, admin_url: str) -> Iterator[str]:
    """A fresh database, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-procs-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"backorder_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalise_url(admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(url: str) -> str:
    """The catalogue, its stock, and an API key (returned)."""
    app = Backorder.open(Settings(database_url=url))
    try:
        for sku in SKUS:
            add_product(
                app,
                Product(
                    sku=sku,
                    name=sku.title(),
                    unit_price=Decimal("9.50"),
                    policy=Policy.ALLOW,
                    queue=QueueStrategy.FIFO,
                ),
            )
        receive_stock_many(app, [(sku, 50, None) for sku in SKUS])
        return create_key(app, Role.OPS).key
    finally:
        app.close()


@contextmanager
def running(url: str, workers: int, folder: Path) -> Iterator[str]:
    """`backorder serve` (with --workers when more than 1) and a `backorder worker`."""
    port = free_port()
    serve = [BACKORDER, "--db", url, "serve", "--port", str(port)]
    if workers > 1:
        serve += ["--workers", str(workers)]
    started = []
    for args, log in ((serve, "serve.log"), ([BACKORDER, "--db", url, "worker"], "worker.log")):
        with (folder / log).open("wb") as output:
            started.append(
                subprocess.Popen(
                    args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while (folder / "serve.log").read_text().count("startup complete") < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {START_LIMIT_S:g} s")
            time.sleep(0.2)
        urllib.request.urlopen(f"{base}/healthz", timeout=10).read()
        yield base
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def order(client: int, number: int, rng: random.Random) -> dict[str, Any]:
    return {
        "channel": "bench",
        "external_id": f"{client}-{number}",
        "placed_at": "2026-12-01T10:00:00Z",
        "customer": {"id": f"c-{client}-{number % 13}"},
        "lines": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, 3)],
    }


async def load(base: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    acknowledged: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=60)

    async def client(number: int, session: aiohttp.ClientSession, until: float) -> None:
        rng, n = random.Random(number), 0
        while time.monotonic() < until:
            n += 1
            body = order(number, n, rng)
            began = time.perf_counter()
            try:
                async with session.post(f"{base}/api/v1/orders", json=body) as answer:
                    await answer.read()
                    statuses[str(answer.status)] += 1
                    if answer.status == 201:
                        acknowledged.append(f"bench:{body['external_id']}")
            except (aiohttp.ClientError, TimeoutError) as error:
                statuses[type(error).__name__] += 1
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        headers=headers, timeout=timeout, connector=connector
    ) as session:
        began = time.monotonic()
        until = began + seconds
        await asyncio.gather(*(client(n, session, until) for n in range(clients)))
        elapsed = time.monotonic() - began
    latencies.sort()

    def ms(share: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000, 1)

    return {
        "orders_per_s": round(len(acknowledged) / elapsed, 1),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "max_ms": round(latencies[-1] * 1000, 1),
        "statuses": dict(statuses),
        "acknowledged": acknowledged,
    }


def stored(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT external_id FROM orders WHERE channel = 'bench'"))
            return {f"bench:{external}" for (external,) in rows}
    finally:
        engine.dispose()


def side(backend: str, workers: int, options: argparse.Namespace) -> dict[str, Any]:
    with (
        database(backend, options.postgres_url) as url,
        tempfile.TemporaryDirectory(prefix="bench-procs-logs-") as logs,
    ):
        key = seed(url)
        with running(url, workers, Path(logs)) as base:
            figures = asyncio.run(load(base, key, options.clients, options.seconds))
        acknowledged = figures.pop("acknowledged")
        figures["acknowledged_missing"] = len(set(acknowledged) - stored(url))
    return {"backend": backend, "processes": workers, "clients": options.clients} | figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="10 s per side")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BACKORDER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    options = parser.parse_args()
    if options.quick:
        options.seconds = 10.0
    rows = [side(options.backend, workers, options) for workers in (1, 2)]
    for row in rows:
        print(json.dumps(row))
    floor, ours = rows
    ratio = ours["orders_per_s"] / floor["orders_per_s"] if floor["orders_per_s"] else 0.0
    print(
        f"{options.backend}: {ours['orders_per_s']} orders/s with 2 processes, "
        f"{floor['orders_per_s']} with 1 (x{ratio:.2f}); "
        f"p99 {ours['p99_ms']} ms against {floor['p99_ms']} ms"
    )


if __name__ == "__main__":
    main()
