"""Webhook deliveries from the outbox, on each backend, to a real HTTP server on loopback:
every event reaches each subscriber once, signed the Standard Webhooks way; failures are
retried with backoff and end visibly dead; a lapsed claim is sent again with the same id."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug import Request, Response

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import Retried, failed, log, retry, retry_all
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.sending import _claim, send_due
from backorder.services.stock import receive_stock
from backorder.services.subscriptions import add_subscription, remove_subscription
from tests.conftest import Clock
from tests.factories import order, product


class Subscriber:
    """A webhook endpoint that records every request and answers as told."""

    def __init__(self, server: HTTPServer, path: str = "/hook") -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        self.url = server.url_for(path)
        self.lock = threading.Lock()
        server.expect_request(path, method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.received.append((dict(request.headers), request.get_data()))
        return Response(status=self.status)

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Each request's body, after checking its signature as a subscriber would."""
        checker = Webhook(secret)
        bodies = []
        for headers, body in self.received:
            lower = {k.lower(): v for k, v in headers.items()}
            checker.verify(body, lower)  # raises on a bad signature or a stale timestamp
            bodies.append(json.loads(body) | {"webhook-id": lower["webhook-id"]})
        return bodies


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        notify_max_attempts=3,
        notify_retry_base_seconds=10,
        webhook_timeout_seconds=5,
    )


