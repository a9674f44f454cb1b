"""Races between real processes on PostgreSQL (DESIGN.md section 2: the invariants hold
"under any interleaving of concurrent requests and processes").

Every worker is a separate OS process (multiprocessing, 'spawn') that builds its own
engine, warms its connection up and then waits at a barrier, so the races start together.
Every loop is bounded and every join has a timeout; a worker that fails sends its
traceback back instead of results.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.config import Settings
from backorder.domain.errors import BackorderError
from backorder.domain.model import Customer, LineRequest, OrderRequest, OrderTerms
from backorder.services import transfers
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn
from backorder.services.locations import add as add_location
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.store.db import Database
from backorder.store.tables import events, order_lines, orders, products, stock_movements
from tests.factories import product
from tests.integration.invariants import assert_invariants, empty_database, opened, snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SKU = "LAST-UNITS"
OPENING_STOCK = 10
BUYERS = 4
ORDERS_PER_BUYER = 25
SHARED_ORDERS = 10  # delivered by every buyer: duplicate deliveries racing each other
CLERK_TURNS = 40
RECEIPTS = 8
TRANSFERS = 12
WATCHES = 10  # invariant checks on snapshots taken during the race
SAME_REF_ROUNDS = 20
OUTBOX_WRITERS = 4
OUTBOX_RECEIPTS = 100
OUTBOX_POLLS = 20_000
START_TIMEOUT_S = 60  # spawning a process imports the whole stack
RUN_TIMEOUT_S = 60


def request(
    external_id: str, customer: str, *lines: tuple[str, int], placed_at: datetime | None = None
) -> OrderRequest:
    return OrderRequest(
        channel="web",
        external_id=external_id,
        placed_at=placed_at or datetime.now(UTC),
        customer=Customer(id=customer, name=customer.title()),
        currency="EUR",
        terms=OrderTerms(),
        lines=tuple(LineRequest(sku, quantity) for sku, quantity in lines),
    )


def shared_order(number: int) -> OrderRequest:
    """The same order, identical in every delivery, whoever delivers it."""
    return request(
        f"shared-{number}",
        "shared",
        (SKU, 1 + number % 3),
        placed_at=datetime(2026, 1, 10, 9, number, tzinfo=UTC),
    )


# Worker roles. Each runs in its own process with its own Backorder and returns what
# it saw; `index` tells the workers of one role apart.


def buyer(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """Orders 1-3 units, own orders and shared ones shuffled together: (ref, created)."""
    rng = random.Random(index)
    deliveries = [
        request(f"buyer{index}-{n}", f"customer{index}", (SKU, rng.randint(1, 3)))
        for n in range(ORDERS_PER_BUYER)
    ] + [shared_order(n) for n in range(SHARED_ORDERS)]
    rng.shuffle(deliveries)
    start.wait(START_TIMEOUT_S)
    return [(delivery.ref, place_order(app, delivery).created) for delivery in deliveries]


def clerk(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """Cancels (a whole order or one unit of its line) and ships random orders as they
    appear: (what, done)."""
    rng = random.Random(100 + index)
    start.wait(START_TIMEOUT_S)
    done: list[tuple[str, bool]] = []
    for _ in range(CLERK_TURNS):
        with app.db.read() as uow:
            refs = [
                f"{c}:{e}"
                for c, e in uow.connection.execute(select(orders.c.channel, orders.c.external_id))
            ]
        if not refs:
            continue
        ref, action = rng.choice(refs), rng.choice(("cancel", "cancel_one", "ship"))
        try:
            if action == "cancel":
                cancel_order(app, ref)
            elif action == "cancel_one":
                cancel_order(app, ref, line_no=1, units=1)
            else:
                ship_order(app, ref)
        except BackorderError:  # nothing left to cancel, nothing ready to ship
            done.append((action, False))
        else:
            done.append((action, True))
    return done


def warehouse(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """Receives 1-3 units at a time, and twice counts the shelf (perhaps below allocated)."""
    rng = random.Random(200 + index)
    start.wait(START_TIMEOUT_S)
    for number in range(RECEIPTS):
        receive_stock(app, SKU, rng.randint(1, 3), ref=f"PO-{index}-{number}")
        if number % 4 == 3:
            set_stock(app, SKU, rng.randint(0, 6), ref=f"count-{index}-{number}")
    return [("receipts", True)]


def east_warehouse(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """The second location: receipts and counts at `east`, racing those at main."""
    rng = random.Random(300 + index)
    start.wait(START_TIMEOUT_S)
    for number in range(RECEIPTS):
        receive_stock(app, SKU, rng.randint(1, 3), ref=f"EAST-{number}", location="east")
        if number % 3 == 2:
            set_stock(app, SKU, rng.randint(0, 6), ref=f"east-count-{number}", location="east")
    return [("east receipts", True)]


def mover(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """Moves 1-3 units from `reserve` (takes no backorders) to main, and now and then from
    main to east: plans, ships (refused while the units are allocated), receives in parts,
    cancels what did not ship: (step, done)."""
    rng = random.Random(400 + index)
    start.wait(START_TIMEOUT_S)
    done: list[tuple[str, bool]] = []
    for number in range(TRANSFERS):
        way = ("main", "east") if number % 3 == 2 else ("reserve", "main")
        made = transfers.create(
            app, transfers.TransferIn(SKU, rng.randint(1, 3), *way, datetime.now(UTC).date())
        )
        try:
            transfers.ship(app, made["id"])
        except BackorderError:
            transfers.cancel(app, made["id"])
            done.append(("ship", False))
            continue
        done.append(("ship", True))
        if made["quantity"] > 1:
            transfers.receive(app, made["id"], 1)
        transfers.receive(app, made["id"])
    return done


def deliver_same_refs(app: Backorder, start: Barrier, sku: str) -> list[tuple[str, bool]]:
    """Round after round, every process delivers order race-N at the same moment."""
    seen = []
    for number in range(SAME_REF_ROUNDS):
        start.wait(START_TIMEOUT_S)
        placed = place_order(app, request(f"race-{number}", "racer", (sku, 1)))
        seen.append((placed.ref, placed.created))
    return seen


def same_ref_deliverer(app: Backorder, index: int, start: Barrier) -> list[tuple[str, bool]]:
    """Identical deliveries: they contend for the same product lock."""
    return deliver_same_refs(app, start, SKU)


def same_ref_deliverer_of_own_sku(
    app: Backorder, index: int, start: Barrier
) -> list[tuple[str, bool]]:
    """Deliveries that differ in their SKU: no product lock serialises them, only the
    unique constraint on the ref can keep the order single."""
    return deliver_same_refs(app, start, f"SKU-{index}")


def watcher(app: Backorder, index: int, start: Barrier) -> list[int]:
    """Checks every invariant on snapshots taken while the race runs."""
    start.wait(START_TIMEOUT_S)
    for _ in range(WATCHES):
        assert_invariants(app.db)
    return [WATCHES]


def receiver(app: Backorder, index: int, start: Barrier) -> list[int]:
    """Receives one unit at a time of its own SKU: one stock_received event per receipt,
    and no lock shared with the other receivers."""
    start.wait(START_TIMEOUT_S)
    for number in range(OUTBOX_RECEIPTS):
        receive_stock(app, f"SKU-{index}", 1, ref=f"PO-{index}-{number}")
    return []


def outbox_reader(app: Backorder, index: int, start: Barrier) -> list[int]:
    """Reads the outbox the way a subscriber resumes: events after the last id it saw.
    Stops after one more read once every expected event has been written."""
    count = select(func.count()).select_from(events)
    with app.db.read() as uow:
        expected = uow.connection.execute(count).scalar_one() + OUTBOX_WRITERS * OUTBOX_RECEIPTS
    seen: list[int] = []
    start.wait(START_TIMEOUT_S)
    for _ in range(OUTBOX_POLLS):
        with app.db.read() as uow:
            done = uow.connection.execute(count).scalar_one() >= expected
            last = seen[-1] if seen else 0
            seen.extend(
                uow.connection.execute(
                    select(events.c.id).where(events.c.id > last).order_by(events.c.id)
                ).scalars()
            )
        if done:
            break
    return seen


ROLES: dict[str, Callable[[Backorder, int, Barrier], list[Any]]] = {
    "buyer": buyer,
    "clerk": clerk,
    "warehouse": warehouse,
    "east_warehouse": east_warehouse,
    "mover": mover,
    "same_ref_deliverer": same_ref_deliverer,
    "same_ref_deliverer_of_own_sku": same_ref_deliverer_of_own_sku,
    "watcher": watcher,
    "receiver": receiver,
    "outbox_reader": outbox_reader,
}


def work(role: str, url: str, index: int, start: Barrier, results: Queue[Any]) -> None:
    """A worker process: its own engine (never inherited), one role, results or traceback."""
    app: Backorder | None = None
    try:
        app = Backorder(Database(url), Settings())
        with app.db.read():
            pass  # connect before the start, so the race is not a race to connect
        results.put((role, index, "ok", ROLES[role](app, index, start)))
    except BaseException:
        start.abort()  # release the others rather than leave them waiting
        results.put((role, index, "error", traceback.format_exc()))
    finally:
        if app is not None:
            app.close()


def race(url: str, workers: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """Start the workers together; return each one's results, failing on any error."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(workers))
    results: Queue[Any] = context.Queue()
    processes = [
        context.Process(
            target=work, args=(role, url, index, start, results), name=f"{role}-{index}"
        )
        for role, index in workers
    ]
    for process in processes:
        process.start()
    outcome: dict[tuple[str, int], Any] = {}
    errors: list[str] = []
    try:
        for _ in processes:
            try:
                role, index, status, value = results.get(timeout=START_TIMEOUT_S + RUN_TIMEOUT_S)
            except queue.Empty:
                errors.append("a worker sent nothing before the timeout")
                break
            if status == "ok":
                outcome[(role, index)] = value
            else:
                errors.append(f"{role}-{index} failed:\n{value}")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                errors.append(f"{process.name} did not finish and was killed")
    assert not errors, "\n".join(errors)
    return outcome


