"""`backorder serve --workers N`: N server processes under uvicorn's process manager.

uvicorn starts each process afresh (spawn), so a process cannot be handed the application
the command built: it imports FACTORY, which builds one from the environment. What the
command line says beyond the environment (`--db`) is put into the environment first, so
every process serves the same database with the same settings. Each process keeps nothing
another one needs (README, "What each process keeps"); the HTTP counters of GET /metrics
are summed over the processes through prometheus_client's multiprocess mode."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

from fastapi import FastAPI

from backorder.api.app import create_app, settle_heap
from backorder.config import Settings
from backorder.services.context import Backorder

FACTORY = "backorder.api.workers:app_from_environment"
# prometheus_client keeps each process's counters in files in this folder, and sums them
# when one process is scraped (its multiprocess mode; read when it is first imported).
METRICS_FOLDER = "PROMETHEUS_MULTIPROC_DIR"


def app_from_environment() -> FastAPI:
    """The application as one server process of several builds it: settings and database
    from the environment (BACKORDER_*), waiting for the database as `serve` does."""
    settings = Settings()
    backorder = Backorder.open(settings, wait_seconds=settings.database_wait_seconds)
    app = create_app(backorder)
    settle_heap()
    return app


@contextmanager
def environment_for_workers(database_url: str) -> Iterator[dict[str, str]]:
    """The environment the worker processes start with: the database the command was given
    and a fresh folder for the metrics of this run (unless the operator named one). Both
    are taken back when the processes have ended; the variables set are yielded."""
    with ExitStack() as stack:
        settings = {"BACKORDER_DATABASE_URL": database_url}
        if not os.environ.get(METRICS_FOLDER):
            settings[METRICS_FOLDER] = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="backorder-metrics-", ignore_cleanup_errors=True)
            )
        stack.enter_context(patch.dict(os.environ, settings))
        yield settings
