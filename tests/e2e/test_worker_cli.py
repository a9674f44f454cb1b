"""`backorder webhook`, `backorder worker`, `backorder notify`, `alert` and `customer` as a
user runs them, with real HTTP servers on loopback as the subscriber and the SMS provider."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from backorder.domain.projection import monday
from tests.e2e.test_cli import order, run
from tests.integration.test_sms_and_alerts import SID, TOKEN, Provider


def test_webhook_worker_and_log(tmp_path: Path, httpserver: HTTPServer) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    received: list[tuple[dict[str, str], bytes]] = []

    def handle(request: Request) -> Response:
        received.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return Response(status=200)

    httpserver.expect_request("/erp", method="POST").respond_with_handler(handle)
    run(db, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    made = json.loads(
        run(db, "webhook", "add", httpserver.url_for("/erp"), "--events",
            "order_accepted,line_backordered", "--description", "ERP", "--json").stdout
    )  # fmt: skip
    listed = json.loads(run(db, "webhook", "list", "--json").stdout)
    assert [(s["id"], s["event_types"]) for s in listed] == [
        (made["id"], ["line_backordered", "order_accepted"])
    ]
    assert "secret" not in listed[0]

    run(db, "order", "place", "-", stdin=order("100", 5, qty=2))
    # the review is due, and last week's report (Monday 00:00 has always passed), and the
    # night's forecasts
    (tmp_path / ".env").write_text(
        "BACKORDER_REVIEW_AT=00:00\nBACKORDER_REPORT_AT=00:00\nBACKORDER_FORECAST_AT=00:00\n"
    )
    first = run(db, "worker", "--once", "--json", cwd=tmp_path)
    assert json.loads(first.stdout) == {
        "reviewed": 1,
        "reported": 1,
        "forecasted": 1,  # the SKU, from its weeks since the order
        "projections": 1,  # and its projected stock: short now, of the 2 units waiting
        "stockout_alerts": 1,
        "recommendations": 0,  # it has no supplier to buy from
        "rolled_up": 7,  # of the KPI facts since January (the order's date): 7 days a pass
        "planned": 2,
        "sent": 2,
        "intake": 0,
    }
    again = run(db, "worker", "--once", "--json", cwd=tmp_path)
    assert json.loads(again.stdout) == {
        "reviewed": 0,
        "reported": 0,
        "rolled_up": 7,
        "planned": 0,
        "intake": 0,
    }

    checker = Webhook(made["secret"])
    types = [checker.verify(body, headers)["type"] for headers, body in received]
    assert types == ["order_accepted", "line_backordered"]
    messages = json.loads(run(db, "notify", "log", "web:100", "--json").stdout)
    assert [(m["type"], m["state"], m["attempts"]) for m in messages] == [
        ("order_accepted", "sent", 1),
        ("line_backordered", "sent", 1),
    ]
    assert json.loads(run(db, "notify", "failed", "--json").stdout) == []
    run(db, "notify", "retry", str(messages[0]["id"]))
    run(db, "worker", "--for", "1", "--interval", "0.1")
    assert len(received) == 3 and received[2][0]["webhook-id"] == messages[0]["message_id"]
    assert "removed webhook" in run(db, "webhook", "remove", str(made["id"])).stdout
    refused = run(db, "webhook", "add", "ftp://nowhere", ok=False)
    assert refused.returncode == 1 and "not an http(s) URL" in refused.stderr


def test_texts_alerts_and_preferences_from_the_command_line(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    provider = Provider(httpserver)
    slack: list[dict[str, str]] = []
    httpserver.expect_request("/slack", method="POST").respond_with_handler(
        lambda request: slack.append(json.loads(request.get_data())) or Response("ok")
    )
    for name, value in {
        "SMS_URL": provider.base,
        "SMS_ACCOUNT_SID": SID,
        "SMS_AUTH_TOKEN": TOKEN,
        "SMS_FROM": "+15550000000",
        "MANAGER_PHONE": "+15550009999",
        "SMS_THRESHOLD": "100",
        "NOTIFY_FOLD_SECONDS": "0",
        "FORECAST_AT": "00:00",  # the nightly forecast is due in this pass, whatever the hour
    }.items():
        monkeypatch.setenv(f"BACKORDER_{name}", value)
    run(db, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    run(db, "webhook", "add", httpserver.url_for("/slack"), "--events",
        "alert_raised,alert_resolved", "--format", "slack")  # fmt: skip
    texted = json.loads(order("100", 5, qty=6))
    texted["customer"] |= {"phone": "+15550100100", "sms_consent": True}
    run(db, "order", "place", "-", stdin=json.dumps(texted))
    passed = json.loads(run(db, "worker", "--once", "--json").stdout)
    # the customer's text, the manager's, three alerts to Slack
    assert passed["sent"] == 5, passed
    assert sorted(t["To"] for t in provider.texts) == ["+15550009999", "+15550100100"]
    costly, projected, sold_out = sorted(m["text"] for m in slack)
    assert costly == "Alert: Order web:100 has USD 119.94 on backorder"
    assert sold_out == "Alert: WIDGET-BLUE is sold out and orders keep coming"
    # the 6 waiting and what the forecast expects in the rest of this week (by the weekday)
    week = monday(date.today())
    assert re.fullmatch(
        f"Alert: WIDGET-BLUE is projected to run out in the week of {week}: "
        f"([0-9]+) units short; order by {week - timedelta(days=14)} "
        r"\(already late: order now, and expedite\)",
        projected,
    ), projected
    alerts = json.loads(run(db, "alert", "list", "--json").stdout)
    assert sorted(a["kind"] for a in alerts) == [
        "costly_backorder",
        "sold_out_demand",
        "stockout_projected",
    ]
    log = json.loads(run(db, "notify", "log", "web:100", "--json").stdout)
    sms = [m for m in log if m["channel"] == "sms"]
    assert all(m["state"] == "sent" and m["provider_id"].startswith("SM") for m in sms)

    run(db, "stock", "receive", "WIDGET-BLUE", "6")
    run(db, "worker", "--once")
    # the order is served; the forecast of more orders like it keeps procurement's alert
    still = json.loads(run(db, "alert", "list", "--json").stdout)
    assert [a["kind"] for a in still] == ["stockout_projected"]
    assert "good news" in provider.texts[-1]["Body"]
    run(db, "customer", "opt-out", "c-1", "--channel", "sms")
    choices = json.loads(run(db, "customer", "preferences", "c-1", "--json").stdout)
    assert choices == {"customer": "c-1", "channels": {"email": "default", "sms": "out"}}


def test_the_first_overdue_day_does_not_stop_the_worker(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The review's incident_logged event once stopped every pass (its `lines` was a count
    where the staff alerts read a list), and with it every message and the intake."""
    db = f"sqlite:///{tmp_path / 'b.db'}"
    received: list[dict[str, Any]] = []
    httpserver.expect_request("/erp", method="POST").respond_with_handler(
        lambda request: received.append(json.loads(request.get_data())) or Response(status=200)
    )
    run(db, "webhook", "add", httpserver.url_for("/erp"), "--events", "incident_logged")
    run(db, "product", "add", "W1", "--name", "Widget", "--price", "10", "--lead-time-days", "1")
    placed = json.dumps(
        {
            "channel": "web",
            "external_id": "1",
            "placed_at": "2026-12-01T10:00:00Z",
            "customer": {"id": "c1", "email": "c1@example.com"},
            "lines": [{"sku": "W1", "quantity": 2}],
        }
    )
    run(db, "order", "place", "-", stdin=placed)
    run(db, "review", "--now", "2026-12-20")
    for _ in range(2):
        done = run(db, "worker", "--once", "--json", ok=False)
        assert done.returncode == 0, done.stderr
    (incident,) = received
    assert incident["data"]["late_lines"] == 1 and incident["data"]["orders"] == ["web:1"]
    assert json.loads(run(db, "notify", "skipped", "--json").stdout) == []
