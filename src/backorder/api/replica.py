"""The read replica in /readyz and /metrics: whether it answers, and how far behind it is.
A replica that does not answer leaves the process ready: the reads it would serve go to the
primary meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backorder.services.context import Backorder
from backorder.store.replica import replica_state


def ready_view(backorder: Backorder) -> dict[str, Any] | None:
    """/readyz's `replica`: None when no replica is set."""
    state = replica_state(backorder.db)
    if state is None:
        return None
    return {"status": state.status, "lag_seconds": state.lag_seconds}


class ReplicaCollector(Collector):
    """Two gauges, only when a replica is set: up (1/0) and its replay lag in seconds."""

    def __init__(self, backorder: Backorder) -> None:
        self.backorder = backorder

    def collect(self) -> Iterator[Metric]:
        state = replica_state(self.backorder.db)
        if state is None:
            return
        yield GaugeMetricFamily(
            "backorder_read_replica_up",
            "1 while the read replica answers; 0 while its reads go to the primary",
            value=1 if state.reachable else 0,
        )
        if state.lag_seconds is not None:
            yield GaugeMetricFamily(
                "backorder_read_replica_lag_seconds",
                "Age of the last transaction the read replica replayed (0 when it has "
                "replayed all it received)",
                value=state.lag_seconds,
            )
