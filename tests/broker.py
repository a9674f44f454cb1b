"""NATS servers a test starts for itself on free loopback ports (the `nats-server` binary of
this machine; never the one at 4222): one JetStream server, or a cluster of three. Every
start and stop is bounded in time."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backorder.broker.consumer import Until, consume
from backorder.services.broker_intake import Taken
from backorder.services.context import Backorder
from tests.mail import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def need_nats_server() -> None:
    if not Path(NATS_SERVER).exists():
        pytest.skip("no nats-server binary on this machine")


@dataclass
class NatsServer:
    """One nats-server process: started, stopped (the hard way too) and started again on
    the same port and store."""

    name: str
    port: int
    store: Path
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, seconds: float = 15) -> None:
        command = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        command += ["-sd", str(self.store), "-n", self.name, *self.extra]
        log = (self.store.parent / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server {self.name} did not listen within {seconds:g} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Gone at once, as a machine that loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def nats_server(folder: Path) -> Iterator[NatsServer]:
    need_nats_server()
    server = NatsServer("solo", free_port(), folder / "solo")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def nats_cluster(folder: Path, size: int = 3) -> Iterator[list[NatsServer]]:
    """`size` JetStream servers routed to each other as one cluster."""
    need_nats_server()
    routes = [free_port() for _ in range(size)]
    listing = ",".join(f"nats://127.0.0.1:{port}" for port in routes)
    servers = []
    for n, route in enumerate(routes):
        cluster = ["--cluster_name", "backorder", "--cluster", f"nats://127.0.0.1:{route}"]
        servers.append(
            NatsServer(f"n{n}", free_port(), folder / f"n{n}", [*cluster, "--routes", listing])
        )
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def consume_all(app: Backorder, seconds: float = 20) -> list[Taken]:
    """What one consumer takes until the stream has nothing more for it (bounded)."""
    taken: list[Taken] = []
    until = Until(deadline=time.monotonic() + seconds, idle_ends=True)
    asyncio.run(consume(app, 50, until, taken.append))
    return taken
