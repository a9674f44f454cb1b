"""Placing an order and reading its answer (the order view) in the same transaction: the
HTTP answer to a new order costs no second connection checkout, ping and transaction.

On SQLite, where one writer works at a time, orders that arrive while it is busy are placed
together in one transaction when it is free (`place_together`, a group commit): one hand-off
to a worker thread, one BEGIN and one COMMIT for all of them instead of one each."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backorder.domain.events import Event
from backorder.domain.model import OrderRequest
from backorder.services.context import Backorder
from backorder.services.intake import Placed, stage_in, validate
from backorder.services.views import order_view_in
from backorder.store.db import unavailable
from backorder.store.repos import Outbox

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Outcome:
    """What became of one order of a group: placed and answered, or the error it raised."""

    placed: Placed | None = None
    view: dict[str, Any] | None = None
    error: Exception | None = None

    @property
    def committed(self) -> bool:
        return self.placed is not None and self.placed.created

    def answer(self) -> tuple[Placed, dict[str, Any]]:
        """`place_and_view`'s answer, or its error raised."""
        if self.error is not None:
            raise self.error
        assert self.placed is not None and self.view is not None
        return self.placed, self.view


def place_together(app: Backorder, requests: Sequence[OrderRequest]) -> list[Outcome]:
    """Place `requests` in arrival order, in one transaction, each answered as
    `place_and_view` answers it: each order sees those before it, as if they had come one
    after another. If one of them fails, the shared transaction is rolled back and each is
    placed again on its own, so that the failure is that order's alone; if the database
    itself fails (unreachable, locked), every order of the group gets that error and none is
    placed."""
    outcomes: dict[int, Outcome] = {}
    valid: list[int] = []
    for i, request in enumerate(requests):
        try:
            validate(request)
        except Exception as error:
            outcomes[i] = Outcome(error=error)
        else:
            valid.append(i)
    if len(valid) > 1:
        try:
            outcomes |= _in_one_transaction(app, [(i, requests[i]) for i in valid])
            valid = []
        except Exception as error:
            if unavailable(error):  # it would fail each of them again
                outcomes |= {i: Outcome(error=error) for i in valid}
                valid = []
            else:
                log.info(
                    "a group of %d orders failed (%s): placing each on its own",
                    len(valid),
                    type(error).__name__,
                )
    for i in valid:
        try:
            placed, view = place_and_view(app, requests[i])
        except Exception as error:
            outcomes[i] = Outcome(error=error)
        else:
            outcomes[i] = Outcome(placed, view)
    return [outcomes[i] for i in range(len(requests))]


def _in_one_transaction(
    app: Backorder, requests: Sequence[tuple[int, OrderRequest]]
) -> dict[int, Outcome]:
    answered: dict[int, Outcome] = {}
    happened: list[tuple[Sequence[Event], datetime]] = []
    with app.db.write() as uow:
        for i, request in requests:
            placed, facts, now = stage_in(app, uow, request)
            answered[i] = Outcome(placed, order_view_in(uow, placed.ref, fresh=placed.created))
            happened.append((facts, now))
        if any(outcome.committed for outcome in answered.values()):
            Outbox(uow.connection).append_each(happened)
            uow.commit()
    return answered
