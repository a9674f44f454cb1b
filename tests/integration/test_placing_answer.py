"""Placing an order and reading its answer in one transaction (POST /api/v1/orders)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from backorder.domain.errors import InvalidRequest, UnknownOrder, UnknownSku
from backorder.services.context import Backorder
from backorder.services.placing_answer import place_and_view, place_together
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.services.views import order_view
from backorder.store.tables import events
from tests.factories import order, product


def counted(app: Backorder, what: str) -> list[int]:
    """One item for each time the engine's `what` event fires (a checkout, a commit)."""
    seen: list[int] = []

    def count(*_: Any) -> None:
        seen.append(1)

    event.listen(app.db.engine, what, count)
    return seen


def test_a_new_order_is_answered_with_its_view_from_one_connection(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 3)
    seen = counted(app, "checkout")
    placed, answer = place_and_view(app, order("1", ("WIDGET-BLUE", 5)))
    assert (placed.ref, placed.created, len(seen)) == ("web:1", True, 1)
    assert answer == order_view(app, "web:1")
    assert [(x["allocated"], x["backordered"]) for x in answer["lines"]] == [(3, 2)]


def test_a_known_ref_is_answered_with_the_order_as_it_was(app: Backorder) -> None:
    add_product(app, product())
    place_and_view(app, order("1", ("WIDGET-BLUE", 5)))
    before = order_view(app, "web:1")
    placed, answer = place_and_view(app, order("1", ("WIDGET-BLUE", 9)))
    assert (placed.created, answer) == (False, before)


def test_an_unknown_sku_places_nothing(app: Backorder) -> None:
    add_product(app, product())
    with pytest.raises(UnknownSku):
        place_and_view(app, order("1", ("WIDGET-BLUE", 1), ("NO-SUCH", 1)))
    with pytest.raises(UnknownOrder):
        order_view(app, "web:1")


def test_every_new_order_is_answered_with_the_view_a_later_read_gives(app: Backorder) -> None:
    """The answer skips what a new order cannot have yet (delay notices, substitute offers,
    and the locations when nothing is allocated): it still equals the full read."""
    add_product(app, product())
    add_product(app, product("GADGET"))
    set_stock(app, "WIDGET-BLUE", 4)
    for n, lines in enumerate(
        [
            (("WIDGET-BLUE", 3),),
            (("WIDGET-BLUE", 3), ("GADGET", 1)),
            (("GADGET", 2),),
            (("GADGET", 1), ("WIDGET-BLUE", 1)),
        ]
    ):
        placed, answer = place_and_view(app, order(str(n), *lines))
        assert placed.created
        assert answer == order_view(app, placed.ref)


def test_orders_placed_together_commit_once_and_each_sees_those_before_it(
    app: Backorder,
) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 3)
    seen = counted(app, "commit")
    outcomes = place_together(
        app,
        [
            order("1", ("WIDGET-BLUE", 2)),
            order("2", ("WIDGET-BLUE", 2)),
            order("1", ("WIDGET-BLUE", 9)),
        ],
    )
    assert len(seen) == 1
    first, second, again = (outcome.answer() for outcome in outcomes)
    assert [(placed.ref, placed.created) for placed, _ in (first, second, again)] == [
        ("web:1", True),
        ("web:2", True),
        ("web:1", False),
    ]
    assert [(x["allocated"], x["backordered"]) for x in first[1]["lines"]] == [(2, 0)]
    assert [(x["allocated"], x["backordered"]) for x in second[1]["lines"]] == [(1, 1)]
    assert first[1] == again[1] == order_view(app, "web:1")
    assert second[1] == order_view(app, "web:2")
    with app.db.read() as uow:
        refs = uow.connection.execute(select(events.c.order_ref).order_by(events.c.id)).scalars()
        placed_events = [ref for ref in refs if ref is not None]
    assert placed_events == sorted(placed_events)  # web:1's events, then web:2's
    assert set(placed_events) == {"web:1", "web:2"}


def test_an_order_that_fails_in_a_group_fails_alone(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 5)
    outcomes = place_together(
        app,
        [
            order("1", ("WIDGET-BLUE", 1)),
            order("2", ("WIDGET-BLUE", 1), ("NO-SUCH", 1)),
            order("3", ("WIDGET-BLUE", 1)),
            order("4"),  # no lines: refused before any transaction
        ],
    )
    assert [outcome.committed for outcome in outcomes] == [True, False, True, False]
    assert isinstance(outcomes[1].error, UnknownSku)
    assert isinstance(outcomes[3].error, InvalidRequest)
    with pytest.raises(UnknownSku):
        outcomes[1].answer()
    with pytest.raises(UnknownOrder):
        order_view(app, "web:2")
    # the others were placed once each, on their own, after the group's transaction rolled back
    assert [x["allocated"] for x in order_view(app, "web:3")["lines"]] == [1]
    with app.db.read() as uow:
        placed = uow.connection.execute(
            select(events.c.order_ref).where(events.c.type == "order_accepted")
        ).scalars()
        assert sorted(placed) == ["web:1", "web:3"]


def test_a_group_the_database_cannot_take_fails_whole_and_is_not_tried_again(
    app: Backorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_product(app, product())
    tried: list[int] = []

    def away() -> Any:
        tried.append(1)
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(app.db, "write", away)
    outcomes = place_together(app, [order("1", ("WIDGET-BLUE", 1)), order("2", ("WIDGET-BLUE", 1))])
    assert [type(outcome.error) for outcome in outcomes] == [OperationalError] * 2
    assert len(tried) == 1  # each on its own would only meet the same database
    monkeypatch.undo()
    with pytest.raises(UnknownOrder):
        order_view(app, "web:1")
