"""The fault-injection suite: a shop under load while its processes are killed, its database
stops the hard way and comes back, and its webhook subscriber fails, hangs, recovers and
turns slow. Two API servers and two workers share one database; clients place, cancel and
ship orders and receive stock through them, retrying with the same Idempotency-Key as a
real client would; CLI commands are killed mid-way.

Afterwards, by SQL and by what the subscriber saw:
- the invariants (line conservation, no oversell, queue order, one order per reference,
  every change explained by its events: tests/integration/invariants.py);
- every order acknowledged to a client is in the database;
- every event reached the subscriber, as one webhook-id, and its delivery is recorded sent;
- no webhook-id was sent again after its 2xx unless its sender died (or lost its database)
  between the 2xx and recording it;
- no 500 ever, and no 5xx at all once everything recovered.

The counts go to test-artifacts/faults-<backend>.json (and to stdout with -s)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, create_engine, text

from backorder.store.db import normalise_url
from tests.api.live import BACKORDER, cli, free_port, make_keys, wait_until_healthy
from tests.faults.conftest import PrivatePostgres, Processes, Receiver, wait_for
from tests.integration.invariants import find_violations

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SKUS = ("STORM-A", "STORM-B", "STORM-C")
CLIENTS = 4
LOAD_SECONDS = 30  # faults in the first 20, then 10 s of recovered service
RECOVERED_AFTER = 22.0  # seconds from the start: every fault is over and settled by then
SENDER_TIMEOUT = 1.5
ENV = {
    "BACKORDER_NOTIFY_LEASE_SECONDS": "5",
    "BACKORDER_WEBHOOK_TIMEOUT_SECONDS": str(SENDER_TIMEOUT),
    "BACKORDER_SMTP_TIMEOUT_SECONDS": "1",
    "BACKORDER_NOTIFY_RETRY_BASE_SECONDS": "0.5",
    "BACKORDER_NOTIFY_RETRY_CAP_SECONDS": "2",
    "BACKORDER_NOTIFY_MAX_ATTEMPTS": "100",
    "BACKORDER_API_KEY_CACHE_SECONDS": "60",
    # a key left pending by a killed server is taken over by the retry after this long
    "BACKORDER_IDEMPOTENCY_LEASE_SECONDS": "5",
}


@dataclass
class Shop:
    """The running service: its servers and workers, each restartable."""

    db_url: str
    processes: Processes
    ports: list[int] = field(default_factory=list)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    deaths: list[float] = field(default_factory=list)  # when a sender died or lost its db

    def start_server(self, index: int) -> None:
        process = self.processes.start(
            self.db_url, "serve", "--port", str(self.ports[index]), env=ENV
        )
        self.servers[index] = process

    def start_worker(self, index: int) -> None:
        self.workers[index] = self.processes.start(
            self.db_url, "worker", "--interval", "0.2", env=ENV
        )

    def kill_worker(self, index: int) -> None:
        self.deaths.append(time.monotonic())
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(timeout=10)

    def kill_server(self, index: int) -> None:
        self.servers[index].send_signal(signal.SIGKILL)
        self.servers[index].wait(timeout=10)

    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]


@dataclass
class Ledger:
    """What the clients saw: every answer (when, status), and the orders acknowledged."""

    answers: list[tuple[float, int]] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # 4xx problem types
    acknowledged: set[str] = field(default_factory=set)
    gave_up: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, status: int) -> None:
        with self.lock:
            self.answers.append((time.monotonic(), status))


def order_body(client: int, number: int, rng: random.Random) -> dict[str, Any]:
    return {
        "channel": "storm",
        "external_id": f"{client}-{number}",
        "placed_at": "2026-12-01T10:00:00Z",
        "customer": {"id": f"c-{client}-{number % 7}", "email": f"c{client}@example.com"},
        "lines": [
            {"sku": sku, "quantity": rng.randint(1, 3)}
            for sku in rng.sample(SKUS, rng.randint(1, 2))
        ],
    }


def client_loop(client: int, shop: Shop, key: str, ledger: Ledger, until: float, seed: int) -> None:
    """Place, cancel and ship orders and receive stock through any server, until `until`;
    a request that got no answer or a 503 is sent again (same key, same body) for 20 s."""
    rng = random.Random(seed)
    mine: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=10) as http:
        number = 0
        while time.monotonic() < until:
            number += 1
            roll = rng.random()
            if roll < 0.65 or not mine:
                path, body = "/api/v1/orders", order_body(client, number, rng)
            elif roll < 0.8:
                path, body = f"/api/v1/orders/storm:{rng.choice(mine)}/cancel", {}
            elif roll < 0.88:
                path, body = f"/api/v1/orders/storm:{rng.choice(mine)}/ship", {"tracking": "T1"}
            else:
                sku = rng.choice(SKUS)
                path, body = f"/api/v1/stock/{sku}/receipts", {"qty": rng.randint(1, 6)}
            status = send(
                http, shop, path, body, headers | {"Idempotency-Key": uuid.uuid4().hex}, ledger
            )
            if path == "/api/v1/orders" and status in (200, 201):
                with ledger.lock:
                    ledger.acknowledged.add(f"storm:{body['external_id']}")
                mine.append(str(body["external_id"]))
            elif status is None or status >= 500:
                ledger.gave_up[path.split("/")[3]] += 1


def send(
    http: httpx.Client,
    shop: Shop,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    ledger: Ledger,
) -> int | None:
    """One request as a careful client makes it: retried on no answer, a 503 or a 409
    "in progress", with the same Idempotency-Key, for at most 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        base = random.choice(shop.bases())
        try:
            answer = http.post(base + path, json=body, headers=headers)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        ledger.note(answer.status_code)
        if 400 <= answer.status_code < 500:
            kind = answer.json().get("type", "?") if answer.content else "?"
            with ledger.lock:
                ledger.refusals[f"{answer.status_code} {kind}"] += 1
        if answer.status_code == 503 or (
            answer.status_code == 409
            and answer.headers.get("content-type", "").startswith("application/problem")
            and "in-progress" in answer.json().get("type", "")
        ):
            time.sleep(0.3)
            continue
        return answer.status_code
    return None


