"""The dashboard's stock forms at a location (api/actions.py): a select of the active
locations, the default one chosen; a receipt or a count acts at the location chosen and the
outcome names it; a count there takes back the lowest-ranked allocation *there*; an unknown,
inactive or malformed location, or a purchase order's receipt named elsewhere than where the
order arrives, is refused in words and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backorder.domain.access import Role
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location, update_location
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from tests.api.test_dashboard_actions_http import act, signed_in
from tests.api.test_dashboard_actions_http import store as store  # the January store
from tests.factories import order

SELECT = re.compile(r'<select name="location"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>')


@pytest.fixture
def network(store: Backorder) -> Backorder:
    """January's store (B: 1 on hand at main, held by web:W2; amazon:M3 waits for 1, web:W4
    for 3) with a 3PL `east` and a store `west` that is no longer active."""
    add(store, LocationIn("east", "East 3PL", "3pl"))
    add(store, LocationIn("west", "West store", "store"))
    update_location(store, "west", {"active": False})
    return store


@pytest.fixture
def ops(network: Backorder) -> Iterator[TestClient]:
    yield from signed_in(network, Role.OPS)


def at(app: Backorder, sku: str) -> dict[str, tuple[int, int]]:
    """(on hand, allocated) of the SKU at each location."""
    return {
        level["location"]: (level["on_hand"], level["allocated"])
        for level in stock_by_location(app, sku)["locations"]
    }


def held(app: Backorder, ref: str) -> tuple[int, int]:
    """(allocated, waiting) of the order's first line."""
    first: dict[str, Any] = order_view(app, ref)["lines"][0]
    return first["allocated"], first["backordered"]


@pytest.mark.parametrize("page", ["/records/products/B", "/records/queues/B", "/records/stock/B"])
def test_the_stock_forms_offer_the_active_locations_with_the_default_chosen(
    ops: TestClient, page: str
) -> None:
    shown = ops.get(page).text
    selects = SELECT.findall(shown)
    assert len(selects) == 2, page  # receive and count
    for options in selects:
        assert OPTION.findall(options) == [("east", ""), ("main", " selected")]  # not west
    assert "east (East 3PL)" in selects[0]


def test_a_receipt_at_a_second_location_lands_there_and_says_so(
    ops: TestClient, network: Backorder
) -> None:
    page = "/records/products/B"
    back, outcome = act(ops, page, "/records/stock/B/receipts", qty="4", location="east")
    assert back == page
    assert outcome == (
        "Received 4 units of B at east: on hand 5 in all, available 0; "
        "4 units went to 2 waiting lines"
    )
    assert at(network, "B") == {"main": (1, 1), "east": (4, 4)}
    assert held(network, "amazon:M3") == (1, 0) and held(network, "web:W4") == (3, 0)
    table = ops.get(page).text
    assert re.search(r'data-testid="stock-at-east">.*?>4</td>', table)


def test_a_count_at_a_second_location_takes_back_its_lowest_ranked_allocation_there(
    ops: TestClient, network: Backorder
) -> None:
    """web:W4 is the lowest-ranked line holding units at east; web:W5, ranked lower still,
    holds its unit at main and keeps it."""
    receive_stock(network, "B", 4, location="east")  # M3 and W4 take them
    place_order(network, order("W5", ("B", 1), channel="web"))
    receive_stock(network, "B", 1)  # at main: W5 takes it
    assert held(network, "web:W5") == (1, 0)
    page = "/records/queues/B"
    back, outcome = act(ops, page, "/records/stock/B/count", on_hand="3", location="east")
    assert back == page
    assert outcome == (
        "Counted 3 units of B on hand at east: on hand 5 in all, available 0; "
        "1 unit went back to waiting"
    )
    assert at(network, "B")["east"] == (3, 3) and at(network, "B")["main"] == (2, 2)
    assert held(network, "web:W4") == (2, 1)
    assert held(network, "web:W5") == (1, 0) and held(network, "amazon:M3") == (1, 0)


@pytest.mark.parametrize(
    ("action", "fields", "said"),
    [
        ("receipts", {"qty": "4", "location": "nowhere"}, "no location 'nowhere'"),
        ("count", {"on_hand": "9", "location": "nowhere"}, "no location 'nowhere'"),
        ("receipts", {"qty": "4", "location": "west"}, "location west is not active"),
        ("count", {"on_hand": "9", "location": "west"}, "location west is not active"),
        ("receipts", {"qty": "4", "location": "East!"}, "the location: string should match"),
        (
            "receipts",
            {"qty": "4", "location": "east", "ref": "PO-1"},
            "purchase order PO-1 arrives at main, not east: receive it at main",
        ),
    ],
)
def test_a_bad_location_is_refused_in_words_and_changes_nothing(
    ops: TestClient, network: Backorder, action: str, fields: dict[str, str], said: str
) -> None:
    before = (stock_by_location(network, "B"), order_view(network, "web:W4"))
    outcome = act(ops, "/records/products/B", f"/records/stock/B/{action}", **fields)[1]
    assert outcome.startswith("Nothing was changed: ") and said in outcome, outcome
    assert (stock_by_location(network, "B"), order_view(network, "web:W4")) == before
    outstanding = ops.get("/api/v1/purchase-orders/PO-1").json()["lines"][0]["outstanding"]
    assert outstanding == 5


def test_a_purchase_orders_receipt_at_the_location_it_arrives_at_counts_against_it(
    ops: TestClient, network: Backorder
) -> None:
    outcome = act(ops, "/records/products/B", "/records/stock/B/receipts", qty="2", ref="PO-1")[1]
    assert outcome.startswith("Received 2 units of B at main:"), outcome
    assert ops.get("/api/v1/purchase-orders/PO-1").json()["lines"][0]["outstanding"] == 3
    assert at(network, "B")["main"] == (3, 3)
