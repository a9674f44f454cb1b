"""Substitutes, on SQLite and PostgreSQL: naming them (not itself, both known, once each,
ranks kept 1, 2, 3), offering one to a line that waited too long (only past the threshold,
only a substitute with enough to spare beyond its own queue, once per line, never when the
setting is off), and the customer's answer (accepting moves the waiting units to a new line
of the substitute, allocated at once, keeping every invariant; refused in words when the
stock went meanwhile; declining and lapsing change nothing but the offer)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from backorder.domain.errors import AlreadyExists, InvalidRequest, UnknownSku
from backorder.domain.model import OrderTerms, Preference
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.services.substitute_answers import (
    OfferRefused,
    accept_offer,
    decline_offer,
    order_offers,
)
from backorder.services.substitute_offers import run_offers
from backorder.services.substitutes import (
    add_substitute,
    list_substitutes,
    put_substitute,
    remove_substitute,
)
from backorder.services.views import order_view
from backorder.store.tables import events
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.integration.invariants import assert_invariants


def ranks(app: Backorder, sku: str) -> list[tuple[int, str]]:
    return [(s["rank"], s["sku"]) for s in list_substitutes(app, sku)["substitutes"]]


def test_naming_substitutes(app: Backorder) -> None:
    for sku in ("FLT-10", "FLT-12", "FLT-14", "FLT-16"):
        add_product(app, product(sku))
    add_substitute(app, "FLT-10", "FLT-12", None)
    add_substitute(app, "FLT-10", "FLT-14", None)
    add_substitute(app, "FLT-10", "FLT-16", 1)  # first choice; the others move down
    assert ranks(app, "FLT-10") == [(1, "FLT-16"), (2, "FLT-12"), (3, "FLT-14")]
    with pytest.raises(InvalidRequest, match="FLT-10 cannot be its own substitute"):
        add_substitute(app, "FLT-10", "FLT-10", None)
    with pytest.raises(UnknownSku):
        add_substitute(app, "FLT-10", "NOPE", None)
    with pytest.raises(UnknownSku):
        add_substitute(app, "NOPE", "FLT-10", None)
    with pytest.raises(AlreadyExists, match="FLT-12 is already a substitute of FLT-10"):
        add_substitute(app, "FLT-10", "FLT-12", 1)
    put_substitute(app, "FLT-10", "FLT-14", 1)  # PUT moves one already named
    put_substitute(app, "FLT-10", "FLT-12", None)  # and leaves it where it is without a rank
    assert ranks(app, "FLT-10") == [(1, "FLT-14"), (2, "FLT-16"), (3, "FLT-12")]
    remove_substitute(app, "FLT-10", "FLT-16")
    assert ranks(app, "FLT-10") == [(1, "FLT-14"), (2, "FLT-12")]
    with pytest.raises(InvalidRequest, match="FLT-16 is not a substitute of FLT-10"):
        remove_substitute(app, "FLT-10", "FLT-16")
    assert ranks(app, "FLT-12") == []  # one way only: FLT-10 does not stand in for FLT-12


@pytest.fixture
def waiting(app: Backorder, clock: Clock) -> Backorder:
    """FLT-10 is out; order web:1 waits for 2 of it (at 19.99 each, from 10 January). FLT-14
    (first choice) has 1 unit, FLT-12 (second, dearer) has 5; offers after 3 days."""
    app.settings.substitute_offer_days = 3
    add_product(app, product("FLT-10", name="Filter FLT-10", lead_time_days=20))
    add_product(app, product("FLT-12", name="Filter FLT-12", unit_price=Decimal("11.50")))
    add_product(app, product("FLT-14", name="Filter FLT-14"))
    add_substitute(app, "FLT-10", "FLT-14", None)
    add_substitute(app, "FLT-10", "FLT-12", None)
    receive_stock(app, "FLT-14", 1)
    place_order(app, order("1", ("FLT-10", 2), placed_at=jan(10)))
    receive_stock(app, "FLT-12", 5)
    return app


def offers(app: Backorder, ref: str = "web:1") -> list[tuple[Any, ...]]:
    return [(o["line"], o["substitute"], o["units"], o["state"]) for o in order_offers(app, ref)]


def test_an_offer_only_past_the_threshold_only_when_stock_covers_it_and_once(
    waiting: Backorder, clock: Clock
) -> None:
    app = waiting
    clock.advance(days=2, hours=23)
    assert run_offers(app) == {} and offers(app) == []  # not 3 days yet
    clock.advance(hours=2)
    assert run_offers(app) == {"substitutes_offered": 1}
    # FLT-14, the first choice, has 1 unit: not enough for 2; FLT-12 has
    assert offers(app) == [(1, "FLT-12", 2, "offered")]
    clock.advance(days=1)
    assert run_offers(app) == {} and len(offers(app)) == 1  # a line is offered once
    # another line, for 4 units: FLT-12 has 5, of which the open offer holds out 2
    place_order(app, order("2", ("FLT-10", 4), placed_at=clock.current))
    clock.advance(days=4)
    assert run_offers(app) == {}
    assert offers(app, "web:2") == []
    with app.db.read() as uow:
        types = list(uow.connection.execute(select(events.c.type)).scalars())
    assert types.count("substitute_offered") == 1


def test_an_offer_leaves_the_substitutes_own_queue_alone(waiting: Backorder, clock: Clock) -> None:
    app = waiting
    set_stock(app, "FLT-12", 0)
    place_order(app, order("9", ("FLT-12", 4)))  # FLT-12's own queue: 4 waiting
    receive_stock(app, "FLT-12", 5)  # 4 go to its queue, 1 left: not enough for 2
    clock.advance(days=4)
    assert run_offers(app) == {} and offers(app) == []
    receive_stock(app, "FLT-12", 1)
    assert run_offers(app) == {"substitutes_offered": 1}


def test_no_offer_when_the_setting_is_off(waiting: Backorder, clock: Clock) -> None:
    app = waiting
    app.settings.substitute_offer_days = None
    clock.advance(days=30)
    assert run_offers(app) == {} and offers(app) == []


def test_accepting_moves_the_waiting_units_to_the_substitute(
    waiting: Backorder, clock: Clock, db_url: str
) -> None:
    app = waiting
    clock.advance(days=4)
    run_offers(app)
    assert accept_offer(app, "web:1", 1) == 2
    view = order_view(app, "web:1")
    first, second = view["lines"]
    assert (first["sku"], first["backordered"], first["cancelled"]) == ("FLT-10", 0, 2)
    assert first["cancellations"][-1]["reason"] == "substituted"
    assert (second["sku"], second["quantity"], second["allocated"]) == ("FLT-12", 2, 2)
    assert second["unit_price"] == first["unit_price"]  # the line's price, not FLT-12's
    assert offers(app) == [(1, "FLT-12", 2, "accepted")]
    assert order_offers(app, "web:1")[0]["new_line"] == 2
    stock = {r["sku"]: r for r in list_substitutes(app, "FLT-10")["substitutes"]}
    assert stock["FLT-12"]["available"] == 3
    with pytest.raises(OfferRefused, match="you already accepted this offer"):
        accept_offer(app, "web:1", 1)
    assert_invariants(db_url)  # conservation per line (events too), no oversell


def test_acceptance_is_refused_when_the_stock_is_gone(
    waiting: Backorder, clock: Clock, db_url: str
) -> None:
    app = waiting
    clock.advance(days=4)
    run_offers(app)
    place_order(app, order("3", ("FLT-12", 4)))  # someone buys 4 of the 5
    with pytest.raises(OfferRefused, match="only 1 is left to send now"):
        accept_offer(app, "web:1", 1)
    line = order_view(app, "web:1")["lines"]
    assert len(line) == 1 and line[0]["backordered"] == 2  # nothing changed
    assert offers(app) == [(1, "FLT-12", 2, "offered")]
    assert_invariants(db_url)


def test_declining_and_lapsing_change_only_the_offer(waiting: Backorder, clock: Clock) -> None:
    app = waiting
    place_order(app, order("2", ("FLT-10", 1), placed_at=jan(10)))
    clock.advance(days=4)
    assert run_offers(app) == {"substitutes_offered": 2}
    decline_offer(app, "web:1", 1)
    assert offers(app) == [(1, "FLT-12", 2, "declined")]
    assert order_view(app, "web:1")["lines"][0]["backordered"] == 2
    clock.advance(days=7)
    assert run_offers(app) == {"substitute_offers_lapsed": 1}
    assert offers(app, "web:2") == [(1, "FLT-14", 1, "lapsed")]  # the first choice had 1
    with pytest.raises(OfferRefused):
        accept_offer(app, "web:2", 1)
    with pytest.raises(InvalidRequest, match="no substitute offer for line 2"):
        decline_offer(app, "web:1", 2)


def test_only_stock_at_a_location_that_ships_to_the_customer_is_offered(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    """FLT-12's 5 units sit at a Canadian 3PL: an order to the US is offered nothing; once 2
    arrive at the main warehouse, it is offered them, and accepting takes them from there."""
    app.settings.substitute_offer_days = 3
    add(app, LocationIn("ca", "Toronto 3PL", "3pl", ships_to=("CA",)))
    add_product(app, product("FLT-10", lead_time_days=20))
    add_product(app, product("FLT-12"))
    add_substitute(app, "FLT-10", "FLT-12", None)
    receive_stock(app, "FLT-12", 5, location="ca")
    place_order(app, replace(order("1", ("FLT-10", 2)), ship_country="US"))
    clock.advance(days=4)
    assert run_offers(app) == {}
    receive_stock(app, "FLT-12", 2, location="main")
    assert run_offers(app) == {"substitutes_offered": 1}
    accept_offer(app, "web:1", 1)
    taken = order_view(app, "web:1")["lines"][1]["allocations"]
    assert [(a["location"], a["units"]) for a in taken] == [("main", 2)]
    assert_invariants(db_url)


def test_a_ship_complete_order_takes_the_substitute_from_its_own_location(
    app: Backorder, clock: Clock, db_url: str
) -> None:
    """The order ships complete from one location (the default): its mug is held at east,
    so the substitute must come from east too; from main it is refused, in words."""
    app.settings.substitute_offer_days = 3
    add(app, LocationIn("east", "East 3PL", "3pl"))
    add_product(app, product("FLT-10", lead_time_days=20))
    add_product(app, product("FLT-12", name="Filter FLT-12"))
    add_product(app, product("MUG"))
    add_substitute(app, "FLT-10", "FLT-12", None)
    receive_stock(app, "MUG", 1, location="east")
    complete = OrderTerms(preference=Preference.SHIP_COMPLETE)
    place_order(app, order("1", ("MUG", 1), ("FLT-10", 2), terms=complete))
    receive_stock(app, "FLT-12", 3, location="main")
    clock.advance(days=4)
    assert run_offers(app) == {"substitutes_offered": 1}
    with pytest.raises(OfferRefused, match="Filter FLT-12 has sold out meanwhile: none is"):
        accept_offer(app, "web:1", 2)
    receive_stock(app, "FLT-12", 2, location="east")
    assert accept_offer(app, "web:1", 2) == 3
    taken = order_view(app, "web:1")["lines"][2]["allocations"]
    assert [(a["location"], a["units"]) for a in taken] == [("east", 2)]
    assert_invariants(db_url)