def kill_a_command(shop: Shop, rng: random.Random, number: int) -> None:
    """A CLI command killed at a random point: a receipt, or an order placed."""
    if rng.random() < 0.5:
        args, stdin = ["stock", "receive", rng.choice(SKUS), str(rng.randint(1, 4))], None
    else:
        one = order_body(99, number, rng)
        args, stdin = ["order", "place", "-"], json.dumps(one).encode()
    process = subprocess.Popen(
        [BACKORDER, "--db", shop.db_url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if stdin is not None and process.stdin is not None:
        process.stdin.write(stdin)
    if process.stdin is not None:
        process.stdin.close()
    time.sleep(rng.uniform(0.05, 0.6))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_invariants_hold_through_a_storm_of_faults(
    backend: str,
    tmp_path: Path,
    receiver: Receiver,
    processes: Processes,
    request: pytest.FixtureRequest,
) -> None:
    rng = random.Random(20261206)
    database: PrivatePostgres | None = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'storm.db'}"
    else:
        database = request.getfixturevalue("private_postgres")
        url = database.migrated()
    for sku in SKUS:
        cli(url, "product", "add", sku, "--name", sku.title(), "--price", "12.50")
        cli(url, "stock", "receive", sku, "20")
    subscription = json.loads(cli(url, "webhook", "add", receiver.url, "--json"))
    keys = make_keys(url)
    receiver.sender_timeout = SENDER_TIMEOUT

    shop = Shop(url, processes, ports=[free_port(), free_port()])
    shop.servers = [None, None]  # type: ignore[list-item]
    shop.workers = [None, None]  # type: ignore[list-item]
    for index in range(2):
        shop.start_server(index)
        shop.start_worker(index)
    for base in shop.bases():
        wait_until_healthy(base)

    ledger = Ledger()
    started = time.monotonic()
    until = started + LOAD_SECONDS
    clients = [
        threading.Thread(
            target=client_loop,
            args=(n, shop, keys["ops"], ledger, until, rng.randrange(1 << 30)),
            daemon=True,
        )
        for n in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()

    def at(second: float) -> None:
        time.sleep(max(0.0, started + second - time.monotonic()))

    at(2)
    receiver.status = 500  # the subscriber fails ...
    at(4)
    receiver.status = 204
    shop.kill_worker(0)  # a worker dies mid-pass
    at(5)
    shop.start_worker(0)
    at(6)
    shop.kill_server(0)  # a server dies mid-request
    at(7)
    shop.start_server(0)
    receiver.hang.set()  # ... hangs ...
    at(9)
    receiver.hang.clear()  # ... and recovers
    for number in range(3):
        kill_a_command(shop, rng, number)
    if database is not None:
        at(11)
        shop.deaths.append(time.monotonic())
        database.stop_immediately()  # the database stops the way a crash does
        at(13)
        database.start()
        shop.deaths.append(time.monotonic())
    at(14)
    shop.kill_worker(1)
    at(15)
    shop.start_worker(1)
    shop.kill_server(1)
    at(16)
    shop.start_server(1)
    receiver.delay = 0.3  # two workers, a slow subscriber, to the end of the load
    for thread in clients:
        thread.join(timeout=LOAD_SECONDS + 60)
    assert not any(thread.is_alive() for thread in clients)
    receiver.delay = 0.0

    engine = create_engine(normalise_url(url))

    def unsent() -> int:
        """Events the dispatcher has not planned yet, and messages planned but not sent."""
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM events WHERE id > "
                        "(SELECT position FROM event_consumers WHERE name = 'notifier')) + "
                        "(SELECT count(*) FROM deliveries WHERE state IN ('due', 'sending'))"
                    )
                ).scalar_one()
            )

    wait_for(lambda: unsent() == 0, 120, "every event planned and every message sent")
    for worker in shop.workers:
        assert worker.poll() is None, processes.log_of(worker)
    for server in shop.servers:
        assert server.poll() is None, processes.log_of(server)

    with engine.connect() as conn:
        placed = {
            f"{channel}:{external_id}"
            for channel, external_id in conn.execute(
                text("SELECT channel, external_id FROM orders")
            )
        }
        after = conn.execute(  # the subscription gets the events written after it was made
            text("SELECT after_event FROM webhook_subscriptions WHERE id = :sub"),
            {"sub": subscription["id"]},
        ).scalar_one()
        event_ids = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM events WHERE id > :after ORDER BY id"), {"after": after}
            )
        ]
        undelivered = conn.execute(
            text(
                "SELECT e.id FROM events e WHERE e.id > :after AND NOT EXISTS (SELECT 1 "
                "FROM deliveries d WHERE d.event_id = e.id AND d.subscription_id = :sub "
                "AND d.state = 'sent')"
            ),
            {"sub": subscription["id"], "after": after},
        ).all()
        told = conn.execute(  # what became of them, for the failure message
            text(
                "SELECT e.id, e.type, e.occurred_at, d.state, d.attempts, d.last_error "
                "FROM events e LEFT JOIN deliveries d ON d.event_id = e.id "
                "AND d.subscription_id = :sub WHERE e.id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"sub": subscription["id"], "ids": [row[0] for row in undelivered] or [0]},
        ).all()
        dead = conn.execute(text("SELECT count(*) FROM deliveries WHERE state = 'dead'")).scalar()
        skipped = conn.execute(text("SELECT count(*) FROM skipped_events")).scalar()
    engine.dispose()

    violations = find_violations(url)
    missing = sorted(ledger.acknowledged - placed)
    ids = {f"msg_{event}_{subscription['id']}" for event in event_ids}
    not_received = sorted(ids - set(receiver.answered_ok))
    repeats, excused = _repeats_after_2xx(receiver, shop.deaths)
    statuses = Counter(status for _, status in ledger.answers)
    recovered = started + RECOVERED_AFTER
    late_5xx = [s for at_, s in ledger.answers if s >= 500 and at_ >= recovered]
    summary = {
        "backend": backend,
        "requests_answered": len(ledger.answers),
        "statuses": dict(sorted(statuses.items())),
        "refusals": dict(ledger.refusals.most_common()),
        "orders_acknowledged": len(ledger.acknowledged),
        "orders_in_database": len(placed),
        "acknowledged_missing": len(missing),
        "requests_given_up": dict(ledger.gave_up),
        "events": len(event_ids),
        "webhook_posts": sum(receiver.posts.values()),
        "webhook_ids": len(receiver.posts),
        "events_not_delivered": len(undelivered) + len(not_received),
        "sent_again_after_2xx": repeats,
        "of_which_sender_died_first": excused,
        "dead_messages": dead,
        "skipped_events": skipped,
        "invariant_violations": len(violations),
        "5xx_after_recovery": len(late_5xx),
        "worker_kills": 2,
        "server_kills": 2,
        "cli_kills": 3,
        "database_restarts": 1 if database is not None else 0,
    }
    artifacts = Path("test-artifacts")
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"faults-{backend}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))

    assert violations == [], violations
    assert missing == []
    assert undelivered == [] and not_received == [], (told, not_received[:10])
    assert repeats == excused, summary
    assert statuses[500] == 0, summary
    assert late_5xx == [], summary
    assert dead == 0 and skipped == 0, summary
    assert len(ledger.acknowledged) > 50, summary  # the load was real


def _repeats_after_2xx(receiver: Receiver, deaths: list[float]) -> tuple[int, int]:
    """POSTs of a webhook-id after its first 2xx, and how many of them a sender's death (or
    its database's) between that 2xx and the repeat explains."""
    first_ok: dict[str, float] = {}
    repeats = excused = 0
    for at, webhook_id, what in sorted(receiver.timeline):
        if what == "ok":
            first_ok.setdefault(webhook_id, at)
        elif webhook_id in first_ok:
            repeats += 1
            if any(first_ok[webhook_id] - 1 <= death <= at for death in deaths):
                excused += 1
    return repeats, excused
