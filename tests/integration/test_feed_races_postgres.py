"""Races on PostgreSQL between orders and 3PL snapshots for the same SKU at two locations:
every snapshot is applied or skipped as the as_of rule says, never dead-lettered by a
deadlock, and the invariants per location hold after the race."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backorder.config import Settings
from backorder.services.context import Backorder
from backorder.services.ingest import ingest
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.products import add_product
from backorder.store.db import Database
from backorder.store.tables import intake_payloads, locations, stock_levels
from tests.conftest import _truncate
from tests.factories import order, product
from tests.integration.invariants import assert_invariants

pytestmark = [pytest.mark.postgres]

SKUS = ("BOLT", "NUT")
SNAPSHOTS = 12
ORDERS = 30
START = datetime(2026, 1, 10, 8, tzinfo=UTC)
TIMEOUT_S = 120


def snapshot(location: str, turn: int, rng: random.Random) -> str:
    items = [{"sku": sku, "on_hand": rng.randint(0, 6)} for sku in SKUS]
    as_of = (START + timedelta(minutes=turn)).isoformat()
    return json.dumps({"location": location, "as_of": as_of, "items": items})


def test_orders_and_snapshots_at_two_locations_keep_the_invariants(postgres_url: str) -> None:
    _truncate(postgres_url)
    setup = Backorder(Database(postgres_url), Settings(database_url=postgres_url))
    for sku in SKUS:
        add_product(setup, product(sku))
    add(setup, LocationIn("east", "East", "3pl", priority=1))
    add(setup, LocationIn("west", "West", "3pl", priority=2))
    setup.close()
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def worker(job: Callable[[Backorder], None]) -> Callable[[], None]:
        def run() -> None:
            app = Backorder(Database(postgres_url), Settings(database_url=postgres_url))
            try:
                barrier.wait(timeout=30)
                job(app)
            except BaseException as error:  # reported to the test below
                failures.append(error)
            finally:
                app.close()

        return run

    def buyer(app: Backorder) -> None:
        rng = random.Random(1)
        for n in range(ORDERS):
            place_order(app, order(f"o{n}", (rng.choice(SKUS), rng.randint(1, 2))))

    def three_pl(location: str, seed: int) -> Callable[[Backorder], None]:
        def feed(app: Backorder) -> None:
            rng = random.Random(seed)
            turns = list(range(SNAPSHOTS))
            rng.shuffle(turns)  # out of order: older ones come late and are skipped
            for turn in turns:
                [outcome] = ingest(app, "stock-json", snapshot(location, turn, rng))
                assert outcome.state == "accepted", outcome.reasons

        return feed

    threads = [
        threading.Thread(target=worker(job))
        for job in (buyer, three_pl("east", 2), three_pl("west", 3))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures
    database = Database(postgres_url)
    try:
        assert_invariants(database)
        with database.engine.connect() as conn:
            latest = set(
                conn.execute(
                    select(stock_levels.c.counted_as_of)
                    .join(locations, locations.c.id == stock_levels.c.location_id)
                    .where(locations.c.code.in_(("east", "west")))
                ).scalars()
            )
            states = set(conn.execute(select(intake_payloads.c.state)).scalars())
        assert latest == {START + timedelta(minutes=SNAPSHOTS - 1)}
        assert states == {"accepted"}
    finally:
        database.dispose()
