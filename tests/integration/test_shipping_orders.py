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
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug import Request, Response

from backorder.config import Settings
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.model import OrderTerms, Preference
from backorder.intake.feeds import ShipmentConfirmation
from backorder.intake.shipment_feeds import CONFIRMATION_ADAPTERS
from backorder.intake.x12 import parse
from backorder.services.context import Backorder
from backorder.services.fulfilment import confirm_shipment
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add, stock_by_location, update_location
from backorder.services.notifications import log
from backorder.services.orders import cancel_order
from backorder.services.products import add_product
from backorder.services.sending import send_due
from backorder.services.shipping_orders import plan_shipping_orders
from backorder.services.stock import receive_stock, set_stock
from backorder.services.views import order_view
from backorder.store.network import all_sites
from backorder.store.tables import deliveries
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.invariants import snapshot
from tests.integration.test_ship_complete_sourcing import consolidating


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
    assert ["W05", "N", "web:1-east-1", "web:1"] in segments  # short ref, order ref
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
    app = consolidating(app)  # its units may come from several locations
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


def _945(depositor_ref: str, *lines: tuple[str, int], shipment: str = "SHP-1") -> str:
    """A 3PL's 945 answering a 940 (W06-02 carries back the 940's W05-02)."""
    details = "".join(
        f"LX*{n}~\nW12*CC*{units}*{units}**EA**SK*{sku}~\n"
        for n, (sku, units) in enumerate(lines, start=1)
    )
    body = (
        f"ST*945*0001~\nW06*F*{depositor_ref}*20261205*{shipment}~\nN1*SF*ShipBob East*ZZ*EAST~\n"
        f"N9*2I*1Z999AA10123456784~\nW27*M*UPSN~\n{details}"
    )
    count = body.count("~") + 1
    return (
        "ISA*00*          *00*          *ZZ*SHIPBOBEAST    *ZZ*BACKORDER      *261206*0930*U*"
        "00401*000000077*0*P*>~\nGS*SW*SHIPBOBEAST*BACKORDER*20261206*0930*77*X*004010~\n"
        f"{body}SE*{count}*0001~\nGE*1*77~\nIEA*1*000000077~\n"
    )


def _confirm(app: Backorder, location: str, text: str) -> str:
    """The 945 read by its adapter and confirmed at `location` (the feed intake resolves the
    location through an alias; here by hand), in one transaction."""
    adapter = CONFIRMATION_ADAPTERS["x12-945"]
    [payload] = adapter.split(text)
    document = adapter.read(payload)
    assert isinstance(document, ShipmentConfirmation)
    with app.db.write() as uow:
        site = next(s for s in all_sites(uow.connection) if s.code == location)
        said = confirm_shipment(uow, site.id, document, datetime.now(UTC))
        uow.commit()
    return said


def _deliveries(app: Backorder) -> list[tuple[str, str, int]]:
    with snapshot(app.db) as conn:
        return [
            (row.message_id, row.state, row.attempts)
            for row in conn.execute(select(deliveries).order_by(deliveries.c.id))
        ]


