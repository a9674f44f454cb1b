"""The worker against real faults, in real processes: it carries on after its database
restarts the hard way, a server and a worker started before their database wait for it, and
two workers sharing a slow subscriber send each webhook once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from functools import partial

import pytest

from tests.api.live import BACKORDER, cli, healthy, wait_until_healthy
from tests.faults.conftest import PrivatePostgres, Processes, Receiver, wait_for
from tests.mail import free_port

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def orders(first: int, count: int) -> str:
    return json.dumps(
        [
            {
                "channel": "web",
                "external_id": str(n),
                "placed_at": "2026-12-01T10:00:00Z",
                "customer": {"id": f"c-{n}", "email": f"{n}@example.com"},
                "lines": [{"sku": "WIDGET-BLUE", "quantity": 1}],
            }
            for n in range(first, first + count)
        ]
    )


def test_the_worker_carries_on_after_its_database_restarts(
    private_postgres: PrivatePostgres, receiver: Receiver, processes: Processes
) -> None:
    url = private_postgres.migrated()
    cli(url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    cli(url, "webhook", "add", receiver.url, "--events", "order_accepted")
    worker = processes.start(url, "worker", "--interval", "0.2")
    cli(url, "order", "place", "-", stdin=orders(1, 1))
    wait_for(lambda: len(receiver.answered_ok) == 1, 30, "the first order's webhook")

    private_postgres.stop_immediately()
    time.sleep(3)  # the worker's passes fail meanwhile
    assert worker.poll() is None, processes.log_of(worker)
    private_postgres.start()
    cli(url, "order", "place", "-", stdin=orders(2, 1))
    wait_for(lambda: len(receiver.answered_ok) == 2, 60, "the webhook of an order placed after")

    assert worker.poll() is None, processes.log_of(worker)
    assert "database unavailable" in processes.log_of(worker)
    assert set(receiver.posts.values()) == {1}
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def test_a_server_and_a_worker_started_before_their_database_wait_for_it(
    private_postgres: PrivatePostgres, receiver: Receiver, processes: Processes
) -> None:
    url = private_postgres.migrated()
    cli(url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    cli(url, "webhook", "add", receiver.url, "--events", "order_accepted")
    private_postgres.stop_immediately()
    # a one-shot command says so at once
    refused = subprocess.run(
        [BACKORDER, "--db", url, "order", "list"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "connection" in refused.stderr, refused.stderr
    port = free_port()
    server = processes.start(url, "serve", "--port", str(port))
    worker = processes.start(url, "worker", "--interval", "0.2")
    for name, started in (("the server", server), ("the worker", worker)):
        wait_for(  # each finds the database away, however slow the machine
            partial(lambda p: "database unavailable at start" in processes.log_of(p), started),
            60,
            f"{name} to find the database away",
        )
    assert server.poll() is None, processes.log_of(server)
    assert worker.poll() is None, processes.log_of(worker)
    assert not healthy(f"http://127.0.0.1:{port}")
    private_postgres.start()
    wait_until_healthy(f"http://127.0.0.1:{port}", 60)
    cli(url, "order", "place", "-", stdin=orders(1, 1))
    wait_for(lambda: len(receiver.answered_ok) == 1, 60, "the webhook of an order placed after")
    for process in (server, worker):
        assert process.poll() is None, processes.log_of(process)
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then ends by the signal it was sent
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), processes.log_of(process)


def test_two_workers_and_a_slow_subscriber_send_each_webhook_once(
    db_url: str, receiver: Receiver, processes: Processes
) -> None:
    receiver.delay = 0.4  # 20 webhooks take one worker 8 s: longer than the 5 s lease
    cli(db_url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    cli(db_url, "webhook", "add", receiver.url, "--events", "order_accepted")
    cli(db_url, "order", "place", "-", stdin=orders(1, 20))
    env = {
        "BACKORDER_NOTIFY_LEASE_SECONDS": "5",
        "BACKORDER_WEBHOOK_TIMEOUT_SECONDS": "2",
        "BACKORDER_SMTP_TIMEOUT_SECONDS": "1",
    }
    workers = [processes.start(db_url, "worker", "--interval", "0.1", env=env) for _ in range(2)]

    wait_for(lambda: len(receiver.answered_ok) == 20, 90, "every webhook answered")
    time.sleep(6)  # past a lease: a claim that lapsed would be sent again by now
    assert len(receiver.posts) == 20
    twice = {webhook_id: n for webhook_id, n in receiver.posts.items() if n > 1}
    assert twice == {}, twice
    for worker in workers:
        assert worker.poll() is None, processes.log_of(worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
