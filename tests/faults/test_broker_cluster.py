"""The distributed shape (issue 22): a 3-node JetStream cluster started by the test on
loopback ports, the intake stream replicated on all three (R3), two `backorder serve` and
two `backorder intake consume` processes on one PostgreSQL database. Clients post orders
concurrently through both APIs, sending an order again (the same body, so the same message
id) on a 503 or a broken connection, while the test kills the stream's leader node and one
consumer, the hard way.

Afterwards: every order answered 2xx is placed, exactly once; none is lost; the
invariants hold (tests/integration/invariants.py)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from backorder.broker.jetstream import connect, ensure_stream
from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.store.db import normalise_url
from tests.api.live import free_port, make_keys, wait_until_healthy
from tests.broker import NatsServer, nats_cluster
from tests.factories import product
from tests.faults.conftest import Processes, wait_for
from tests.integration.invariants import find_violations

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ORDERS = 1_000
CLIENTS = 24
SKUS = ("CL-A", "CL-B", "CL-C", "CL-D")
STREAM = "BACKORDER_INTAKE"


def _body(n: int) -> bytes:
    return json.dumps(
        {
            "channel": "web",
            "external_id": f"cl-{n}",
            "placed_at": "2026-01-05T10:00:00Z",
            "customer": {"id": f"c-{n % 50}", "email": "c@example.com"},
            "lines": [{"sku": SKUS[n % len(SKUS)], "quantity": 1 + n % 3}],
        }
    ).encode()


async def _stream_ready(settings: Settings, seconds: float) -> None:
    """The R3 stream, made once the cluster has elected its JetStream leader (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client = await connect(settings, "test")
            try:
                await ensure_stream(client.jetstream(timeout=3), settings)
                return
            finally:
                await client.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _leader(settings: Settings) -> str:
    client = await connect(settings, "test")
    try:
        info = await client.jetstream(timeout=5).stream_info(settings.broker_stream)
    finally:
        await client.close()
    assert info.cluster is not None and info.cluster.leader, info
    return info.cluster.leader


async def _post_all(
    bases: list[str], key: str, faults: Callable[[set[str]], Awaitable[None]]
) -> tuple[set[str], dict[int, int]]:
    """Every order posted until it is answered 202 (bounded), alternating the APIs; the
    ids answered, and the answers counted by status."""
    acked: set[str] = set()
    answers: dict[int, int] = {}
    gate = asyncio.Semaphore(CLIENTS)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def one(client: httpx.AsyncClient, n: int) -> None:
        deadline = time.monotonic() + 60
        async with gate:
            for attempt in range(200):
                assert time.monotonic() < deadline, f"cl-{n} never taken"
                base = bases[(n + attempt) % len(bases)]
                try:
                    answer = await client.post(
                        f"{base}/api/v1/channels/canonical/orders",
                        content=_body(n),
                        headers=headers,
                    )
                except httpx.TransportError:
                    answers[0] = answers.get(0, 0) + 1
                    await asyncio.sleep(0.2)
                    continue
                answers[answer.status_code] = answers.get(answer.status_code, 0) + 1
                if answer.status_code == 202:
                    acked.add(f"cl-{n}")
                    return
                assert answer.status_code == 503, answer.text
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=10) as client:
        chaos = asyncio.create_task(faults(acked))
        await asyncio.gather(*(one(client, n) for n in range(ORDERS)))
        await asyncio.wait_for(chaos, 30)
    return acked, answers


def test_a_three_node_cluster_loses_its_leader_and_a_consumer_and_no_order_is_lost(
    tmp_path: Path, processes: Processes, postgres_databases: object
) -> None:
    started = time.monotonic()
    url = postgres_databases.create()  # type: ignore[attr-defined]
    with nats_cluster(tmp_path) as nodes:
        urls = ",".join(node.url for node in nodes)
        env = {
            "BACKORDER_BROKER_URL": urls,
            "BACKORDER_BROKER_REPLICAS": "3",
            "BACKORDER_BROKER_TIMEOUT_SECONDS": "2",
            "BACKORDER_BROKER_ACK_WAIT_SECONDS": "4",
        }
        settings = Settings(database_url=url, broker_url=urls, broker_replicas=3)
        apis = [processes.start(url, "serve", "--port", str(free_port()), env=env) for _ in "ab"]
        consumers = [
            processes.start(url, "intake", "consume", "--batch", "20", env=env) for _ in "ab"
        ]
        app = Backorder.open(settings)
        try:
            for sku in SKUS:
                add_product(app, product(sku))
                set_stock(app, sku, 300)
        finally:
            app.close()
        key = make_keys(url)["channel"]
        asyncio.run(_stream_ready(settings, 30))
        bases = [_base_of(process.args) for process in apis]  # type: ignore[arg-type]
        for base in bases:
            wait_until_healthy(base, 60)
        phases = {"up": round(time.monotonic() - started, 1)}

        killed: list[str] = []

        async def faults(acked: set[str]) -> None:
            while len(acked) < ORDERS // 4:
                await asyncio.sleep(0.05)
            leader = await _leader(settings)
            (node,) = [n for n in nodes if n.name == leader]
            node.kill()
            while len(acked) < ORDERS // 2:
                await asyncio.sleep(0.05)
            consumers[0].send_signal(signal.SIGKILL)
            killed.append(leader)

        acked, answers = asyncio.run(_post_all(bases, key, faults))
        assert len(acked) == ORDERS, answers
        phases["posted"] = round(time.monotonic() - started, 1)
        engine = create_engine(normalise_url(url))
        try:

            def placed() -> dict[str, int]:
                with engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            "SELECT external_id, COUNT(*) FROM orders WHERE channel = 'web' "
                            "GROUP BY external_id"
                        )
                    ).all()
                return {row[0]: row[1] for row in rows}

            wait_for(lambda: acked <= set(placed()), 60, "every order answered 202 placed")
            phases["placed"] = round(time.monotonic() - started, 1)
            for consumer in consumers[1:]:
                consumer.send_signal(signal.SIGTERM)
                consumer.wait(timeout=20)
            counts = placed()
            with engine.connect() as conn:
                stored = dict(
                    conn.execute(
                        text("SELECT state, COUNT(*) FROM intake_payloads GROUP BY state")
                    ).all()
                )
        finally:
            engine.dispose()
        # each delivery stored once, though messages were delivered again (the killed
        # consumer's, those in flight when the leader died): the stream deduplicated the
        # clients' retries, the database the redeliveries
        assert stored == {"accepted": ORDERS}, stored
        assert set(counts) == acked  # none lost, none made up
        assert set(counts.values()) == {1}  # each exactly once
        assert find_violations(url) == []
        assert "Traceback" not in processes.log_of(consumers[1])
        new_leader = asyncio.run(_leader(_without(settings, nodes, killed[0])))
        report = {
            "orders": len(acked),
            "answers": answers,
            "killed_leader": killed[0],
            "new_leader": new_leader,
            "seconds": round(time.monotonic() - started, 1),
            "phases": phases,
        }
        print(json.dumps(report))
        assert new_leader != killed[0]


def _base_of(args: list[str]) -> str:
    return f"http://127.0.0.1:{args[args.index('--port') + 1]}"


def _without(settings: Settings, nodes: list[NatsServer], name: str) -> Settings:
    alive = ",".join(node.url for node in nodes if node.name != name)
    return settings.model_copy(update={"broker_url": alive})
