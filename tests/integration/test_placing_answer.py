"""Placing an order and reading its answer in one transaction (POST /api/v1/orders)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from backorder.domain.errors import UnknownOrder, UnknownSku
from backorder.services.context import Backorder
from backorder.services.placing_answer import place_and_view
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.services.views import order_view
from tests.factories import order, product


def checkouts(app: Backorder) -> list[int]:
    seen: list[int] = []

    def count(*_: Any) -> None:
        seen.append(1)

    event.listen(app.db.engine, "checkout", count)
    return seen


def test_a_new_order_is_answered_with_its_view_from_one_connection(app: Backorder) -> None:
    add_product(app, product())
    set_stock(app, "WIDGET-BLUE", 3)
    seen = checkouts(app)
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
