"""The FastAPI application: routes, problem documents, health and readiness."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from anyio import to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from backorder import __version__
from backorder.api import (
    accesslog,
    customer,
    customer_offers,
    dashboard,
    feeds,
    forecasts,
    kpis,
    limits,
    lists,
    locations,
    metrics,
    notifications,
    openapi,
    problems,
    product_suppliers,
    replenishment,
    replenishment_decisions,
    replenishment_page,
    replica,
    reports,
    review,
    risk,
    self_healing,
    shortages,
    simulate_page,
    substitutes,
    supply,
    transfers,
)
from backorder.api.group_commit import GroupCommit
from backorder.api.idempotency import IdempotencyMiddleware
from backorder.api.paths import SegmentPaths
from backorder.api.responses import Health, NotReady, Ready
from backorder.api.routes import router
from backorder.services.context import Backorder
from backorder.store.migrate import HEAD, current_revision


def create_app(backorder: Backorder) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # More threads than a few per core only contend: for the GIL, for the connection
        # pool (whose waiters are not served in order) and for the rows a placing locks,
        # which a thread waiting for the GIL holds longer. Requests beyond the limit wait
        # on the event loop, in arrival order.
        to_thread.current_default_thread_limiter().total_tokens = backorder.settings.api_threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="Backorder",
        version=__version__,
        description="Orders from every channel, fair per-SKU backorder queues, and stock "
        "handed out in order. Authenticate with `Authorization: Bearer KEY`.",
        dependencies=[Depends(problems.once_each)],
    )
    app.state.backorder = backorder
    # SQLite has one writer at a time: orders wait for theirs on the event loop, in arrival
    # order, and those that waited are placed together (api/group_commit.py), instead of
    # each in a thread of its own at the database's lock (a lock that does not serve its
    # waiters in order, which made the slowest answers slow).
    app.state.placing = (
        GroupCommit(backorder) if backorder.db.engine.dialect.name == "sqlite" else None
    )
    problems.install(app)
    app.add_middleware(IdempotencyMiddleware)
    limits.install(app, backorder.settings.max_body_bytes)
    metrics.install(app, backorder)
    app.add_middleware(SegmentPaths)  # outermost: every layer sees the path routing sees
    app.include_router(router)
    app.include_router(lists.router)
    app.include_router(notifications.router)
    app.include_router(supply.router)
    app.include_router(product_suppliers.router)
    app.include_router(substitutes.router)
    app.include_router(locations.router)
    app.include_router(transfers.router)
    app.include_router(feeds.router)
    app.include_router(review.router)
    app.include_router(risk.router)
    app.include_router(customer.pages)
    app.include_router(customer_offers.pages)
    app.include_router(kpis.router)
    app.include_router(shortages.router)
    app.include_router(replenishment.router)
    app.include_router(self_healing.router)
    app.include_router(forecasts.router)
    app.include_router(reports.router)
    app.include_router(replenishment_decisions.router)
    app.include_router(replenishment_page.router)
    app.include_router(dashboard.pages)
    app.include_router(simulate_page.pages)
    openapi.install(app)

    @app.get("/healthz", tags=["operations"], response_model=Health)
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Ready,
        responses={503: {"model": NotReady, "description": "Not ready"}},
    )
    async def readyz() -> Any:
        """The database answers and its schema is the one this version needs; with a broker
        (BACKORDER_BROKER_URL), it answers too and its intake stream is there; with a read
        replica set, how it is (one that does not answer leaves the process ready: its reads
        go to the primary meanwhile)."""
        try:
            current, head = await run_in_threadpool(current_revision, backorder.db), HEAD
        except Exception as error:  # any failure to reach the database means: not ready
            return JSONResponse(
                {"status": "unavailable", "detail": type(error).__name__}, status_code=503
            )
        if current != head:
            return JSONResponse(
                {"status": "schema out of date", "current": current, "head": head}, status_code=503
            )
        if backorder.settings.broker_url:
            from backorder.api import broker  # nats-py: loaded only with a broker

            problem = await broker.ready(app, backorder)
            if problem is not None:
                return JSONResponse({"status": "unavailable", "detail": problem}, status_code=503)
        standby = await run_in_threadpool(replica.ready_view, backorder)
        return {"status": "ready", "schema": current, "replica": standby}

    return app


WORKER_START_SECONDS = 30


def settle_heap() -> None:
    """Take what a server process built before its first request (the app, its routes and
    models, the tables, the imported modules: some 200,000 objects) out of the garbage
    collector's sight for good. Requests promote their short-lived objects into the oldest
    generation, and each full collection then scanned all of those objects again: 150-210 ms
    every couple of seconds under load, during which the process answered nothing (the
    slowest answers in benchmarks/bench_http.py). Python's `gc.freeze`, after a collection
    so that no garbage is kept."""
    gc.collect()
    gc.freeze()


def serve(app: FastAPI | str, host: str, port: int, workers: int = 1) -> None:
    """Run the API under uvicorn until stopped (what `backorder serve` does); its access
    log never holds a customer's token. With `workers` > 1, `app` is the import string of a
    factory each process calls (api/workers.py)."""
    if not isinstance(app, str):
        settle_heap()
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=isinstance(app, str),
        # A process has this long to answer its manager's first ping (a busy machine takes
        # seconds to start Python and import the CLI); one that never answers is replaced.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        log_level="info",
        log_config=accesslog.log_config(),
        # libuv's event loop and a C HTTP parser where installed (uvloop is not on Windows)
        loop="auto",
        http="auto",
    )
