"""Named positions in the outbox and their lag, on each backend."""

from __future__ import annotations

import pytest

from backorder.domain.errors import InvalidRequest
from backorder.services.consumers import (
    OWN,
    UnknownConsumer,
    commit_position,
    consumers_view,
    forget_consumer,
    position_of,
)
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.views import events_view
from tests.conftest import Clock
from tests.factories import order, product


def others(app: Backorder) -> list[dict[str, object]]:
    """The consumers, but the product's own positions (notifications, shipping orders)."""
    return [c for c in consumers_view(app) if c["name"] not in OWN]


def test_a_consumer_commits_its_position_and_its_lag_follows_the_outbox(
    app: Backorder, clock: Clock
) -> None:
    add_product(app, product())
    place_order(app, order("1", ("WIDGET-BLUE", 2)))  # waits: accepted + backordered
    head = events_view(app, 0, 1000)[-1]["id"]
    first = commit_position(app, "erp-sync", 0)
    assert (first["position"], first["lag_events"]) == (0, head)

    clock.advance(minutes=5)
    assert others(app)[0]["lag_seconds"] >= 300  # the first event has waited 5 min
    caught_up = commit_position(app, "erp-sync", head)
    assert (caught_up["lag_events"], caught_up["lag_seconds"]) == (0, 0.0)
    assert position_of(app, "erp-sync") == head

    place_order(app, order("2", ("WIDGET-BLUE", 1)))
    clock.advance(seconds=30)
    (behind,) = others(app)
    assert behind["lag_events"] == events_view(app, 0, 1000)[-1]["id"] - head
    assert behind["lag_seconds"] == pytest.approx(30)

    assert commit_position(app, "erp-sync", 1)["position"] == 1  # moving back is allowed


def test_bad_positions_and_names_are_refused_and_change_nothing(app: Backorder) -> None:
    with pytest.raises(InvalidRequest, match="past the newest event"):
        commit_position(app, "erp", 1)
    for name in ("", "-lead", "has space", "x" * 65, "erp\n"):
        with pytest.raises(InvalidRequest, match="consumer name"):
            commit_position(app, name, 0)
    assert others(app) == []
    with pytest.raises(UnknownConsumer):
        forget_consumer(app, "erp")
    with pytest.raises(UnknownConsumer):
        position_of(app, "erp")
    commit_position(app, "erp", 0)
    forget_consumer(app, "erp")
    with pytest.raises(InvalidRequest, match="dispatcher"):
        forget_consumer(app, "notifier")
    with pytest.raises(InvalidRequest, match="shipping orders"):
        forget_consumer(app, "shipping_orders")
    assert others(app) == []
