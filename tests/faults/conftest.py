"""What the fault-injection tests stand on: a PostgreSQL server of the test's own (so it can
be stopped the hard way without touching anyone else's), a webhook receiver that can be made
slow, failing or hanging and counts every POST per webhook-id, and `backorder` processes to
start and kill."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from backorder.store.db import Database
from backorder.store.migrate import upgrade
from tests.api.live import BACKORDER, free_port

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on a free loopback port, for one test."""

    def __init__(self) -> None:
        if not PG_BIN:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = PG_BIN[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="backorder-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        as_root = os.geteuid() == 0  # initdb refuses root: the cluster is postgres's then
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop_immediately(self) -> None:
        """Stop the way a crash does: no checkpoint, every connection cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def migrated(self) -> str:
        database = Database(self.url)
        upgrade(database)
        database.dispose()
        return self.url

    def count(self, sql: str) -> int:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        server = PrivatePostgres()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a private PostgreSQL server could not start: {error}")
        pytest.skip(f"a private PostgreSQL server could not start: {error}")
    try:
        yield server
    finally:
        server.close()


@dataclass
class Receiver:
    """A webhook endpoint on loopback. `delay` seconds before each answer; `status` the
    answer; `hang` holds every request until cleared. Counts POSTs per webhook-id, and the
    2xx answers the sender could still read (given within `sender_timeout` of the POST),
    with when each came (time.monotonic())."""

    delay: float = 0.0
    status: int = 204
    sender_timeout: float = 10.0
    hang: threading.Event = field(default_factory=threading.Event)
    posts: Counter[str] = field(default_factory=Counter)
    answered_ok: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str, str]] = field(default_factory=list)  # (at, id, what)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def start(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                webhook_id = self.headers.get("webhook-id") or "?"
                with receiver.lock:
                    receiver.posts[webhook_id] += 1
                    receiver.timeline.append((arrived, webhook_id, "post"))
                deadline = arrived + 60
                while receiver.hang.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(receiver.delay)
                status = receiver.status
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    return  # the sender gave up
                answered = time.monotonic()
                if 200 <= status < 300 and answered - arrived < receiver.sender_timeout:
                    with receiver.lock:
                        receiver.answered_ok[webhook_id] += 1
                        receiver.timeline.append((answered, webhook_id, "ok"))

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    server = hook.start()
    try:
        yield hook
    finally:
        hook.hang.clear()
        server.shutdown()
        server.server_close()


class Processes:
    """`backorder` processes a test starts; each logs to a file, all are killed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[subprocess.Popen[bytes], Path] = {}

    def start(
        self, db_url: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        path = self.folder / f"{args[0]}-{len(self.running)}.log"
        with path.open("wb") as log:
            process = subprocess.Popen(
                [BACKORDER, "--db", db_url, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | (env or {}),
                cwd=self.folder,
            )
        self.running[process] = path
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return self.running[process].read_text(errors="replace")

    def close(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.close()


def wait_for(condition: Any, seconds: float, what: str) -> None:
    """Poll until `condition()` holds, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")
