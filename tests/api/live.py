"""A real `backorder serve` process on a free port, and the calls a client makes to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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
    done = subprocess.run(
        [BACKORDER, "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        input=stdin,
    )
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
    """`backorder serve` on the database at `url`; yields the base URL once it answers.
    With `log`, what the server prints (its access log too) goes to that file."""
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
