"""Texts and staff alerts, on each backend, against real servers on loopback: an HTTP server
plays the SMS provider (the Twilio Messages API) and a Slack-style webhook, aiosmtpd takes
staff e-mail. Customers text only with consent; the provider's faults are retried or dead as
they deserve; alerts open, tell their audience once, and resolve when the problem is gone;
runs of one milestone for one order are folded into one message."""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backorder.config import Settings
from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import failed, log, retry
from backorder.services.orders import cancel_order
from backorder.services.planning import plan
from backorder.services.preferences import preferences, set_preference
from backorder.services.products import add_product
from backorder.services.sending import _claim, send_due
from backorder.services.stock import receive_stock, set_stock
from backorder.services.subscriptions import add_subscription
from tests.conftest import Clock
from tests.factories import order, product
from tests.mail import Inbox, parts

SID = "AC00000000000000000000000000000001"
TOKEN = "secret-token"


class Provider:
    """The Twilio Messages API: records each text and answers as told (201 with a sid by
    default; a list of (status, headers) to answer first)."""

    def __init__(self, server: HTTPServer) -> None:
        self.texts: list[dict[str, str]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.base = server.url_for("/").rstrip("/")
        path = f"/2010-04-01/Accounts/{SID}/Messages.json"
        server.expect_request(path, method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response(json.dumps({"code": 20003, "message": "Authenticate"}), status=401)
        with self.lock:
            if self.answers:
                status, headers = self.answers.pop(0)
                body = {"code": 21211, "message": "The 'To' number is not valid", "status": status}
                return Response(json.dumps(body), status=status, headers=headers)
            form = {k: v[-1] for k, v in parse_qs(request.get_data(as_text=True)).items()}
            self.texts.append(form)
            sid = f"SM{len(self.texts):032d}"
        answer = {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}
        return Response(json.dumps(answer), status=201, content_type="application/json")


@pytest.fixture
def provider(httpserver: HTTPServer) -> Provider:
    return Provider(httpserver)


@pytest.fixture
def settings(provider: Provider, inbox: tuple[Inbox, int]) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        public_url="https://shop.example",
        mail_from="Acme Shop <orders@shop.example>",
        shop_name="Acme Shop",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        sms_url=provider.base,
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from="+15550000000",
        manager_phone="+15550009999",
        manager_email=["manager@shop.example"],
        sales_email=["sales@shop.example"],
        procurement_email=["buyers@shop.example"],
        sms_threshold=Decimal("100"),
        alert_stock_below=3,
        notify_max_attempts=3,
        notify_retry_base_seconds=10,
        notify_fold_seconds=0,
        email_off=["backorder_confirmed", "status_update", "allocated", "shipped", "cancelled"],
    )


def deliver(app: Backorder) -> dict[str, int]:
    plan(app)
    return send_due(app)


def customers_only(app: Backorder) -> None:
    """No staff alerts: the test is about what customers hear."""
    settings = app.settings
    settings.sales_email = settings.procurement_email = settings.manager_email = []
    settings.manager_phone = settings.sms_threshold = settings.alert_stock_below = None


def to(box: Inbox, address: str) -> list[str]:
    return [m["Subject"] for m in box.messages if m["To"] == address]


def test_customers_text_only_with_consent_and_the_provider_keeps_its_id(
    app: Backorder, provider: Provider
) -> None:
    customers_only(app)
    add_product(app, product("WIDGET-BLUE", lead_time_days=10))
    place_order(app, order("1", ("WIDGET-BLUE", 2), phone="+1 555 010-0001", sms_consent=True))
    place_order(app, order("2", ("WIDGET-BLUE", 1), phone="+15550100002"))  # no consent
    place_order(app, order("3", ("WIDGET-BLUE", 1), sms_consent=True))  # no phone
    deliver(app)
    (confirmed,) = provider.texts
    assert confirmed["To"] == "+15550100001" and confirmed["From"] == "+15550000000"
    body = confirmed["Body"]
    assert body.startswith(
        "Acme Shop: order 1 confirmed. On backorder: 2 x Widget-Blue, expected Tuesday, January 20."
    )
    assert "https://shop.example/api/v1/customer/orders/web:1?token=" in body
    (text,) = [m for m in log(app, "web:1") if m["channel"] == "sms" and m["state"] == "sent"]
    assert text["provider_id"] == "SM" + "1".zfill(32)
    assert text["recipient"] == "+15550100001"

    set_preference(app, "c-2", "sms", opted_out=False)  # consent given to staff later
    assert preferences(app, "c-2") == {"email": "default", "sms": "in"}
    set_preference(app, "c-1", "sms", opted_out=True)
    receive_stock(app, "WIDGET-BLUE", 3)
    deliver(app)
    assert [t["To"] for t in provider.texts[1:]] == ["+15550100002"]
    assert "good news, 1 x Widget-Blue from order 2 is in stock" in provider.texts[1]["Body"]


def test_provider_faults_back_off_then_succeed_or_die_at_once(
    app: Backorder, provider: Provider, clock: Clock
) -> None:
    customers_only(app)
    add_product(app, product("WIDGET-BLUE"))
    provider.answers = [(500, {}), (429, {"Retry-After": "120"})]
    place_order(app, order("10", ("WIDGET-BLUE", 1), phone="+15550100010", sms_consent=True))
    assert deliver(app) == {"due": 1}  # 500: again later
    clock.advance(seconds=20)
    assert send_due(app) == {"due": 1}  # 429: not before the two minutes it asked for
    clock.advance(seconds=119)
    assert send_due(app) == {}
    clock.advance(seconds=2)
    assert send_due(app) == {"sent": 1}
    assert len(provider.texts) == 1

    provider.answers = [(400, {})]  # a number the provider will never take
    place_order(app, order("11", ("WIDGET-BLUE", 1), phone="+15550100011", sms_consent=True))
    assert deliver(app) == {"dead": 1}
    (dead,) = [m for m in failed(app) if m["channel"] == "sms"]
    assert dead["attempts"] == 1 and dead["last_status"] == 400
    assert "21211" in dead["last_error"]
    assert retry(app, dead["id"]) == 1
    assert send_due(app) == {"sent": 1}


def test_a_text_whose_worker_died_is_reported_not_sent_twice(
    app: Backorder, provider: Provider, clock: Clock
) -> None:
    customers_only(app)
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("20", ("WIDGET-BLUE", 1), phone="+15550100020", sms_consent=True))
    plan(app)
    assert len(_claim(app, 100).attempts) == 1  # a worker takes the text ... and dies
    clock.advance(seconds=app.settings.notify_lease_seconds + 1)
    assert send_due(app) == {}
    dead = [m for m in failed(app) if m["channel"] == "sms"]
    assert len(dead) == 1 and "outcome unknown" in dead[0]["last_error"]
    assert provider.texts == []


