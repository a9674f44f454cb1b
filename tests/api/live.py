"""A real API server on a free port (uvicorn in a thread, or a `backorder serve` process), and
the calls a client makes to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
import uvicorn
from typer.testing import CliRunner

from backorder.api.app import create_app
from backorder.cli import app as backorder_cli
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder

BACKORDER = str(Path(sys.executable).parent / "backorder")


@dataclass(frozen=True)
class Server:
    base: str
    keys: dict[str, str]
    db_url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(url: str, *args: str, stdin: str | None = None) -> str:
    """What `backorder --db URL ARGS` prints, run in this process by Typer's runner (a
    process per call cost most of a second of start-up); a failure fails the test."""
    done = CliRunner().invoke(backorder_cli, ["--db", url, *args], input=stdin)
    assert done.exception is None or isinstance(done.exception, SystemExit), repr(done.exception)
    assert done.exit_code == 0, done.stderr
    return done.stdout


def call(base: str, key: str | None, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, base + path, json=body, headers=headers, timeout=30)


def make_keys(url: str) -> dict[str, str]:
    """A key of every role (made in this process: four commands would cost seconds)."""
    app = Backorder.open(Settings(database_url=url))
    try:
        return {role.value: create_key(app, role).key for role in Role}
    finally:
        app.close()


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_until_healthy(base: str, seconds: float = 30) -> None:
    """Wait for a server that is starting to answer /healthz."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if healthy(base):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start within {seconds:g} s")


@contextmanager
def serving(url: str, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """The API on the database at `url`, served by uvicorn on a free port; yields the base
    URL once it answers. It runs in a thread of this process: a `backorder serve` process
    per test module and backend cost seconds of start-up each (over a minute of the suite).
    With `log`, it is a real `backorder serve` process, whose output (its access log too)
    goes to that file."""
    if log is not None:
        with serving_process(url, env, log) as base:
            yield base
        return
    with patch.dict(os.environ, {"BACKORDER_DATABASE_URL": url} | (env or {})):
        app = Backorder.open(Settings())
    port = free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"serve-{port}", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.close()


@contextmanager
def serving_process(
    url: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """`backorder serve` on the database at `url`, as a process of its own; yields the base
    URL once it answers. With `log`, what the server prints goes to that file."""
    port = free_port()
    output = log.open("wb") if log is not None else None
    process = subprocess.Popen(
        [BACKORDER, "--db", url, "serve", "--port", str(port)],
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
        env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if output is not None:
            output.close()