@pytest.fixture
def shop(postgres_url: str) -> str:
    """An empty database with the contested SKU (10 units) and four more, one unit each."""
    empty_database(postgres_url)
    app = Backorder(Database(postgres_url), Settings())
    try:
        add_product(app, product(SKU))
        set_stock(app, SKU, OPENING_STOCK, ref="opening count")
        for number in range(4):
            add_product(app, product(f"SKU-{number}"))
            set_stock(app, f"SKU-{number}", 1, ref="opening count")
    finally:
        app.close()
    return postgres_url


def test_racing_buyers_clerks_and_receipts_never_oversell_nor_duplicate_an_order(
    shop: str,
) -> None:
    workers = [("buyer", n) for n in range(BUYERS)]
    workers += [("clerk", 0), ("warehouse", 0), ("watcher", 0)]
    outcome = race(shop, workers)

    assert_invariants(shop)
    created = Counter(
        ref for n in range(BUYERS) for ref, was_created in outcome[("buyer", n)] if was_created
    )
    assert all(times == 1 for times in created.values()), "an order was created twice"
    assert len(created) == BUYERS * ORDERS_PER_BUYER + SHARED_ORDERS
    with opened(shop) as database, snapshot(database) as conn:
        stored = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        ever_on_hand = conn.execute(
            select(func.sum(stock_movements.c.units))
            .select_from(stock_movements.join(products))
            .where(products.c.sku == SKU, stock_movements.c.units > 0)
        ).scalar_one()
        held, shipped, wanted = conn.execute(
            select(
                func.sum(order_lines.c.allocated),
                func.sum(order_lines.c.shipped),
                func.sum(order_lines.c.quantity),
            )
            .select_from(order_lines.join(products))
            .where(products.c.sku == SKU)
        ).one()
    assert stored == len(created)
    assert held + shipped <= ever_on_hand, "more units allocated and shipped than ever held"
    assert wanted > ever_on_hand, "the race must be for the last units: demand beats supply"