def test_every_event_reaches_each_subscriber_once_signed(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    clock.current = clock.current.now(clock.current.tzinfo)  # signatures carry real time
    add_product(app, product("WIDGET-BLUE"))
    receive_stock(app, "WIDGET-BLUE", 1)
    place_order(app, order("early", ("WIDGET-BLUE", 1)))  # before anyone subscribed
    everything = Subscriber(httpserver, "/all")
    backorders = Subscriber(httpserver, "/backorders")
    every = add_subscription(app, everything.url, description="ERP")
    only = add_subscription(app, backorders.url, ["line_backordered"])
    assert every["secret"].startswith("whsec_")

    place_order(app, order("100", ("WIDGET-BLUE", 3)))
    # order_accepted and line_backordered to one, the latter to both; and the staff alert it
    # raised (the SKU is sold out and orders keep coming) to the one that takes everything
    assert plan(app) == 4
    assert plan(app) == 0
    assert send_due(app) == {"sent": 4}
    assert send_due(app) == {}

    bodies = everything.verified(every["secret"])
    assert [b["type"] for b in bodies] == ["order_accepted", "line_backordered", "alert_raised"]
    assert bodies[0]["data"]["order_ref"] == "web:100"
    assert bodies[2]["data"]["kind"] == "sold_out_demand"
    assert bodies[2]["data"]["sku"] == "WIDGET-BLUE"
    assert len({b["webhook-id"] for b in bodies}) == 3
    (backordered,) = backorders.verified(only["secret"])
    assert backordered["type"] == "line_backordered"
    assert backordered["data"]["backordered"] == 3
    with pytest.raises(WebhookVerificationError):  # another subscriber's secret does not verify
        Webhook(only["secret"]).verify(
            everything.received[0][1], {k.lower(): v for k, v in everything.received[0][0].items()}
        )
    assert [m["state"] for m in log(app, "web:100")] == ["sent"] * 3
    assert log(app, "web:early") == []


def test_failures_back_off_then_die_visibly_and_can_be_retried(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    add_product(app, product("WIDGET-BLUE"))
    hook = Subscriber(httpserver)
    hook.status = 500
    add_subscription(app, hook.url, ["order_accepted"])
    place_order(app, order("200", ("WIDGET-BLUE", 1)))
    plan(app)
    assert send_due(app) == {"due": 1}
    assert send_due(app) == {}  # not due again yet: it backs off
    clock.advance(seconds=10)  # the first wait is 5 to 10 s
    assert send_due(app) == {"due": 1}
    clock.advance(seconds=20)
    assert send_due(app) == {"dead": 1}  # the third attempt was the last
    (dead,) = failed(app)
    assert (dead["attempts"], dead["last_status"]) == (3, 500)
    assert dead["last_error"].startswith("HTTP 500")
    assert len({h["Webhook-Id"] for h, _ in hook.received}) == 1  # one id on every attempt

    hook.status = 200
    assert retry(app) == 1
    assert send_due(app) == {"sent": 1}
    assert failed(app) == []
    assert retry(app, dead["id"]) == 1  # a manual redelivery of a sent message
    assert send_due(app) == {"sent": 1}
    assert len(hook.received) == 5
    with pytest.raises(InvalidRequest):
        retry(app, 999)


def test_retry_all_sends_now_what_waits_on_a_backoff_and_keeps_its_attempts(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    add_product(app, product("WIDGET-BLUE"))
    hook = Subscriber(httpserver)
    hook.status = 503  # an outage
    add_subscription(app, hook.url, ["order_accepted"])
    place_order(app, order("300", ("WIDGET-BLUE", 1)))
    plan(app)
    assert send_due(app) == {"due": 1}
    assert send_due(app) == {}  # backing off: due again in 5 to 10 s

    hook.status = 200  # the outage is fixed; the operator wants it sent now
    assert retry_all(app) == Retried(failed=0, waiting=1)
    assert send_due(app) == {"sent": 1}  # without moving the clock
    (message,) = log(app, "web:300")
    assert (message["state"], message["attempts"]) == ("sent", 2)
    assert retry_all(app) == Retried(failed=0, waiting=0)  # nothing sent is sent again


def test_a_claim_that_lapses_is_sent_again_with_the_same_id(
    app: Backorder, httpserver: HTTPServer, clock: Clock
) -> None:
    add_product(app, product("WIDGET-BLUE"))
    hook = Subscriber(httpserver)
    add_subscription(app, hook.url, ["order_accepted"])
    place_order(app, order("300", ("WIDGET-BLUE", 1)))
    plan(app)
    (claimed,) = _claim(app, 10).attempts  # a worker takes it and dies before sending
    assert send_due(app) == {}  # another worker leaves it alone while the lease holds
    clock.advance(seconds=app.settings.notify_lease_seconds + 1)
    assert send_due(app) == {"sent": 1}
    (message,) = log(app, "web:300")
    assert (message["id"], message["attempts"], message["state"]) == (claimed, 2, "sent")
    assert hook.received[0][0]["Webhook-Id"] == message["message_id"]


def test_a_removed_subscription_gets_nothing_more(app: Backorder, httpserver: HTTPServer) -> None:
    add_product(app, product("WIDGET-BLUE"))
    hook = Subscriber(httpserver)
    made = add_subscription(app, hook.url)
    place_order(app, order("400", ("WIDGET-BLUE", 1)))
    plan(app)
    assert remove_subscription(app, made["id"]) == 3  # the order's two events, and the alert
    assert send_due(app) == {}
    assert [m["state"] for m in log(app, "web:400")] == ["withdrawn", "withdrawn"]
    with pytest.raises(InvalidRequest):
        remove_subscription(app, made["id"])
    for bad in ("ftp://x", "not a url", "http://a]b.example/"):  # a bracket: no IPv6 address
        with pytest.raises(InvalidRequest):
            add_subscription(app, bad)
    with pytest.raises(InvalidRequest, match="unknown event type"):
        add_subscription(app, hook.url, ["order_teleported"])


def test_workers_racing_send_each_message_once(app: Backorder, httpserver: HTTPServer) -> None:
    add_product(app, product("WIDGET-BLUE"))
    hook = Subscriber(httpserver)
    add_subscription(app, hook.url, ["order_accepted"])
    for number in range(40):
        place_order(app, order(f"r{number}", ("WIDGET-BLUE", 1)))
    plan(app)
    results: list[dict[str, int]] = []

    def work() -> None:
        for _ in range(20):
            results.append(send_due(app, limit=3))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.get("sent", 0) for r in results) == 40
    assert len(hook.received) == 40
    assert len({h["Webhook-Id"] for h, _ in hook.received}) == 40
