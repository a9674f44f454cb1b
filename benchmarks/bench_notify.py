"""Dispatch throughput: how fast the worker sends what the outbox calls for.

N orders that wait are placed (each is one customer e-mail, "backorder confirmed", and one
webhook, its order_accepted event). Then the worker plans and sends them, once with one
worker process and once with two, against a real SMTP server (aiosmtpd) and a real HTTP
receiver, both on loopback and started here. Beside each figure, the floor measured in the
same run: the same messages rendered and sent with no database (one smtplib connection;
one httpx client signing each body), which is what the senders cost by themselves.

    python benchmarks/bench_notify.py [--messages 10000] [--backend sqlite|postgresql|both]

Compare with the intake rate `bench_engine.py` and `bench_intake.py` print: the aim is that
dispatch keeps up with intake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from backorder.config import Settings
from backorder.domain.model import Customer, LineRequest, OrderRequest, OrderTerms, Product
from backorder.notify import email, webhooks
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.subscriptions import add_subscription

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Sink:
    """An SMTP server that counts what it takes."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


class Receiver(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with Receiver.lock:
            Receiver.count += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(smtp_port: int) -> Settings:
    return Settings(
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        mail_from="Bench Shop <orders@bench.example>",
        public_url="https://bench.example",
        status_update_days=[],
        notify_fold_seconds=0,
    )


def seed(url: str, settings: Settings, n: int, hook: str) -> None:
    app = Backorder.open(settings, url)
    add_product(app, Product("BENCH-1", "Bench", Decimal("9.99")))
    add_subscription(app, hook, ["order_accepted"])
    placed = datetime.now(UTC)
    requests = [
        OrderRequest(
            channel="web",
            external_id=str(i),
            placed_at=placed,
            customer=Customer(id=f"c-{i}", name=f"Customer {i}", email=f"c{i}@example.com"),
            currency="USD",
            terms=OrderTerms(),
            lines=(LineRequest("BENCH-1", 1),),
        )
        for i in range(n)
    ]
    for request in requests:
        place_order(app, request)
    app.close()


def work(url: str, smtp_port: int, deadline: float) -> int:
    """One worker process: plan and send until nothing is due (or the deadline)."""
    app = Backorder.open(settings_for(smtp_port), url)
    sent = 0
    idle = 0
    while time.monotonic() < deadline and idle < 3:
        plan(app)
        counts = send_due(app, limit=200)
        sent += counts.get("sent", 0)
        idle = 0 if counts else idle + 1
    app.close()
    return sent


def dispatch(url: str, smtp_port: int, workers: int, expected: int) -> tuple[float, int]:
    deadline = time.monotonic() + 900
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.starmap(work, [(url, smtp_port, deadline)] * workers)
    return time.perf_counter() - started, sum(results)


def floor(smtp_port: int, hook: str, n: int) -> tuple[float, float]:
    """The senders alone: (e-mails/s, webhooks/s)."""
    templates = email.Templates()
    session = email.Session(email.parse_smtp_url(f"smtp://127.0.0.1:{smtp_port}"), 20)
    payload = {
        "order_ref": "web:0",
        "customer": {"id": "c-0", "name": "Customer 0", "email": "c0@example.com"},
        "currency": "USD",
        "lines": [{"sku": "BENCH-1", "quantity": 1, "backordered": 1, "allocated": 0, "eta": None}],
        "placed_at": datetime.now(UTC).isoformat(),
    }
    started = time.perf_counter()
    for i in range(n):
        context = email.context_of([payload], "https://bench.example/x?token=t", 30, "Bench")
        subject, text, html = templates.render("backorder_confirmed", context)
        message = email.compose(
            "Bench Shop <orders@bench.example>", f"c{i}@example.com", subject, text, html,
            f"floor_{i}", "bench.example", None,
        )  # fmt: skip
        assert session.send(message).ok
    session.close()
    mails = n / (time.perf_counter() - started)
    secret = webhooks.new_secret()
    started = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for i in range(n):
            body = webhooks.body_of("order_accepted", datetime.now(UTC), i, payload)
            assert webhooks.post(client, hook, secret, f"floor_{i}", datetime.now(UTC), body).ok
    hooks = n / (time.perf_counter() - started)
    return mails, hooks


@contextmanager
def database(backend: str, pg_url: str, folder: str, name: str) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{os.path.join(folder, name + '.db')}"
        return
    import sqlalchemy as sa

    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    db = f"backorder_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{db}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def reachable(pg_url: str) -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(pg_url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception as error:  # any failure means: skip PostgreSQL
        print(f"PostgreSQL not reachable ({type(error).__name__}); SQLite only", file=sys.stderr)
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--messages", type=int, default=10_000, help="orders (each 1 e-mail, 1 webhook)"
    )
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BACKORDER_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.messages

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{http.server_address[1]}/hook"

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not reachable(args.postgres_url):
        backends.remove("postgresql")
    results: dict[str, Any] = {"messages_per_run": 2 * n}
    try:
        print(f"floor: {n} e-mails and {n} webhooks, no database", file=sys.stderr)
        mails, hooks = floor(smtp_port, hook, n)
        # the floor for the mix: one e-mail and one webhook per order, one after the other
        results["floor_messages_per_s"] = 2 / (1 / mails + 1 / hooks)
        results["floor_emails_per_s"] = mails
        results["floor_webhooks_per_s"] = hooks
        with tempfile.TemporaryDirectory() as folder:
            for backend in backends:
                for workers in (1, 2):
                    with database(backend, args.postgres_url, folder, f"n{workers}") as url:
                        print(f"{backend}: seeding {n} orders", file=sys.stderr)
                        seed(url, settings_for(smtp_port), n, hook)
                        before_mail, before_hooks = sink.count, Receiver.count
                        print(f"{backend}: dispatch, {workers} worker(s)", file=sys.stderr)
                        seconds, sent = dispatch(url, smtp_port, workers, 2 * n)
                        got = (sink.count - before_mail, Receiver.count - before_hooks)
                        if got != (n, n) or sent != 2 * n:
                            raise SystemExit(f"expected {n} of each, got {got} (sent {sent})")
                        results[f"{backend}_{workers}_workers_messages_per_s"] = 2 * n / seconds
    finally:
        controller.stop()
        http.shutdown()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    floor_rate = results["floor_messages_per_s"]
    print(
        f"\nDispatch of {n} e-mails + {n} webhooks (messages/s; floor: senders alone, no database)"
    )
    print(f"{'backend':<12} {'workers':>7} {'ours':>10} {'floor':>10} {'share of floor':>15}")
    for backend in backends:
        for workers in (1, 2):
            ours = results[f"{backend}_{workers}_workers_messages_per_s"]
            share = ours / floor_rate
            print(f"{backend:<12} {workers:>7} {ours:>10.1f} {floor_rate:>10.1f} {share:>14.0%}")
    print(f"floor by channel: e-mail {mails:.1f}/s, webhooks {hooks:.1f}/s")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
