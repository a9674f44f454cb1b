"""`backorder webhook`, `backorder worker` and `backorder notify` as a user runs them, with a
real HTTP server on loopback as the subscriber."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from tests.e2e.test_cli import order, run


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
    first = run(db, "worker", "--once", "--json")
    assert json.loads(first.stdout) == {"planned": 2, "sent": 2, "intake": 0}
    again = run(db, "worker", "--once", "--json")
    assert json.loads(again.stdout) == {"planned": 0, "intake": 0}

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
