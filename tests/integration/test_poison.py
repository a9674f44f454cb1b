"""One bad record never stops the dispatcher, on each backend: an event its code cannot read
is recorded and stepped over (its webhooks still go), a message that cannot be composed
fails at once with its reason, and every good event and message around them is delivered.
Also: a claim that lapsed on its last attempt ends dead instead of coming back for ever,
and webhook subscribers get an alert even when it resolved before it was sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import insert, select

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.errors import InvalidRequest
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import failed
from backorder.services.planning import plan, replan, skipped
from backorder.services.products import add_product
from backorder.services.sending import _claim, send_due
from backorder.services.stock import receive_stock
from backorder.services.subscriptions import add_subscription
from backorder.store.tables import deliveries, events
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_notifications import Subscriber
from tests.mail import Inbox


@pytest.fixture
def settings(inbox: tuple[Inbox, int]) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        notify_fold_seconds=0,
        notify_max_attempts=3,
        status_update_days=[],
    )


def _write_event(app: Backorder, kind: str, payload: dict[str, Any]) -> int:
    """An event as an older version (or a buggy writer) may have left it in the outbox."""
    with app.db.write() as uow:
        event_id = uow.connection.execute(
            insert(events).returning(events.c.id),
            {
                "type": kind,
                "occurred_at": app.now(),
                "order_ref": payload.get("order_ref"),
                "sku": payload.get("sku"),
                "payload": {"type": kind} | payload,
            },
        ).scalar_one()
        uow.commit()
    return int(event_id)


def _write_message(app: Backorder, ref: str, recipient: str) -> None:
    """A message planned before intake checked addresses: its recipient would write mail
    headers of its own."""
    now = app.now()
    with app.db.write() as uow:
        event_id = uow.connection.execute(
            select(events.c.id).where(events.c.order_ref == ref, events.c.type == "order_accepted")
        ).scalar_one()
        uow.connection.execute(
            insert(deliveries),
            {
                "event_id": event_id,
                "channel": "email",
                "kind": "backorder_confirmed",
                "recipient": recipient,
                "message_id": f"mail_{event_id}_poison",
                "order_ref": ref,
                "state": "due",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            },
        )
        uow.commit()


def test_a_poison_event_and_a_poison_message_do_not_hold_back_the_good_ones(
    app: Backorder, httpserver: HTTPServer, inbox: tuple[Inbox, int], clock: Clock
) -> None:
    box, _ = inbox
    hook = Subscriber(httpserver)
    add_subscription(app, hook.url, ["order_accepted"])
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("1", ("WIDGET-BLUE", 2)))  # waits: a confirmation and a webhook
    poison = _write_event(  # the customer's order, without the date its messages need
        app,
        "order_accepted",
        {
            "order_ref": "web:old",
            "customer": {"id": "c-old", "email": "old@example.com"},
            "lines": [{"line": 1, "sku": "WIDGET-BLUE", "backordered": 1}],
        },
    )
    _write_message(app, "web:1", "1@example.com\r\nBcc: everyone@example.com")
    place_order(app, order("2", ("WIDGET-BLUE", 1)))

    plan(app)
    assert send_due(app) == {"sent": 5, "dead": 1}

    assert sorted(m["To"] for m in box.messages) == ["1@example.com", "2@example.com"]
    assert [e[1] for e in box.envelopes] == [["1@example.com"], ["2@example.com"]]
    refs = [json.loads(body)["data"]["order_ref"] for _, body in hook.received]
    assert refs == ["web:1", "web:old", "web:2"]  # the skipped event's webhook went too
    (stepped_over,) = skipped(app)
    assert stepped_over["event_id"] == poison
    assert stepped_over["error"].startswith("KeyError: 'placed_at'")
    assert "messages.py" in stepped_over["error"]  # where, for whoever fixes it
    (dead,) = failed(app)
    assert dead["recipient"].startswith("1@example.com\r\n")
    assert dead["attempts"] == 1  # failed at once, never retried
    assert "cannot be sent" in dead["last_error"] and "linefeed" in dead["last_error"]

    clock.advance(hours=1)
    assert plan(app) == 0 and send_due(app) == {}  # nothing comes back

    with pytest.raises(InvalidRequest, match="still cannot be planned: KeyError"):
        replan(app, poison)  # the code is not fixed yet: it stays skipped
    assert [e["event_id"] for e in skipped(app)] == [poison]
    with pytest.raises(InvalidRequest, match="no skipped event"):
        replan(app, poison + 100)

    keys = {role: create_key(app, role).key for role in (Role.ADMIN, Role.VIEWER)}
    client = TestClient(create_app(app))
    admin = {"Authorization": f"Bearer {keys[Role.ADMIN]}"}
    listed = client.get("/api/v1/notifications/skipped", headers=admin)
    assert listed.status_code == 200 and listed.json()[0]["event_id"] == poison
    viewer = {"Authorization": f"Bearer {keys[Role.VIEWER]}"}
    assert client.get("/api/v1/notifications/skipped", headers=viewer).status_code == 403
    metrics = client.get("/metrics", headers=admin).text
    assert "backorder_notify_skipped_events 1.0" in metrics
    assert 'backorder_notifications{state="dead"} 1.0' in metrics


def test_a_skipped_event_is_planned_again_once_it_can_be(
    app: Backorder, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("late", ("WIDGET-BLUE", 1)))
    with app.db.write() as uow:  # its event as a writer that forgot the order's date left it
        event_id, payload = uow.connection.execute(
            select(events.c.id, events.c.payload).where(events.c.type == "order_accepted")
        ).one()
        whole = dict(payload)
        del payload["placed_at"]
        uow.connection.execute(
            events.update().where(events.c.id == event_id).values(payload=payload)
        )
        uow.commit()
    plan(app)
    assert [e["event_id"] for e in skipped(app)] == [event_id]
    assert send_due(app) == {} and box.messages == []
    with app.db.write() as uow:  # the data mended (or the code, after an upgrade)
        uow.connection.execute(events.update().where(events.c.id == event_id).values(payload=whole))
        uow.commit()
    assert replan(app, event_id) == 1
    assert skipped(app) == []
    with pytest.raises(InvalidRequest):
        replan(app, event_id)  # once
    assert send_due(app) == {"sent": 1}
    assert [m["To"] for m in box.messages] == ["late@example.com"]


def test_a_message_whose_worker_keeps_dying_ends_dead(app: Backorder, clock: Clock) -> None:
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("9", ("WIDGET-BLUE", 1)))
    plan(app)
    for _ in range(3):  # claimed, then the worker dies before it records anything
        assert len(_claim(app, 10).attempts) == 1
        clock.advance(seconds=app.settings.notify_lease_seconds + 1)
    assert _claim(app, 10).attempts == {}
    (dead,) = failed(app)
    assert dead["attempts"] == 3
    assert "the worker stopped while sending it, 3 times" in dead["last_error"]


def test_subscribers_get_an_alert_that_resolved_before_it_was_sent(
    app: Backorder, httpserver: HTTPServer, inbox: tuple[Inbox, int]
) -> None:
    hook = Subscriber(httpserver)
    add_subscription(app, hook.url, ["alert_raised", "alert_resolved"])
    app.settings.sales_email = ["sales@shop.example"]
    add_product(app, product("WIDGET-BLUE"))
    place_order(app, order("40", ("WIDGET-BLUE", 3)))  # sold out, and orders keep coming
    plan(app)  # the alert is raised; its messages wait
    receive_stock(app, "WIDGET-BLUE", 5)  # and it is gone before they are sent
    plan(app)
    send_due(app)
    told = [json.loads(body) for _, body in hook.received]
    sold_out = [b["type"] for b in told if b["data"]["kind"] == "sold_out_demand"]
    assert sold_out == ["alert_raised", "alert_resolved"]
    with app.db.read() as uow:
        mail = uow.connection.execute(
            select(deliveries.c.state, deliveries.c.recipient).where(
                deliveries.c.channel == "email", deliveries.c.kind == "staff_alert"
            )
        ).all()
    assert sorted(tuple(m) for m in mail) == [  # of selling out: gone; of the stock: told
        ("sent", "sales@shop.example"),
        ("withdrawn", "sales@shop.example"),
    ]
