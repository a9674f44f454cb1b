"""The policy simulator (design: domain/simulation.py): read the live history once, replay it
in an isolated copy per policy, and measure each the way the live data is measured."""

from __future__ import annotations

import multiprocessing
import tempfile
import time as timer
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.domain.simulation import ACTUAL, Figures, Policy, Terms
from backorder.domain.supplier_performance import lateness_days
from backorder.services.context import Backorder
from backorder.services.simulation.measures import figures
from backorder.services.simulation.record import History, read_history
from backorder.services.simulation.replay import (
    Replay,
    SimClock,
    open_copy,
    policy_settings,
    template,
    use_template,
)
from backorder.services.supplier_performance import closed_lines
from backorder.store.tables import product_suppliers, products, suppliers

MAX_POLICIES = 5


@dataclass
class Simulation:
    """The table: the actual column, then one per policy."""

    start: date
    end: date  # the first day not replayed
    seed: int
    columns: list[Figures] = field(default_factory=list)
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "seed": self.seed,
            "columns": [
                {"name": c.name, "seconds": c.seconds, "cpu_seconds": c.cpu_seconds}
                | {"figures": c.values}
                for c in self.columns
            ],
            "skipped": self.skipped,
        }


def window_of(start: date, end: date) -> tuple[datetime, datetime]:
    if end <= start:
        raise InvalidRequest(f"--to ({end}) must come after --from ({start})")
    if (end - start).days > 3660:
        raise InvalidRequest("a simulation covers at most 3660 days")
    return datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)


def simulate(
    app: Backorder,
    period: tuple[date, date],
    policies: list[Policy],
    seed: int = 0,
    jobs: int = 1,
) -> Simulation:
    """Each policy's figures over [from, to) beside the actual ones; the live database is
    only read. `jobs` > 1 replays that many policies at once, each in a process of its own."""
    if not policies or len(policies) > MAX_POLICIES:
        raise InvalidRequest(f"give from 1 to {MAX_POLICIES} policies")
    names = [p.name for p in policies]
    if len(set(names)) != len(names) or "actual" in names:
        raise InvalidRequest("policy names must differ from each other and from 'actual'")
    window = window_of(*period)
    with app.db.read() as uow:
        history = read_history(uow.connection, window[1])
        actual = Figures("actual", figures(uow.connection, window))
        terms = reorder_terms(uow.connection, window[0].date())
    result = Simulation(period[0], period[1], seed, [actual])
    runs = [(window, policy, seed) for policy in policies]
    if jobs > 1 and len(policies) > 1:
        spawn = multiprocessing.get_context("spawn")
        workers = min(jobs, len(policies))
        with ProcessPoolExecutor(
            workers, mp_context=spawn, initializer=use_template, initargs=(template(),)
        ) as pool:
            n = len(runs)
            done = list(pool.map(run_policy, [app.settings] * n, [history] * n, runs, [terms] * n))
    else:
        done = [run_policy(app.settings, history, run, terms) for run in runs]
    for policy, (column, skipped) in zip(policies, done, strict=True):
        result.columns.append(column)
        result.skipped[policy.name] = skipped
    return result


def run_policy(
    settings: Settings,
    history: History,
    run: tuple[tuple[datetime, datetime], Policy, int],
    terms: dict[str, Terms] | None = None,
) -> tuple[Figures, dict[str, int]]:
    """One policy over the history in a copy of its own, measured (with the seconds it
    took); what was skipped."""
    began, cpu = timer.perf_counter(), timer.process_time()
    window, policy, seed = run
    with tempfile.TemporaryDirectory(prefix="backorder-sim-") as folder:
        database = open_copy(Path(folder), history.catalogue)
        clock = SimClock(window[0])
        try:
            actual = Backorder(database, settings, clock)
            simulated = Backorder(database, policy_settings(settings, policy), clock)
            runner = Replay(actual, simulated, policy, window[0], window[1], terms or {}, seed)
            runner.run(history)
            with database.read() as uow:
                values = figures(uow.connection, window)
        finally:
            database.dispose()
    seconds = round(timer.perf_counter() - began, 2)
    column = Figures(policy.name, values, seconds, round(timer.process_time() - cpu, 2))
    return column, dict(sorted(runner.skipped.items()))


def reorder_terms(conn: Connection, today: date) -> dict[str, Terms]:
    """Per SKU with a preferred supplier: that supplier's terms for it and its measured
    lateness (closed lines of the 12 months before `today`)."""
    p, ps, s = products.c, product_suppliers.c, suppliers.c
    rows = conn.execute(
        select(p.sku, p.id, p.supplier_id, p.lead_time_days, s.lead_time_days.label("default"))
        .add_columns(ps.lead_time_days.label("own"), ps.moq, ps.pack)
        .join(suppliers, s.id == p.supplier_id)
        .outerjoin(product_suppliers, (ps.product_id == p.id) & (ps.supplier_id == p.supplier_id))
    ).all()
    late = closed_lines(conn, sorted({r.supplier_id for r in rows}), today)
    found = {}
    for r in rows:
        days = tuple(
            d
            for d in (lateness_days(line) for line in late.get(r.supplier_id, []))
            if d is not None
        )
        lead = r.own if r.own is not None else r.lead_time_days or r.default
        found[r.sku] = Terms(r.supplier_id, lead, r.moq or 1, r.pack or 1, days)
    return found


__all__ = ["ACTUAL", "Simulation", "reorder_terms", "run_policy", "simulate", "window_of"]
