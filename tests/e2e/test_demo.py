"""`backorder demo` as a user runs it: a real process builds a store, and the database it
leaves behind keeps every invariant."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select, text

from backorder import foresight
from backorder.config import Settings
from backorder.demo import HISTORY, DemoSummary, Span, run_demo
from backorder.services.context import Backorder
from backorder.services.worker import one_pass
from backorder.store.db import Database
from backorder.store.tables import (
    allocations,
    delay_notices,
    deliveries,
    demand_history,
    events,
    forecasts,
    incidents,
    intake_payloads,
    locations,
    order_lines,
    orders,
    po_lines,
    products,
    purchase_orders,
    reviews,
    shipments,
    suppliers,
    tasks,
)
from tests.integration.invariants import HOMED_ELSEWHERE
from tests.mail import Inbox

SIBLING = Path(sys.executable).parent / "backorder"
BACKORDER = str(SIBLING) if SIBLING.exists() else shutil.which("backorder") or "backorder"


def run_cli_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKORDER_")}
    return subprocess.run(
        [BACKORDER, "demo", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env | {"COLUMNS": "120"},
    )


def broken_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Rows that break an invariant, by invariant; a healthy database has none."""
    checks = {
        "line: quantity = allocated + backordered + shipped + cancelled, none negative": """
            SELECT id FROM order_lines
            WHERE quantity <> allocated + backordered + shipped + cancelled
               OR allocated < 0 OR backordered < 0 OR shipped < 0 OR cancelled < 0""",
        "SKU: 0 <= allocated <= on hand": """
            SELECT sku FROM products WHERE allocated < 0 OR allocated > on_hand""",
        "SKU: allocated and backordered are the sums over its lines": """
            SELECT p.sku FROM products p
            LEFT JOIN (SELECT product_id, SUM(allocated) AS allocated,
                              SUM(backordered) AS backordered
                       FROM order_lines GROUP BY product_id) l ON l.product_id = p.id
            WHERE p.allocated <> COALESCE(l.allocated, 0)
               OR p.backordered <> COALESCE(l.backordered, 0)""",
        "no stock available at a location beside a waiting line that location serves": """
            SELECT p.sku, loc.code, l.id FROM stock_levels s
            JOIN products p ON p.id = s.product_id
            JOIN locations loc ON loc.id = s.location_id
            JOIN order_lines l ON l.product_id = p.id
            JOIN orders o ON o.id = l.order_id
            WHERE s.on_hand > s.allocated AND l.backordered > 0
              AND loc.active AND loc.accepts_backorders
              AND (loc.ships_to IS NULL OR o.ship_country IS NULL
                   OR EXISTS (SELECT 1 FROM json_each(loc.ships_to)
                              WHERE value = o.ship_country))
              AND NOT """
        + HOMED_ELSEWHERE,
    }
    database = Database(url)
    try:
        with database.read() as uow:
            return {
                says: [tuple(row) for row in uow.connection.execute(text(query))]
                for says, query in checks.items()
            }
    finally:
        database.dispose()


def test_demo_builds_a_store_that_keeps_every_invariant(tmp_path: Path) -> None:
    done = run_cli_demo(tmp_path, "--file", str(tmp_path / "demo.db"))

    assert done.returncode == 0, done.stderr
    for heading in (
        "Orders taken, by channel",
        "How lines were split at intake",
        "Backordered now",
        "Refused at intake",
        "Longest queues",
        "Stock that reached waiting lines",
        "Cancellations",
        "Shipped",
        "Stock and shipments by location",
        "Coming shortages",
    ):
        assert heading in done.stdout
    assert f"backorder --db sqlite:///{tmp_path / 'demo.db'} queue " in done.stdout
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert broken_rows(url) == {says: [] for says in broken_rows(url)}

    database = Database(url)
    try:
        with database.read() as uow:
            conn = uow.connection
            assert conn.execute(select(func.count()).select_from(orders)).scalar_one() >= 200
            channels = select(func.count(func.distinct(orders.c.channel)))
            assert conn.execute(channels).scalar_one() >= 4
            assert conn.execute(select(func.count()).select_from(shipments)).scalar_one() > 0
            assert conn.execute(select(func.sum(products.c.backordered))).scalar_one() > 0
            assert conn.execute(select(func.sum(order_lines.c.cancelled))).scalar_one() > 0
            kinds = set(conn.execute(select(events.c.type).distinct()).scalars())
            # sourcing chose among the three locations, and split some orders
            shipped_from = conn.execute(
                select(locations.c.code, func.count())
                .join_from(shipments, locations, locations.c.id == shipments.c.location_id)
                .group_by(locations.c.code)
            ).all()
            split = conn.execute(
                select(func.count()).select_from(
                    select(order_lines.c.order_id)
                    .join_from(allocations, order_lines, order_lines.c.id == allocations.c.line_id)
                    .group_by(order_lines.c.order_id)
                    .having(func.count(func.distinct(allocations.c.location_id)) > 1)
                    .subquery()
                )
            ).scalar_one()
            countries = set(conn.execute(select(orders.c.ship_country).distinct()).scalars())
            # the 3PL's snapshots and 945s and Amazon's MCF shipments came in by the intake,
            # and the 3PL and Amazon ship only what they confirm
            fed = conn.execute(
                select(intake_payloads.c.channel, intake_payloads.c.state, func.count())
                .where(intake_payloads.c.channel.in_(("stock-csv", "x12-945", "mcf")))
                .group_by(intake_payloads.c.channel, intake_payloads.c.state)
            ).all()
            confirmed = conn.execute(
                select(func.count())
                .select_from(shipments)
                .join(locations, locations.c.id == shipments.c.location_id)
                .where(locations.c.code != "main", shipments.c.reference.is_(None))
            ).scalar_one()
            first, last = conn.execute(
                select(func.min(orders.c.placed_at), func.max(orders.c.placed_at))
            ).one()
            # a year of sales from before it opened, and every SKU on sale forecast, with
            # its safety stock planned
            history = conn.execute(select(func.count()).select_from(demand_history)).scalar_one()
            planned = conn.execute(
                select(func.count()).where(
                    forecasts.c.location_id.is_(None), forecasts.c.safety_stock.is_not(None)
                )
            ).scalar_one()
    finally:
        database.dispose()
    assert {code for code, count in shipped_from if count} == {"main", "3pl-east", "fba-us"}
    assert split > 0
    assert {"US", "CA", "GB", "DE"} <= countries
    assert {(channel, state) for channel, state, count in fed if count} == {
        ("stock-csv", "accepted"),
        ("x12-945", "accepted"),
        ("mcf", "accepted"),
    }
    assert confirmed == 0, "a 3PL's or Amazon's shipment not confirmed by its feed"
    assert history >= 52 * 30 and planned >= 28
    assert {
        "allocation_taken_back",
        "stock_received",
        "units_cancelled",
        "units_shipped",
        "line_backordered",
    } <= kinds
    # Its five weeks end this morning, so the store reads true on the real clock.
    now = datetime.now(UTC)
    assert now - timedelta(days=37) < first < last < now
    assert now - last < timedelta(days=2)


