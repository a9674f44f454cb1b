"""KPIs by location, pinned by a hand-checked story, on SQLite and PostgreSQL.

East (a 3PL, first by priority) ships to the US only; main ships anywhere. The clock starts
on 10 January at 09:00 (UTC):

- 10 Jan: A on hand: 2 at east, 3 at main. U1 (US) A x2: from east, whole. D2 (Germany)
  A x4: 3 from main, 1 waits. U3 (US) A x1: nothing free that may serve it: it waits.
- 11 Jan: U1 ships from east.
- 12 Jan: 2 A arrive at east: U3 (east cannot serve D2) gets 1, after 2.0 days.
- 13 Jan: 1 A arrives at main: D2's last unit, after 3.0 days.
- 14 Jan: D2 ships from main, U3 from east: each order 4.0 days from placing to shipping.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.kpis import Dimension, kpis
from backorder.services.locations import LocationIn, add
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from tests.conftest import Clock
from tests.factories import order, product

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def at(day: int) -> datetime:
    return datetime(2026, 1, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def story(app: Backorder, clock: Clock) -> Backorder:
    return make_story(app, clock)


def make_story(app: Backorder, clock: Clock) -> Backorder:
    """The story of the module's docstring, up to 15 January 09:00."""
    clock.current = at(10)
    add_product(app, product("A"))
    add(app, LocationIn("east", "East 3PL", "3pl", ("US",), priority=1))
    set_stock(app, "A", 2, location="east")
    set_stock(app, "A", 3)
    for ref, country, units in (("U1", "US", 2), ("D2", "DE", 4), ("U3", "US", 1)):
        place_order(app, replace(order(ref, ("A", units), placed_at=at(10)), ship_country=country))
    clock.current = at(11)
    ship_order(app, "web:U1")
    clock.current = at(12)
    receive_stock(app, "A", 2, location="east")
    clock.current = at(13)
    receive_stock(app, "A", 1)
    clock.current = at(14)
    ship_order(app, "web:D2")
    ship_order(app, "web:U3")
    clock.current = at(15)
    return app


def test_each_location_has_the_kpis_of_what_it_sourced_filled_and_shipped(
    story: Backorder,
) -> None:
    report = kpis(story, *JANUARY, by=Dimension.LOCATION)
    groups = {g["key"]: g["kpis"] for g in report["groups"]}
    assert sorted(groups) == ["east", "main"]
    east, main = groups["east"], groups["main"]
    # of the lines each sourced at intake, those that also waited
    assert (east["backorder_rate"]["lines_placed"], east["backorder_rate"]["value"]) == (1, 0.0)
    assert (main["backorder_rate"]["lines_placed"], main["backorder_rate"]["value"]) == (1, 1.0)
    # the waits each filled
    assert east["average_backorder_duration"]["value"] == 2.0
    assert main["average_backorder_duration"]["value"] == 3.0
    # the orders that waited, completed by a shipment from it
    assert (east["fill_time"]["orders"], east["fill_time"]["value"]) == (1, 4.0)
    assert (main["fill_time"]["orders"], main["fill_time"]["value"]) == (1, 4.0)
    # its shipments
    assert east["fulfillment_accuracy"]["shipped_lines"] == 2
    assert main["fulfillment_accuracy"]["shipped_lines"] == 1
    # what has no location is not a location's
    assert east["conversion_rate"]["value"] is None
    assert east["promise_accuracy"]["value"] is None


def test_by_location_the_overall_figures_are_everything_s(story: Backorder) -> None:
    overall = kpis(story, *JANUARY)["kpis"]
    assert kpis(story, *JANUARY, by=Dimension.LOCATION)["kpis"] == overall
    assert overall["backorder_rate"]["value"] == 0.6667  # D2 and U3 of 3 orders
    assert overall["conversion_rate"]["converted_units"] == 2