@pytest.mark.parametrize("deliverer", ["same_ref_deliverer", "same_ref_deliverer_of_own_sku"])
def test_four_processes_delivering_the_same_ref_at_once_create_exactly_one_order(
    shop: str, deliverer: str
) -> None:
    outcome = race(shop, [(deliverer, n) for n in range(4)])

    assert_invariants(shop)
    created = Counter(ref for seen in outcome.values() for ref, was_created in seen if was_created)
    assert created == Counter({f"web:race-{n}": 1 for n in range(SAME_REF_ROUNDS)})
    with opened(shop) as database, snapshot(database) as conn:
        stored = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    assert stored == SAME_REF_ROUNDS


def test_events_become_visible_in_id_order_so_a_reader_resuming_after_id_n_misses_none(
    shop: str,
) -> None:
    """DESIGN.md invariant 5 (every event reaches each subscriber once) with the reading
    contract of store/tables.py: "ids never reused: readers resume after id N". That holds
    only if no event becomes visible after an event with a higher id did."""
    workers = [("receiver", n) for n in range(OUTBOX_WRITERS)] + [("outbox_reader", 0)]
    seen = race(shop, workers)[("outbox_reader", 0)]

    assert_invariants(shop)
    with opened(shop) as database, snapshot(database) as conn:
        written = set(conn.execute(select(events.c.id)).scalars())
    missed = sorted(written - set(seen))
    assert not missed, (
        f"a reader resuming after the last id it saw missed {len(missed)} of "
        f"{len(written)} events (ids {missed[:10]}...): they committed after a higher id"
    )


