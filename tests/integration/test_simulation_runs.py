"""The simulator's runs in the database: the newest kept, one running at a time, a run whose
process died given up after its beat stopped."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.simulation_runs import (
    KEPT,
    LOST,
    LOST_SECONDS,
    beat,
    fail_run,
    finish_run,
    recent_runs,
    start_run,
)
from tests.conftest import Clock

JANUARY = (date(2026, 1, 1), date(2026, 2, 1))


def test_the_newest_runs_are_kept_with_their_tables(app: Backorder, clock: Clock) -> None:
    for n in range(KEPT + 2):
        run_id = start_run(app, JANUARY, f"policy-{n}")
        finish_run(app, run_id, ["actual", f"policy-{n}"], [("Conversion", ["96.0%", "97.5%"])])
        clock.advance(seconds=1)
    runs = recent_runs(app)
    assert [run.policy for run in runs] == [f"policy-{n}" for n in range(KEPT + 1, 1, -1)]
    assert (runs[0].state, runs[0].period, runs[0].columns, runs[0].rows) == (
        "done",
        JANUARY,
        ["actual", f"policy-{KEPT + 1}"],
        [("Conversion", ["96.0%", "97.5%"])],
    )


def test_one_runs_at_a_time_until_it_ends_or_its_beat_stops(app: Backorder, clock: Clock) -> None:
    first = start_run(app, JANUARY, "first")
    with pytest.raises(InvalidRequest, match="a simulation is running"):
        start_run(app, JANUARY, "second")
    clock.advance(seconds=LOST_SECONDS - 1)
    beat(app, first)  # its thread still works
    clock.advance(seconds=LOST_SECONDS - 1)
    with pytest.raises(InvalidRequest):
        start_run(app, JANUARY, "second")
    fail_run(app, first, "ValueError: no orders")
    second = start_run(app, JANUARY, "second")
    clock.advance(seconds=LOST_SECONDS + 1)  # its process died: no beat
    assert [(r.policy, r.state, r.error) for r in recent_runs(app)] == [
        ("second", "failed", LOST),
        ("first", "failed", "ValueError: no orders"),
    ]
    third = start_run(app, JANUARY, "third")
    finish_run(app, second, ["late"], [])  # too late: given up, it stays failed
    assert [(r.policy, r.state) for r in recent_runs(app)] == [
        ("third", "running"),
        ("second", "failed"),
        ("first", "failed"),
    ]
    assert third