def test_a_cancelled_order_sends_its_3pl_one_940_cancel_once_and_refuses_its_945(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    clock.current = clock.current.now(clock.current.tzinfo)
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    secret = update_location(app, "east", {"orders_url": east.url})["orders_secret"]
    set_stock(app, "BOLT", 5, location="east")
    place_order(app, order("1", ("BOLT", 2)))
    assert plan_shipping_orders(app) == 1
    assert send_due(app) == {"sent": 1}
    cancel_order(app, "web:1")
    assert plan_shipping_orders(app) == 1  # the cancellation
    east.status = 503  # the first try fails; the retry sends the same bytes
    assert send_due(app) == {"due": 1}
    clock.advance(seconds=10)
    east.status = 202
    assert send_due(app) == {"sent": 1}
    original, cancel, again = east.verified(secret)
    assert cancel == again
    segments = _segments(cancel)
    assert ["W05", "F", "web:1-east-1", "web:1"] in segments  # F: cancel, the 940's W05-02
    assert ["W01", "2", "EA", "", "SK", "BOLT"] in segments  # the units it takes off
    assert segments[0] != _segments(original)[0]  # its own control number

    restarted = Backorder(app.db, settings=app.settings, clock=app.now)  # a worker restarts
    assert plan_shipping_orders(restarted) == 0
    assert send_due(restarted) == {}
    assert len(east.received) == 3

    # the 3PL ships it anyway: its 945 is refused in words and nothing changes
    before = _deliveries(app), stock_by_location(app, "BOLT")
    with pytest.raises(BackorderError, match=r"web:1-east-1 .* was cancelled on .*nothing shipped"):
        _confirm(app, "east", _945("web:1-east-1", ("BOLT", 2)))
    with pytest.raises(BackorderError, match=r"taken off by cancellation web:1-east-1-cancel"):
        _confirm(app, "east", _945("web:1", ("BOLT", 2)))  # named by the order reference
    assert (_deliveries(app), stock_by_location(app, "BOLT")) == before


def test_a_count_taking_units_back_cancels_and_asks_for_what_is_still_wanted(
    app: Backorder, httpserver: HTTPServer
) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    update_location(app, "east", {"orders_url": east.url, "orders_format": "json"})
    set_stock(app, "BOLT", 3, location="east")
    set_stock(app, "NUT", 1, location="east")
    place_order(app, order("8", ("BOLT", 3), ("NUT", 1)))
    assert plan_shipping_orders(app) == 1
    set_stock(app, "BOLT", 1, location="east")  # a count takes 2 BOLTs back
    assert plan_shipping_orders(app) == 2  # a cancellation and what is still wanted
    assert send_due(app) == {"sent": 3}
    _, cancel, still = [json.loads(body) for _, body in east.received]
    assert cancel == {
        "type": "cancel",
        "number": "web:8-east-1",
        "short_ref": "web:8-east-1",
        "order_ref": "web:8",
        "location": "east",
        "created_at": cancel["created_at"],
        "lines": [{"line": 1, "sku": "BOLT", "units": 3}, {"line": 2, "sku": "NUT", "units": 1}],
        "replaced_by": "web:8-east-2",
    }
    assert (still["type"], still["number"], still["lines"]) == (
        "shipping_order",
        "web:8-east-2",
        [{"line": 1, "sku": "BOLT", "units": 1}, {"line": 2, "sku": "NUT", "units": 1}],
    )
    # what shipped is never cancelled: the 3PL ships the replacement, then a count
    # takes back nothing of it; a later count takes the last BOLT: only that goes
    assert _confirm(app, "east", _945("web:8-east-2", ("NUT", 1))).startswith("shipped 1 unit")
    set_stock(app, "BOLT", 0, location="east")
    assert plan_shipping_orders(app) == 1  # a cancel of -2's BOLT; nothing still wanted
    assert send_due(app) == {"sent": 1}
    last = json.loads(east.received[-1][1])
    assert (last["type"], last["number"], last["lines"], last["replaced_by"]) == (
        "cancel",
        "web:8-east-2",
        [{"line": 1, "sku": "BOLT", "units": 1}],
        None,
    )


def test_own_locations_are_sent_no_cancellations(app: Backorder, httpserver: HTTPServer) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=9))
    east = Warehouse(httpserver, "/east")
    update_location(app, "east", {"orders_url": east.url})
    set_stock(app, "BOLT", 5)  # at main, an own warehouse
    place_order(app, order("3", ("BOLT", 2)))
    cancel_order(app, "web:3")
    assert plan_shipping_orders(app) == 0
    assert _deliveries(app) == []
    assert send_due(app) == {}
    assert east.received == []


def test_a_long_order_reference_goes_out_short_and_its_945_finds_the_order(
    app: Backorder, httpserver: HTTPServer
) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    east = Warehouse(httpserver, "/east")
    update_location(app, "east", {"orders_url": east.url})
    set_stock(app, "BOLT", 5, location="east")
    long_ref = "edifact:ACME-EUROPE:ORD-2026-000123456"
    place_order(app, order("ACME-EUROPE:ORD-2026-000123456", ("BOLT", 2), channel="edifact"))
    assert plan_shipping_orders(app) == 1
    assert send_due(app) == {"sent": 1}
    [(_, body)] = east.received
    [w05] = [s for s in _segments(body.decode()) if s[0] == "W05"]
    assert w05[1] == "N" and len(w05) == 3  # the order reference does not fit W05-03
    assert len(w05[2]) <= 22 and w05[2].startswith("BO")
    said = _confirm(app, "east", _945(w05[2], ("BOLT", 2)))
    assert said == f"shipped 2 units of {long_ref} from east (UPSN 1Z999AA10123456784)"
    assert order_view(app, long_ref)["lines"][0]["shipped"] == 2


def test_only_the_newest_shipping_orders_that_cover_the_units_taken_back_are_cancelled(
    app: Backorder, httpserver: HTTPServer
) -> None:
    add_product(app, product("BOLT"))
    add(app, LocationIn("fba", "Amazon FBA", "fba", priority=1))
    fba = Warehouse(httpserver, "/fba")
    update_location(app, "fba", {"orders_url": fba.url, "orders_format": "json"})
    set_stock(app, "BOLT", 1, location="fba")
    place_order(app, order("5", ("BOLT", 3)))  # 1 at fba now, 2 wait
    assert plan_shipping_orders(app) == 1  # web:5-fba-1: 1
    receive_stock(app, "BOLT", 2, location="fba")
    assert plan_shipping_orders(app) == 1  # web:5-fba-2: 2
    set_stock(app, "BOLT", 1, location="fba")  # a count takes 2 back
    assert plan_shipping_orders(app) == 1  # -2 cancelled; -1 stands, nothing to replace
    assert send_due(app) == {"sent": 3}
    last = json.loads(fba.received[-1][1])
    assert (last["type"], last["number"], last["lines"], last["replaced_by"]) == (
        "cancel",
        "web:5-fba-2",
        [{"line": 1, "sku": "BOLT", "units": 2}],
        None,
    )
    cancel_order(app, "web:5")  # now the last unit goes too: -1 is cancelled
    assert plan_shipping_orders(app) == 1
    assert send_due(app) == {"sent": 1}
    assert json.loads(fba.received[-1][1])["number"] == "web:5-fba-1"
    assert plan_shipping_orders(app) == 0 and send_due(app) == {}
