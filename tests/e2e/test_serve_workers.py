"""`backorder serve --workers 2` and a `backorder worker` on one database, under concurrent
clients placing orders and receiving stock: no error at all (SQLite's one writer at a time
is waited for, never answered with "database is locked"), every acknowledged order stored
exactly once, the invariants hold, and GET /metrics counts the requests of both processes."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.store.db import normalise_url
from tests.api.live import BACKORDER, free_port, make_keys
from tests.factories import product
from tests.integration.invariants import find_violations

pytestmark = pytest.mark.slow

SKUS = ("PROC-A", "PROC-B", "PROC-C")
CLIENTS = 8
ORDERS_EACH = 32  # 224 orders, and a receipt every 8th request
START_SECONDS = 60  # a loaded 2-core machine takes seconds to start each process
LOAD_SECONDS = 60  # the bound on the load; it takes a few seconds


@contextmanager
def started(url: str, args: list[str], log: Path, env: dict[str, str]) -> Iterator[int]:
    """A `backorder` process in a session of its own (uvicorn's children with it); stopped
    with SIGTERM, killed (the whole session) if it has not ended 20 s later."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [BACKORDER, "--db", url, *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=os.environ | env,
            start_new_session=True,
        )
    try:
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_processes(log: Path, count: int) -> None:
    """Until `count` server processes said their start-up is complete."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("Application startup complete") >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"not {count} processes within {START_SECONDS} s:\n{log.read_text()}")


def server_processes(parent: int) -> list[str]:
    """The children of uvicorn's manager that serve (not multiprocessing's resource
    tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        pid
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def client(number: int, base: str, key: str, seen: Counter[int], acknowledged: set[str]) -> None:
    """Orders (and now and then a receipt) one after the other, each once: no retry, so an
    error would show."""
    rng = random.Random(number)
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + LOAD_SECONDS
    with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
        for n in range(ORDERS_EACH):
            if time.monotonic() > deadline:
                return
            if n % 8 == 7:
                answer = http.post(
                    f"/api/v1/stock/{rng.choice(SKUS)}/receipts", json={"qty": rng.randint(1, 5)}
                )
                seen[answer.status_code] += 1
                continue
            external = f"{number}-{n}"
            body = {
                "channel": "procs",
                "external_id": external,
                "placed_at": "2026-12-01T10:00:00Z",
                "customer": {"id": f"c-{number}"},
                "lines": [
                    {"sku": sku, "quantity": rng.randint(1, 3)}
                    for sku in rng.sample(SKUS, rng.randint(1, 2))
                ],
            }
            answer = http.post(
                "/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            seen[answer.status_code] += 1
            if answer.status_code == 201:
                acknowledged.add(f"procs:{external}")


def stored_orders(url: str) -> list[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT channel, external_id FROM orders WHERE channel = 'procs'")
            )
            return [f"{channel}:{external}" for channel, external in rows]
    finally:
        engine.dispose()


def counted(metrics: str, status: str) -> float:
    """POST /api/v1/orders answered with `status`, as GET /metrics counts them."""
    pattern = (
        r'^backorder_http_requests_total\{method="POST",route="/api/v1/orders",'
        rf'status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_two_server_processes_and_a_worker_lose_nothing_and_never_fail(
    db_url: str, tmp_path: Path
) -> None:
    app = Backorder.open(Settings(database_url=db_url))
    try:
        for sku in SKUS:
            add_product(app, product(sku))
            receive_stock(app, sku, 30)
    finally:
        app.close()
    keys = make_keys(db_url)
    port, log = free_port(), tmp_path / "serve.log"
    metrics_folder = tmp_path / "metrics"
    metrics_folder.mkdir()
    env = {"PYTHONUNBUFFERED": "1", "PROMETHEUS_MULTIPROC_DIR": str(metrics_folder)}
    serve = ["serve", "--workers", "2", "--port", str(port)]
    worker = ["worker", "--interval", "0.2"]
    base = f"http://127.0.0.1:{port}"
    with (
        started(db_url, serve, log, env) as parent,
        started(db_url, worker, tmp_path / "worker.log", {"PYTHONUNBUFFERED": "1"}),
    ):
        wait_for_processes(log, 2)
        children = server_processes(parent)
        loaded = time.monotonic()
        seen: Counter[int] = Counter()
        acknowledged: set[str] = set()
        threads = [
            threading.Thread(target=client, args=(n, base, keys["ops"], seen, acknowledged))
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 40)
        assert not any(thread.is_alive() for thread in threads)
        load_seconds = time.monotonic() - loaded
        metrics = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=30
        ).text
    counters = sorted(path.name for path in metrics_folder.glob("counter_*.db"))
    stored = stored_orders(db_url)
    summary = {
        "statuses": dict(seen),
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "load_seconds": round(load_seconds, 1),
        "server_processes": len(children),
        "processes_that_counted_requests": len(counters),
    }
    print(json.dumps(summary))

    assert len(children) == 2, summary
    assert set(seen) <= {200, 201}, summary  # no 5xx, no 409 "in progress", no 4xx either
    assert len(acknowledged) == CLIENTS * (ORDERS_EACH - ORDERS_EACH // 8), summary
    assert sorted(stored) == sorted(acknowledged), summary  # each exactly once, none lost
    assert counted(metrics, "201") == len(acknowledged), summary  # both processes' counts
    assert find_violations(db_url) == []