LAST_MORNING = Span(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


def demo_text(settings: Settings, file: Path, seed: int) -> tuple[DemoSummary, str]:
    buffer = io.StringIO()
    summary = run_demo(settings, file, seed, Console(file=buffer, width=120), LAST_MORNING)
    output = buffer.getvalue()
    report = output[output.index("Backorder demo") : output.index("Look around")]
    return summary, report


def test_the_same_seed_plays_out_the_same_store(tmp_path: Path, settings: Settings) -> None:
    first, first_report = demo_text(settings, tmp_path / "one.db", seed=11)
    again, again_report = demo_text(settings, tmp_path / "two.db", seed=11)

    assert first == again
    assert first_report == again_report
    assert first.orders > 0 and first.receipts > 0 and first.units_backordered > 0


def test_the_demo_trades_up_to_this_morning_so_its_waits_read_true_on_the_real_clock() -> None:
    before_eight = datetime(2026, 12, 1, 7, 59, tzinfo=UTC)
    after_eight = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert Span.ending_by(before_eight).today == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert Span.ending_by(after_eight).today == after_eight
    assert Span.ending_by(after_eight).opening == after_eight - timedelta(days=35, hours=1)


def test_a_worker_on_the_demo_database_sends_none_of_its_history(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    """The demo trades with suppliers and reviews every morning, and its history is history:
    with e-mail on, a worker started on its file plans and sends nothing."""
    box, port = inbox
    settings = Settings(database_url="sqlite:///unused.db", smtp_url=f"smtp://127.0.0.1:{port}")
    file = tmp_path / "demo.db"
    buffer = io.StringIO()
    run_demo(settings, file, 7, Console(file=buffer, width=80), LAST_MORNING)
    printed = buffer.getvalue()
    assert f"backorder --db sqlite:///{file} serve" in printed
    assert "http://127.0.0.1:8000/" in printed and "(role ops)" in printed

    app = Backorder(Database(f"sqlite:///{file}"), settings, lambda: LAST_MORNING.today)
    try:
        with app.db.read() as uow:
            conn = uow.connection
            made = {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (suppliers, tasks, incidents, delay_notices, reviews)
            }
            late = conn.execute(
                select(func.count())
                .select_from(po_lines)
                .join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id)
                .where(
                    purchase_orders.c.state == "open",
                    po_lines.c.expected_on < LAST_MORNING.today.date(),
                )
            ).scalar_one()
            states = dict(
                conn.execute(
                    select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
                ).all()
            )
            reasons = set(conn.execute(select(deliveries.c.last_error).distinct()).scalars())
        assert all(made.values()), made
        assert made["reviews"] == 35  # every morning after the opening day, and this one
        assert late > 0  # some suppliers are late
        assert states.keys() == {"withdrawn"} and states["withdrawn"] > 100  # e-mail was on
        assert HISTORY in reasons
        done = one_pass(app)
    finally:
        app.close()
    assert not done.failures
    assert done.counts.get("planned") == 0 and not done.counts.get("sent")
    assert box.messages == []


def test_without_the_forecast_extra_the_demo_says_how_to_add_it(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foresight, "available", lambda: False)
    file = tmp_path / "plain.db"
    buffer = io.StringIO()
    run_demo(settings, file, 7, Console(file=buffer, width=120), LAST_MORNING)
    printed = " ".join(buffer.getvalue().split())
    assert "need the forecast extra: pip install 'backorder[forecast]'" in printed
    assert f"sqlite:///{file} queue" in printed and f"sqlite:///{file} shortages" not in printed
    database = Database(f"sqlite:///{file}")
    try:
        with database.read() as uow:
            stored = uow.connection.execute(select(func.count()).select_from(forecasts))
            assert stored.scalar_one() == 0
    finally:
        database.dispose()
