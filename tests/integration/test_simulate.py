"""The policy simulator on a crafted history (tests/integration/simulation_history.py): under
the actual policy it reproduces the actual KPIs exactly; a policy change moves them the
expected way; a seed makes it repeatable; the live database is only read."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.config import Settings
from backorder.domain.simulation import Policy, parse_policy
from backorder.services.context import Backorder
from backorder.services.simulation import Simulation, simulate
from backorder.store.db import Database
from backorder.store.tables import metadata, products
from tests.conftest import Clock
from tests.integration.simulation_history import END, START, build

SAME = Policy("same")  # changes nothing: the actual policy, replayed
COMPLETE = parse_policy("complete", {"shipping": {"preference": "ship_complete"}})
VIP = parse_policy("vip", {"queue": {"strategy": "priority", "priority_rules": ["tier:vip"]}})
BUY = parse_policy("buy", {"replenishment": {"mode": "reorder_point"}})


def _snapshot(app: Backorder) -> dict[str, Any]:
    with app.db.read() as uow:
        conn = uow.connection
        counts: dict[str, Any] = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
        counts["stock"] = conn.execute(
            select(products.c.sku, products.c.on_hand, products.c.allocated).order_by(
                products.c.sku
            )
        ).all()
    return counts


def _column(result: Simulation, name: str) -> dict[str, Any]:
    return next(c.values for c in result.columns if c.name == name)


@pytest.fixture
def history(app: Backorder, clock: Clock) -> Backorder:
    build(app, clock)
    return app


@pytest.fixture
def sqlite_app(
    migrated_sqlite: Path, tmp_path: Path, clock: Clock, settings: Settings
) -> Iterator[Backorder]:
    """On SQLite only: what this test checks does not depend on the live database's kind
    (the replay's copy is SQLite either way)."""
    path = tmp_path / "live.db"
    shutil.copyfile(migrated_sqlite, path)
    backorder = Backorder(Database(f"sqlite:///{path}"), settings, clock)
    yield backorder
    backorder.close()


def test_policies_against_the_actual_history(history: Backorder) -> None:
    before = _snapshot(history)
    result = simulate(history, (START, END), [SAME, COMPLETE, VIP, BUY], seed=3)
    actual = _column(result, "actual")
    assert actual["shipments"] > 30 and actual["average_backorder_duration"] > 0
    # faithful: the actual policy replayed gives every figure exactly, skipping nothing
    assert _column(result, "same") == actual
    assert result.skipped["same"] == {}
    # everything ships complete: fewer shipments, stock held longer
    complete = _column(result, "complete")
    assert complete["shipments"] < actual["shipments"]
    assert complete["average_stock"] > actual["average_stock"]
    assert result.skipped["complete"].get("ship (waits: ship complete)", 0) > 0
    # VIP customers first: they wait less, and the others make up for it
    vip = _column(result, "vip")
    assert vip["vip_backorder_duration"] < actual["vip_backorder_duration"]
    # buying at the reorder point: shorter waits, fewer lost, more spent on stock
    buy = _column(result, "buy")
    assert buy["average_backorder_duration"] < actual["average_backorder_duration"]
    assert buy["money_on_backorder"] < actual["money_on_backorder"]
    assert buy["units_lost"] <= actual["units_lost"]
    assert buy["average_stock"] > actual["average_stock"]
    # the live database is only read
    assert _snapshot(history) == before


def test_a_window_inside_the_history_and_a_seed_repeat(sqlite_app: Backorder, clock: Clock) -> None:
    history = sqlite_app
    build(history, clock)
    window = (date(2026, 2, 8), date(2026, 2, 22))
    first = simulate(history, window, [SAME, BUY], seed=11)
    again = simulate(history, window, [BUY], seed=11)
    assert _column(first, "same") == _column(first, "actual")
    assert _column(again, "buy") == _column(first, "buy")
