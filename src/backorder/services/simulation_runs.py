"""The dashboard's policy-simulator runs, kept in the database: every server process shows
the same runs, and one runs at a time across them. A run works in a thread of the process
that started it and beats every BEAT_SECONDS; a run whose beat stopped for LOST_SECONDS
belongs to a process that died, and counts as failed (it no longer blocks a new one)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.store.tables import simulation_runs

KEPT = 10  # the newest runs kept; older ones are forgotten when a run starts
BEAT_SECONDS = 10.0
LOST_SECONDS = 60.0
LOST = "the server process running it stopped before it finished"
BUSY = "a simulation is running: wait for it to finish"
RUNS = simulation_runs.c


@dataclass(frozen=True)
class SimulationRun:
    id: str
    started: datetime
    period: tuple[date, date]
    policy: str
    state: str  # running | done | failed
    columns: list[str]
    rows: list[tuple[str, list[str]]]
    error: str | None


def start_run(app: Backorder, period: tuple[date, date], policy: str) -> str:
    """A new run, running, and its id; InvalidRequest while another runs in any process."""
    now = app.now()
    run_id = uuid.uuid4().hex[:8]
    with app.db.write() as uow:
        conn = uow.connection
        _give_up_lost(conn, now)
        try:
            conn.execute(
                insert(simulation_runs).values(
                    id=run_id,
                    started_at=now,
                    beat_at=now,
                    period_from=period[0],
                    period_to=period[1],
                    policy=policy,
                    state="running",
                    columns=[],
                    rows=[],
                )
            )
        except IntegrityError:  # one running already: the index holds one running row at most
            raise InvalidRequest(BUSY) from None
        newest = select(RUNS.id).order_by(RUNS.started_at.desc(), RUNS.id).limit(KEPT)
        conn.execute(delete(simulation_runs).where(RUNS.id.not_in(newest.scalar_subquery())))
        uow.commit()
    return run_id


def beat(app: Backorder, run_id: str) -> None:
    """The run is still working."""
    _settle(app, run_id, beat_at=app.now())


def finish_run(
    app: Backorder, run_id: str, columns: list[str], rows: list[tuple[str, list[str]]]
) -> None:
    _settle(app, run_id, state="done", columns=columns, rows=[list(row) for row in rows])


def fail_run(app: Backorder, run_id: str, error: str) -> None:
    _settle(app, run_id, state="failed", error=error)


def recent_runs(app: Backorder) -> list[SimulationRun]:
    """The newest runs, newest first; one whose beat stopped shows as failed."""
    lost_before = app.now() - timedelta(seconds=LOST_SECONDS)
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(simulation_runs).order_by(RUNS.started_at.desc(), RUNS.id).limit(KEPT)
        ).all()
    runs = []
    for row in found:
        lost = row.state == "running" and row.beat_at < lost_before
        runs.append(
            SimulationRun(
                row.id,
                row.started_at,
                (row.period_from, row.period_to),
                row.policy,
                "failed" if lost else row.state,
                list(row.columns),
                [(label, list(values)) for label, values in row.rows],
                LOST if lost else row.error,
            )
        )
    return runs


def _settle(app: Backorder, run_id: str, **values: Any) -> None:
    with app.db.write() as uow:
        uow.connection.execute(
            update(simulation_runs)
            .where(RUNS.id == run_id, RUNS.state == "running")
            .values(**values)
        )
        uow.commit()


def _give_up_lost(conn: Connection, now: datetime) -> None:
    lost_before = now - timedelta(seconds=LOST_SECONDS)
    conn.execute(
        update(simulation_runs)
        .where(RUNS.state == "running", RUNS.beat_at < lost_before)
        .values(state="failed", error=LOST)
    )
