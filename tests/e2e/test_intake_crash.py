"""Kill `backorder ingest` in the middle of a delivery (SIGKILL: no cleanup at all), then
drain: every payload that was accepted is placed exactly once, none is lost."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from backorder.store.db import normalise_url
from backorder.store.tables import intake_payloads, orders
from tests.e2e.test_cli import BACKORDER, run

COUNT = 300


def order(number: int) -> dict[str, object]:
    return {
        "channel": "web",
        "external_id": f"crash-{number}",
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": f"c-{number}", "email": f"c{number}@example.com"},
        "lines": [{"sku": "WIDGET-BLUE", "quantity": 1 + number % 3}],
    }


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_killed_ingest_is_finished_by_drain_exactly_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        db = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        db = request.getfixturevalue("postgres_databases").create()
    run(db, "product", "add", "WIDGET-BLUE", "--name", "Blue", "--price", "9.99")
    run(db, "stock", "receive", "WIDGET-BLUE", "100")
    delivery = tmp_path / "orders.json"
    delivery.write_text(json.dumps([order(n) for n in range(COUNT)]))
    engine = create_engine(normalise_url(db))

    def count(*where: object) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(intake_payloads).where(*where)
                ).scalar_one()
            )

    process = subprocess.Popen(
        [BACKORDER, "--db", db, "ingest", "canonical", str(delivery)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if count(intake_payloads.c.state == "accepted") >= 20:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert count() == COUNT  # the delivery was stored whole before any was processed
    left = count(intake_payloads.c.state == "pending")
    assert left > 0, "the ingest finished before it was killed"

    drained = json.loads(run(db, "intake", "drain", "--json").stdout)
    assert len(drained["accepted"]) == left
    assert count(intake_payloads.c.state == "accepted") == COUNT
    with engine.connect() as conn:
        placed = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        refs = conn.execute(text("SELECT count(DISTINCT order_ref) FROM intake_payloads")).scalar()
    engine.dispose()
    assert placed == refs == COUNT
