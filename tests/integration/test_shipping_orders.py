"""Shipping orders to 3PL locations, through the outbox to a real HTTP server on loopback:
one per order, location and allocation, signed; a retry sends the same document; a restarted
worker sends nothing twice; own locations get none."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.domain.model import OrderTerms, Preference
from backorder.intake.x12 import parse
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, update_location
from backorder.services.notifications import log
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.shipping_orders import plan_shipping_orders
from backorder.services.stock import receive_stock, set_stock
from tests.conftest import Clock
from tests.factories import order, product


class Warehouse:
    """A 3PL's endpoint: records each request, answers as told."""

    def __init__(self, server: HTTPServer, path: str) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 202
        self.url = server.url_for(path)
        self.lock = threading.Lock()
        server.expect_request(path, method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.received.append(
                ({k.lower(): v for k, v in request.headers.items()}, request.get_data())
            )
        return Response(status=self.status)

    def verified(self, secret: str) -> list[str]:
        """Each body, after checking its Standard Webhooks signature (`Webhook.verify` reads
        the body as JSON; a 940 is not, so the signature is made again and compared)."""
        for headers, body in self.received:
            sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
            expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
            assert expected in headers["webhook-signature"].split(" ")
        return [body.decode() for _, body in self.received]


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        notify_max_attempts=3,
        notify_retry_base_seconds=10,
        webhook_timeout_seconds=5,
    )


def _segments(document: str) -> list[list[str]]:
    [interchange] = parse(document)
    [group] = interchange.groups
    [tset] = group.sets
    assert not tset.problems and not group.notes and not interchange.notes
    return [[interchange.isa.get(13)], [group.gs.get(1)]] + [s.elements for s in tset.segments]


def test_one_940_per_order_and_location_resent_alike_and_never_twice(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    clock.current = clock.current.now(clock.current.tzinfo)  # signatures carry real time
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    secret = update_location(app, "east", {"orders_url": east.url})["orders_secret"]
    set_stock(app, "BOLT", 2, location="east")
    set_stock(app, "BOLT", 5)  # at main, an own warehouse: it gets no shipping orders
    place_order(app, replace(order("1", ("BOLT", 2)), ship_country="US"))  # all at east
    place_order(app, order("2", ("BOLT", 4)))  # all at main
    assert plan_shipping_orders(app) == 1
    east.status = 500
    assert send_due(app) == {"due": 1}
    clock.advance(seconds=10)
    east.status = 202
    assert send_due(app) == {"sent": 1}
    first, again = east.verified(secret)
    assert first == again  # the same document, control numbers and all
    assert east.received[0][0]["webhook-id"] == east.received[1][0]["webhook-id"]
    assert east.received[0][0]["content-type"] == "application/edi-x12"
    segments = _segments(first)
    assert segments[:2] == [["000000001"], ["OW"]]
    assert ["W05", "N", "web:1", "web:1-east-1"] in segments
    assert ["N4", "", "", "", "US"] in segments
    assert ["W01", "2", "EA", "", "SK", "BOLT"] in segments
    assert segments[-1] == ["SE", str(len(segments) - 2), "0001"]
    assert [m["state"] for m in log(app, "web:1")] == ["sent"]
    assert log(app, "web:2") == []

    restarted = Backorder(app.db, settings=app.settings, clock=app.now)  # a worker restarts
    assert plan_shipping_orders(restarted) == 0
    assert send_due(restarted) == {}
    assert len(east.received) == 2


def test_a_receipt_serving_a_waiting_line_sends_the_next_shipping_order_as_json(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    clock.current = clock.current.now(clock.current.tzinfo)
    add_product(app, product("BOLT"))
    add(app, LocationIn("fba", "Amazon FBA", "fba", priority=1))
    fba = Warehouse(httpserver, "/fba")
    made = update_location(app, "fba", {"orders_url": fba.url, "orders_format": "json"})
    set_stock(app, "BOLT", 1, location="fba")
    place_order(app, order("5", ("BOLT", 3)))  # 1 at fba now, 2 wait
    assert plan_shipping_orders(app) == 1
    receive_stock(app, "BOLT", 2, location="fba")  # the waiting units, at fba
    assert plan_shipping_orders(app) == 1
    assert send_due(app) == {"sent": 2}
    documents = [json.loads(body) for body in fba.verified(made["orders_secret"])]
    assert [(d["number"], d["lines"]) for d in documents] == [
        ("web:5-fba-1", [{"line": 1, "sku": "BOLT", "units": 1}]),
        ("web:5-fba-2", [{"line": 1, "sku": "BOLT", "units": 2}]),
    ]
    assert fba.received[0][0]["content-type"] == "application/json"


def test_an_own_location_takes_no_shipping_orders(app: Backorder) -> None:
    with pytest.raises(InvalidRequest, match="only 3pl and fba take shipping orders"):
        update_location(app, "main", {"orders_url": "http://127.0.0.1:9/orders"})
    with pytest.raises(InvalidRequest, match="format: one of x12-940, json"):
        update_location(app, "main", {"orders_format": "csv"})


def test_a_ship_complete_order_is_sent_once_nothing_waits(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    update_location(app, "east", {"orders_url": east.url, "orders_format": "json"})
    set_stock(app, "BOLT", 2, location="east")
    complete = OrderTerms(preference=Preference.SHIP_COMPLETE)
    place_order(app, replace(order("7", ("BOLT", 2), ("NUT", 1)), terms=complete))
    assert plan_shipping_orders(app) == 0  # its NUT waits: east must not ship the BOLTs yet
    receive_stock(app, "NUT", 1)  # at main: nothing waits now
    assert plan_shipping_orders(app) == 1
    assert send_due(app) == {"sent": 1}
    [(_, body)] = east.received
    sent = json.loads(body)
    assert (sent["ship_complete"], sent["lines"]) == (
        True,
        [{"line": 1, "sku": "BOLT", "units": 2}],
    )


def test_units_taken_back_and_allocated_again_are_not_asked_for_twice(
    app: Backorder, httpserver: HTTPServer
) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    update_location(app, "east", {"orders_url": east.url, "orders_format": "json"})
    set_stock(app, "BOLT", 3, location="east")
    place_order(app, order("8", ("BOLT", 3)))
    assert plan_shipping_orders(app) == 1
    set_stock(app, "BOLT", 1, location="east")  # a count takes 2 back
    set_stock(app, "BOLT", 3, location="east")  # and they are allocated again
    assert plan_shipping_orders(app) == 0  # the 3PL was asked for all 3 already
    set_stock(app, "BOLT", 5, location="east")
    place_order(app, order("9", ("BOLT", 1)))
    assert plan_shipping_orders(app) == 1  # a new order is asked for