def test_orders_cancels_shipments_and_counts_at_two_locations_keep_every_invariant(
    shop: str,
) -> None:
    """Buyers and a clerk race a warehouse at main and one at east for the same SKU: per
    location nothing is oversold, and the network's sums stay the locations' sums."""
    app = Backorder(Database(shop), Settings())
    try:
        add_location(app, LocationIn("east", "East 3PL", "3pl", priority=10))
        set_stock(app, SKU, 5, ref="east opening count", location="east")
    finally:
        app.close()
    workers = [("buyer", n) for n in range(BUYERS)]
    workers += [("clerk", 0), ("warehouse", 0), ("east_warehouse", 0), ("watcher", 0)]
    race(shop, workers)
    assert_invariants(shop)


def test_transfers_racing_orders_and_receipts_at_both_ends_keep_every_invariant(
    shop: str,
) -> None:
    """A mover ships units between locations while buyers take them, a clerk cancels and
    ships, and two warehouses receive and count: a transfer only ever moves units nothing
    is allocated to, and every unit that left arrives."""
    app = Backorder(Database(shop), Settings())
    try:
        add_location(app, LocationIn("east", "East 3PL", "3pl", priority=10))
        set_stock(app, SKU, 5, ref="east opening count", location="east")
        reserve = LocationIn("reserve", "Reserve", "own", priority=200, accepts_backorders=False)
        add_location(app, reserve)
        set_stock(app, SKU, 40, ref="reserve opening count", location="reserve")
    finally:
        app.close()
    workers = [("buyer", n) for n in range(BUYERS)]
    workers += [("clerk", 0), ("warehouse", 0), ("east_warehouse", 0), ("mover", 0)]
    workers += [("watcher", 0)]
    outcome = race(shop, workers)
    assert_invariants(shop)
    steps = outcome[("mover", 0)]
    assert len(steps) == TRANSFERS
    with opened(shop) as database, snapshot(database) as conn:
        moved = conn.execute(
            select(stock_movements.c.kind, func.sum(stock_movements.c.units))
            .where(stock_movements.c.kind.in_(("transfer_out", "transfer_in")))
            .group_by(stock_movements.c.kind)
        ).all()
    totals = dict(moved)
    if any(ok for _, ok in steps):  # (whether any could ship depends on the buyers' pace)
        assert totals["transfer_out"] == -totals["transfer_in"]  # every unit that left arrived
    else:
        assert totals == {}
