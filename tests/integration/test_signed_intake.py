"""Signed webhook deliveries on each backend: a delivery sent again (by the channel, or by
anyone who saw it) is stored once and counted, even when the copies arrive together."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from backorder.services import signed_intake
from backorder.services.context import Backorder
from backorder.services.ingest import Outcome, receive, summary
from backorder.services.products import add_product
from backorder.services.signed_intake import take_in_signed
from backorder.store.tables import intake_payloads, signed_deliveries
from tests.factories import product

BODY = (
    '{"channel": "web", "external_id": "%s", "placed_at": "2026-01-05T10:00:00Z",'
    ' "customer": {"id": "c-1", "email": "ada@example.com"},'
    ' "lines": [{"sku": "WIDGET-BLUE", "quantity": 1}]}'
)
COPIES = 6


def _stored(app: Backorder) -> tuple[int, int]:
    with app.db.read() as uow:
        payloads = uow.connection.execute(
            select(func.count()).select_from(intake_payloads)
        ).scalar_one()
        replays = uow.connection.execute(
            select(func.coalesce(func.sum(signed_deliveries.c.replays), 0))
        ).scalar_one()
    return int(payloads), int(replays)


def test_a_delivery_sent_again_gets_the_first_answer_and_stores_nothing(app: Backorder) -> None:
    add_product(app, product())
    first = take_in_signed(app, "canonical", BODY % "1", "default")
    again = take_in_signed(app, "canonical", BODY % "1", "default")
    assert summary(again.outcomes) == summary(first.outcomes) != summary([])
    assert _stored(app) == (1, 1)
    other = take_in_signed(app, "canonical", BODY % "1", "eu")  # another account: its own
    assert summary(other.outcomes)["duplicates"] == ["web:1"]
    assert _stored(app) == (2, 1)


def test_copies_arriving_together_are_stored_once(
    app: Backorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every copy looks for the delivery before any has stored it (the worst interleaving,
    forced): one stores it, each other one finds it recorded when it tries, and is counted."""
    add_product(app, product())
    looked = threading.Barrier(COPIES, timeout=30)
    first_look = threading.local()
    look = signed_intake._replay

    def look_together(*args: Any) -> Any:
        found = look(*args)
        if not getattr(first_look, "done", False):
            first_look.done = True
            looked.wait()
        return found

    monkeypatch.setattr(signed_intake, "_replay", look_together)

    def deliver(_: int) -> dict[str, object]:
        return summary(take_in_signed(app, "canonical", BODY % "2", "default").outcomes)

    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(deliver, range(COPIES), timeout=120))
    monkeypatch.undo()
    assert _stored(app) == (1, COPIES - 1)
    settled = summary(take_in_signed(app, "canonical", BODY % "2", "default").outcomes)
    assert settled["accepted"] == ["web:2"]
    with app.db.read() as uow:
        (stored,) = uow.connection.execute(select(intake_payloads.c.id)).scalars()
    # a copy that found the first stored but not yet placed was told it is pending
    assert all(answer in (settled, summary([Outcome(stored, "pending")])) for answer in answers)
    assert settled in answers


def test_a_copy_that_comes_while_the_first_is_placed_is_told_it_is_pending(
    app: Backorder,
) -> None:
    add_product(app, product())
    (stored,) = receive(app, "canonical", BODY % "3")  # stored, not processed yet
    with app.db.write() as uow:
        uow.connection.execute(
            insert(signed_deliveries).values(
                channel="canonical",
                account="default",
                body_hash=hashlib.sha256((BODY % "3").encode()).hexdigest(),
                payload_ids=[stored],
                received_at=app.now(),
                replays=0,
            )
        )
        uow.commit()
    again = take_in_signed(app, "canonical", BODY % "3", "default")
    assert (summary(again.outcomes)["pending"], again.stored_only) == ([stored], True)