def test_staff_hear_of_stock_arriving_selling_out_and_running_low(
    app: Backorder, inbox: tuple[Inbox, int], httpserver: HTTPServer
) -> None:
    box, _ = inbox
    slack: list[dict[str, Any]] = []
    httpserver.expect_request("/slack", method="POST").respond_with_handler(
        lambda request: slack.append(json.loads(request.get_data())) or Response("ok")
    )
    add_subscription(
        app, httpserver.url_for("/slack"), ["alert_raised", "alert_resolved"], format="slack"
    )
    add_product(app, product("WIDGET-BLUE"))
    receive_stock(app, "WIDGET-BLUE", 4)
    place_order(app, order("30", ("WIDGET-BLUE", 2)))  # 2 left: below 3
    deliver(app)
    assert to(box, "buyers@shop.example") == ["Alert: WIDGET-BLUE is low: 2 available (below 3)"]
    place_order(app, order("31", ("WIDGET-BLUE", 4)))  # sold out, and orders keep coming
    place_order(app, order("32", ("WIDGET-BLUE", 1)))
    deliver(app)
    assert to(box, "sales@shop.example") == [
        "Alert: WIDGET-BLUE is sold out and orders keep coming"
    ]
    assert to(box, "buyers@shop.example")[1:] == to(box, "sales@shop.example")  # once each
    (open_alert,) = [a for a in alert_list(app) if a["kind"] == "sold_out_demand"]
    assert open_alert["audience"] == ["procurement", "sales"]

    receive_stock(app, "WIDGET-BLUE", 8)  # serves 31 (2 left of 4) and 32, leaves 5
    deliver(app)
    assert to(box, "sales@shop.example")[1] == (
        "8 x WIDGET-BLUE arrived: 2 waiting orders released"
    )
    assert (
        to(box, "buyers@shop.example")[-1] == "Resolved: WIDGET-BLUE is low: 2 available (below 3)"
    )
    text = parts([m for m in box.messages if m["To"] == "buyers@shop.example"][-1])[0]
    assert "back to 5 available" in text
    assert alert_list(app) == []  # nothing open
    states = [(a["kind"], a["state"]) for a in alert_list(app, None)]
    assert states == [
        ("stock_arrived", "notice"),
        ("sold_out_demand", "resolved"),
        ("stock_low", "resolved"),
    ]
    assert [m["text"] for m in slack] == [
        "Alert: WIDGET-BLUE is low: 2 available (below 3)",
        "Alert: WIDGET-BLUE is sold out and orders keep coming",
        "Resolved: WIDGET-BLUE is sold out and orders keep coming (stock arrived)",
        "Resolved: WIDGET-BLUE is low: 2 available (below 3) (back to 5 available)",
        "8 x WIDGET-BLUE arrived: 2 waiting orders released",
    ]
    assert deliver(app) == {}


