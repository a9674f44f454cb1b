"""Idempotency-Key against a real server on PostgreSQL: a server killed mid-request leaves
its key to be taken over once the lease lapses, and a database that is down is a 503."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backorder.store.db import Database
from tests.api.live import BACKORDER, cli, free_port, make_keys, wait_until_healthy
from tests.conftest import PostgresDatabases

pytestmark = pytest.mark.postgres
LEASE_SECONDS = 3


@contextmanager
def serve(
    url: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`backorder serve` on `url`; the process and its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [BACKORDER, "--db", url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | (env or {}),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def _until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_a_key_left_pending_by_a_killed_server_is_taken_over_once_its_lease_lapses(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.create()
    cli(url, "product", "add", "HELD", "--name", "Held", "--price", "1")
    key = make_keys(url)["ops"]
    database = Database(url)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "receipt-PO-9"}
    receipt = {"qty": 5, "ref": "PO-9"}
    env = {"BACKORDER_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS)}
    try:
        with database.engine.connect() as holder, serve(url, env) as (process, base):
            # Hold the product's row: the receipt claims its key, then waits for the lock.
            holder.execute(text("SELECT id FROM products WHERE sku = 'HELD' FOR UPDATE"))
            hung = threading.Thread(
                target=lambda: _post(f"{base}/api/v1/stock/HELD/receipts", receipt, headers),
                daemon=True,
            )
            hung.start()
            _until(lambda: _waiting_on_a_lock(database), 20, "the receipt waits for the row")
            assert _key_states(database) == ["pending"]
            os.kill(process.pid, signal.SIGKILL)  # mid-request, key claimed, nothing applied
            process.wait(timeout=10)
            holder.rollback()
        hung.join(timeout=30)
        with serve(url, env) as (_, base):
            answers = []
            deadline = time.monotonic() + LEASE_SECONDS + 20
            while time.monotonic() < deadline:
                answer = httpx.post(
                    f"{base}/api/v1/stock/HELD/receipts", json=receipt, headers=headers
                )
                answers.append(answer)
                if answer.status_code != 409:
                    break
                assert answer.json()["type"] == "/problems/idempotency-in-progress"
                time.sleep(0.5)
            assert answers[-1].status_code == 200, answers[-1].text
            assert answers[-1].json()["on_hand"] == 5
            again = httpx.post(f"{base}/api/v1/stock/HELD/receipts", json=receipt, headers=headers)
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == answers[-1].json()
            stock = httpx.get(f"{base}/api/v1/stock/HELD", headers=headers).json()
            assert stock["on_hand"] == 5  # received once
    finally:
        database.dispose()


def _post(url: str, body: Any, headers: dict[str, str]) -> None:
    with contextlib.suppress(httpx.TransportError):  # the server is killed under it
        httpx.post(url, json=body, headers=headers, timeout=60)


def _waiting_on_a_lock(database: Database) -> bool:
    with database.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def _key_states(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        return list(conn.execute(text("SELECT state FROM idempotency_keys")).scalars())


class Proxy:
    """A TCP relay on loopback standing between the server and PostgreSQL, so that the test
    can take the database away from the server (and give it back) without stopping it."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.running = threading.Event()

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.running.set()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def stop(self) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=5)
        for sock in [self.listener, *self.sockets]:
            if sock is not None:
                sock.close()
        self.sockets, self.listener = [], None

    def _accept(self) -> None:
        assert self.listener is not None
        while self.running.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(self.upstream, timeout=5)
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        while self.running.is_set():
            try:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
            except (OSError, ValueError):
                return


def test_a_post_with_an_idempotency_key_while_postgresql_is_down_is_a_503(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.create()
    cli(url, "product", "add", "DOWN", "--name", "Down", "--price", "1")
    key = make_keys(url)["ops"]
    direct = Database(url)
    host = direct.engine.url.host or "127.0.0.1"
    proxy = Proxy((host, direct.engine.url.port or 5432))
    proxy.start()
    relayed = direct.engine.url.set(host="127.0.0.1", port=proxy.port)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "receipt-while-down"}
    try:
        with serve(relayed.render_as_string(hide_password=False)) as (_, base):
            receipts = f"{base}/api/v1/stock/DOWN/receipts"
            assert httpx.get(f"{base}/api/v1/stock/DOWN", headers=headers).status_code == 200
            proxy.stop()
            down = httpx.post(receipts, json={"qty": 2}, headers=headers, timeout=30)
            assert down.status_code == 503, down.text
            assert down.json()["type"] == "/problems/database-unavailable"
            assert down.headers["retry-after"] == "1"
            proxy.start()
            back = _until(
                lambda: (
                    answer
                    if (
                        answer := httpx.post(receipts, json={"qty": 2}, headers=headers)
                    ).status_code
                    != 503
                    else None
                ),
                30,
                "the server reaches the database again",
            )
            assert back.status_code == 200, back.text
            assert back.json()["on_hand"] == 2
    finally:
        proxy.stop()
        direct.dispose()
