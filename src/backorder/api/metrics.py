"""GET /metrics in the Prometheus text format: request counts and latency per route, and
the state of the business read from the database at scrape time (so every API process
reports the same figures)."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backorder.api.auth import backorder_of, bearer, role_of
from backorder.api.replica import ReplicaCollector
from backorder.api.responses import Problem
from backorder.domain.access import Permission
from backorder.services.consumers import consumers_view
from backorder.services.context import Backorder
from backorder.services.payloads import FEED_KINDS
from backorder.store.tables import (
    deliveries,
    events,
    intake_payloads,
    order_lines,
    orders,
    products,
    signed_deliveries,
    skipped_events,
)

# Webhooks refused for their signature, by channel and account (this process's count).
BAD_SIGNATURES = Counter(
    "backorder_intake_bad_signatures",
    "Channel webhooks refused for a missing or wrong signature",
    ["channel", "account"],
    registry=None,
)


class BusinessCollector(Collector):
    def __init__(self, backorder: Backorder) -> None:
        self.backorder = backorder

    def collect(self) -> Iterator[Metric]:
        with self.backorder.db.read() as uow:
            conn = uow.connection
            placed = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            waiting = conn.execute(select(func.coalesce(func.sum(products.c.backordered), 0)))
            units = waiting.scalar_one()
            depth = conn.execute(
                select(products.c.queue_strategy, order_lines.c.rank_class, func.count())
                .join(products, products.c.id == order_lines.c.product_id)
                .where(order_lines.c.backordered > 0)
                .group_by(products.c.queue_strategy, order_lines.c.rank_class)
            ).all()
            last = conn.execute(
                select(events.c.id, events.c.occurred_at).order_by(events.c.id.desc()).limit(1)
            ).first()
            messages: dict[str, int] = dict(
                conn.execute(  # the partial indexes keep these to the few rows they count
                    select(deliveries.c.state, func.count())
                    .where(deliveries.c.state.in_(("due", "sending", "dead")))
                    .group_by(deliveries.c.state)
                ).all()
            )
            stepped_over = conn.execute(
                select(func.count())
                .select_from(skipped_events)
                .where(skipped_events.c.state == "skipped")
            ).scalar_one()
            signed = signed_deliveries.c
            replays = conn.execute(
                select(signed.channel, signed.account, func.sum(signed.replays))
                .where(signed.replays > 0)
                .group_by(signed.channel, signed.account)
            ).all()
            kept = intake_payloads.c
            ignored = conn.execute(  # the partial index holds only these rows
                select(kept.channel, kept.topic, func.count())
                .where(
                    kept.outcome.is_not(None),
                    kept.order_ref.is_(None),
                    or_(
                        kept.topic.is_(None), kept.topic.not_in(FEED_KINDS)
                    ),  # not a feed's, applied
                )
                .group_by(kept.channel, kept.topic)
            ).all()
        yield GaugeMetricFamily("backorder_orders", "Orders taken in", value=placed)
        taken = CounterMetricFamily(
            "backorder_intake_ignored",
            "Channel payloads taken that placed and changed nothing, by topic: other webhook "
            "topics, orders already cancelled or fulfilled in the shop, X12 997s, EDIFACT CONTRLs",
            labels=["channel", "topic"],
        )
        for channel, topic, count in ignored:
            taken.add_metric([channel, topic or ""], int(count))
        yield taken
        yield GaugeMetricFamily("backorder_units_backordered", "Units waiting", value=units)
        queue = GaugeMetricFamily(
            "backorder_queue_lines",
            "Lines waiting, by queue strategy and rank class (0 ranks first)",
            labels=["strategy", "rank_class"],
        )
        for strategy, rank_class, count in depth:
            queue.add_metric([strategy, str(rank_class)], count)
        yield queue
        replayed = CounterMetricFamily(
            "backorder_intake_replays",
            "Signed channel deliveries sent again, identical: answered, not stored again",
            labels=["channel", "account"],
        )
        for channel, account, count in replays:
            replayed.add_metric([channel, account], int(count))
        yield replayed
        yield GaugeMetricFamily(
            "backorder_outbox_last_event_id", "Id of the newest event", value=last.id if last else 0
        )
        yield GaugeMetricFamily(
            "backorder_outbox_last_event_timestamp_seconds",
            "When the newest event was written",
            value=last.occurred_at.timestamp() if last else 0,
        )
        unsent = GaugeMetricFamily(
            "backorder_notifications",
            "Messages not yet sent (due, sending) and those that used up their attempts (dead)",
            labels=["state"],
        )
        for state in ("due", "sending", "dead"):
            unsent.add_metric([state], messages.get(state, 0))
        yield unsent
        yield GaugeMetricFamily(
            "backorder_notify_skipped_events",
            "Events whose messages could not be planned, recorded and stepped over "
            "(`backorder notify skipped`)",
            value=stepped_over,
        )
        behind = GaugeMetricFamily(
            "backorder_outbox_lag_events",
            "Events written after each consumer's committed position",
            labels=["consumer"],
        )
        late = GaugeMetricFamily(
            "backorder_outbox_lag_seconds",
            "Age of the oldest event each consumer has not handled (0 when caught up)",
            labels=["consumer"],
        )
        for consumer in consumers_view(self.backorder):
            behind.add_metric([consumer["name"]], consumer["lag_events"])
            late.add_metric([consumer["name"]], consumer["lag_seconds"])
        yield behind
        yield late


def _scraped(own: CollectorRegistry, backorder: Backorder) -> CollectorRegistry:
    """What a scrape reads: this process's counters, or, as one of several server processes
    (`serve --workers`, api/workers.py), every process's, summed from the files each keeps
    (prometheus_client's multiprocess mode); the business figures from the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scraped = CollectorRegistry()
        MultiProcessCollector(scraped)  # type: ignore[no-untyped-call]
    else:
        scraped = own
        scraped.register(BAD_SIGNATURES)
    scraped.register(BusinessCollector(backorder))
    scraped.register(ReplicaCollector(backorder))
    return scraped


class Measure:
    """Counts each HTTP request and observes its latency when its answer starts, by the
    route that took it (a plain ASGI layer: it adds no task or queue to a request)."""

    def __init__(self, app: ASGIApp, latency: Histogram, requests: Counter) -> None:
        self.app, self.latency, self.requests = app, latency, requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.latency.labels(method, path).observe(time.perf_counter() - started)
                self.requests.labels(method, path, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)


def install(app: FastAPI, backorder: Backorder) -> None:
    own = CollectorRegistry()
    requests = Counter(
        "backorder_http_requests",
        "HTTP requests by route and status",
        ["method", "route", "status"],
        registry=own,
    )
    latency = Histogram(
        "backorder_http_request_duration_seconds",
        "HTTP latency by route",
        ["method", "route"],
        registry=own,
    )
    registry = _scraped(own, backorder)

    app.add_middleware(Measure, latency=latency, requests=requests)

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={
            401: {"model": Problem, "description": "No key or scrape token, or a wrong one"},
            403: {"model": Problem, "description": "The key's role may not read the metrics"},
        },
    )
    def metrics(_: Annotated[None, Depends(scraper)]) -> Response:
        """Prometheus text format. Send the scrape token (`BACKORDER_METRICS_TOKEN`) or an
        API key whose role may read the metrics, as `Authorization: Bearer …`."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Admit the scrape token, which opens the metrics and nothing else, or a key (or a
    dashboard session) whose role holds the metrics permission."""
    token = backorder_of(request).settings.metrics_token
    if (
        token is not None
        and credentials is not None
        and hmac.compare_digest(credentials.credentials.encode(), token.encode())
    ):
        return
    role_of(request, credentials, Permission.METRICS)
