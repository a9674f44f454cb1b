"""`backorder demo`: a homeware and outdoor store trades for five simulated weeks through the
real use cases; then a summary is read back from the database it left behind."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import update

from backorder.config import Settings
from backorder.demo.foresight import look_ahead
from backorder.demo.report import Run, report
from backorder.demo.store import DemoSummary, SimClock, Span, Store
from backorder.domain.access import Role
from backorder.domain.errors import InvalidRequest
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder, utc_now
from backorder.services.planning import plan
from backorder.services.review import run_review
from backorder.store.db import Database
from backorder.store.migrate import ensure_schema
from backorder.store.tables import deliveries

__all__ = ["DEMO_MARK", "HISTORY", "DemoSummary", "Span", "run_demo"]

# Stamped into the SQLite header of a demo database, so a later run replaces only its own.
DEMO_MARK = 0x424F444D
# Why the demo's own messages were never sent (the message log shows it).
HISTORY = "the demo's history: not sent"


def _refuse_to_replace_real_data(file: Path) -> None:
    if not file.exists() or file.stat().st_size == 0:
        return
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as conn:
            mark = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError:
        mark = None
    if mark != DEMO_MARK:
        raise InvalidRequest(
            f"{file} exists and is not a demo database; the demo replaces its file, "
            "so choose another --file or remove it"
        )


def run_demo(
    settings: Settings, file: Path, seed: int, console: Console, span: Span | None = None
) -> DemoSummary:
    """Build `file` afresh, trade in it for five simulated weeks (by default up to this
    morning, 08:00 UTC), print what happened."""
    span = span or Span.ending_by(utc_now())
    _refuse_to_replace_real_data(file)
    for path in (file, Path(f"{file}-wal"), Path(f"{file}-shm"), Path(f"{file}-journal")):
        path.unlink(missing_ok=True)
    file.parent.mkdir(parents=True, exist_ok=True)
    clock = SimClock(span.opening)
    app = Backorder(Database(f"sqlite:///{file}"), settings, clock)
    try:
        ensure_schema(app.db)
        with app.db.engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {DEMO_MARK}")
        # An idle connection held open keeps the WAL alive: without it each transaction's
        # connection is the last to close, and SQLite checkpoints and syncs every time.
        with app.db.engine.connect():
            _trade(Store(app, span, clock, random.Random(seed)), console)
            clock.now = span.today
            review = run_review(app)
            ahead = look_ahead(app, random.Random(seed), span.opening.date())
            _as_notified(app)
            key = create_key(app, Role.OPS, "the demo's dashboard key").key
            return report(app, Run(file, seed, span, key), console, review, ahead)
    finally:
        app.close()


def _as_notified(app: Backorder) -> None:
    """The demo's history is history: its messages are planned as the worker would plan them
    (the message log and the staff alerts show them), then marked as never to be sent, so a
    worker started on the demo's database e-mails none of its customers. One transaction
    after the planning; a real worker's position is past every event of the demo."""
    plan(app)
    with app.db.write() as uow:
        uow.connection.execute(
            update(deliveries)
            .where(deliveries.c.state == "due")
            .values(state="withdrawn", last_error=HISTORY)
        )
        uow.commit()


def _trade(store: Store, console: Console) -> None:
    store.open()
    steps = store.plan()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"Trading {store.span.opening:%a %d %b}", total=len(steps))
        for moment, step in steps:
            store.clock.now = moment
            progress.update(task, description=f"Trading {moment:%a %d %b}")
            step()
            progress.advance(task)