def test_the_manager_is_texted_about_a_costly_backorder_until_it_is_settled(
    app: Backorder, provider: Provider, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    add_product(app, product("WIDGET-BLUE"))  # 19.99 each: 6 is 119.94, over 100
    place_order(app, order("40", ("WIDGET-BLUE", 6)))
    place_order(app, order("41", ("WIDGET-BLUE", 2)))  # 39.98: no alert
    deliver(app)
    (text,) = provider.texts
    assert text["To"] == "+15550009999"
    assert text["Body"].startswith("Backorder alert: Order web:40 has USD 119.94 on backorder")
    assert "6 x WIDGET-BLUE" in text["Body"]
    assert to(box, "manager@shop.example") == ["Alert: Order web:40 has USD 119.94 on backorder"]
    (costly,) = [a for a in alert_list(app) if a["kind"] == "costly_backorder"]
    assert costly["order_ref"] == "web:40"

    cancel_order(app, "web:40")
    deliver(app)
    (gone,) = [a for a in alert_list(app, "resolved") if a["kind"] == "costly_backorder"]
    assert gone["resolution"] == "nothing of it waits any more"

    place_order(app, order("42", ("WIDGET-BLUE", 7)))  # costly, and settled before any send
    plan(app)
    receive_stock(app, "WIDGET-BLUE", 20)
    plan(app)
    assert send_due(app) == {"sent": 2}  # to buyers, low stock is back; to sales, the arrival
    assert box.messages[-1]["Subject"] == "20 x WIDGET-BLUE arrived: 2 waiting orders released"
    assert len(provider.texts) == 1  # the text and mail about web:42 were withdrawn
    assert to(box, "manager@shop.example") == ["Alert: Order web:40 has USD 119.94 on backorder"]
    withdrawn = [m for m in log(app, "web:42") if m["channel"] == "sms"]
    assert [m["state"] for m in withdrawn] == ["withdrawn"]


def test_a_run_of_changes_to_one_order_is_folded_into_one_message(
    app: Backorder, inbox: tuple[Inbox, int], clock: Clock
) -> None:
    box, _ = inbox
    customers_only(app)
    app.settings.email_off = []
    app.settings.notify_fold_seconds = 60
    add_product(app, product("WIDGET-BLUE"))
    add_product(app, product("WIDGET-RED"))
    place_order(app, order("50", ("WIDGET-BLUE", 2), ("WIDGET-RED", 3)))
    assert deliver(app) == {"sent": 1}  # the confirmation goes at once
    receive_stock(app, "WIDGET-BLUE", 2)
    assert deliver(app) == {}  # waits out the window ...
    clock.advance(seconds=30)
    receive_stock(app, "WIDGET-RED", 1)
    set_stock(app, "WIDGET-RED", 3)  # a count finds two more: allocated too
    assert deliver(app) == {}
    clock.advance(seconds=31)
    assert send_due(app) == {"sent": 1}  # ... and tells all three in one message
    allocated = box.messages[-1]
    assert allocated["Subject"] == "Your order 50: 2 items are in stock"
    text = parts(allocated)[0]
    assert "- 2 x Widget-Blue\n- 1 x Widget-Red (2 more still wait;" in text
    assert "- 2 x Widget-Red\n" in text
    (message,) = [m for m in log(app, "web:50") if m["kind"] == "allocated"]
    assert len(message["folded"]) == 2
    clock.advance(seconds=120)
    assert deliver(app) == {}  # and never twice
