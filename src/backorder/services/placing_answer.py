"""Placing an order and reading its answer (the order view) in the same transaction: the
HTTP answer to a new order costs no second connection checkout, ping and transaction."""

from __future__ import annotations

from typing import Any

from backorder.domain.model import OrderRequest
from backorder.services.context import Backorder
from backorder.services.intake import Placed, stage_in, validate
from backorder.services.views import order_view_in
from backorder.store.repos import Outbox


def place_and_view(app: Backorder, request: OrderRequest) -> tuple[Placed, dict[str, Any]]:
    """`place_order`, answered with the order's view as it stands at commit: the view is
    read on the placing connection just before the commit, so it is the order as placed,
    and an order whose view cannot be read is not placed."""
    validate(request)
    with app.db.write() as uow:
        placed, facts, now = stage_in(app, uow, request)
        view = order_view_in(uow, placed.ref, fresh=placed.created)
        if placed.created:
            # the events last: from here to the commit, other writers of events wait
            Outbox(uow.connection).append(facts, now)
            uow.commit()
    return placed, view
