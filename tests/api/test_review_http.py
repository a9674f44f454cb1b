"""The daily review over HTTP, in process with the test's clock: run it, read its tasks and
incident log, mark a task done; and a customer answering a delay notice, through the JSON
routes and through the page the notice's links open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.customer_links import delay_page, mint_link
from backorder.services.views import order_view
from tests.conftest import Clock
from tests.integration.test_review import make_late


@pytest.fixture
def late(app: Backorder) -> Backorder:
    return make_late(app)


@pytest.fixture
def client(late: Backorder) -> Iterator[TestClient]:
    with TestClient(create_app(late)) as http:
        http.headers["Authorization"] = f"Bearer {create_key(late, Role.OPS).key}"
        yield http


def test_review_tasks_and_incidents_over_http(
    client: TestClient,
    late: Backorder,
    clock: Clock,
) -> None:
    clock.current = datetime(2026, 2, 2, 6, tzinfo=UTC)
    ran = client.post("/api/v1/reviews")
    assert ran.status_code == 200, ran.text
    assert (ran.json()["overdue_lines"], ran.json()["tasks_opened"]) == (5, 2)
    assert client.post("/api/v1/reviews").json()["tasks_opened"] == 0
    assert client.get("/api/v1/reviews").json()[0]["day"] == "2026-02-02"
    tasks = client.get("/api/v1/tasks", params={"role": "procurement"}).json()
    assert [t["sku"] for t in tasks] == ["WIDGET-BLUE"]
    done = client.post(f"/api/v1/tasks/{tasks[0]['id']}/done", json={"note": "chased ACME"})
    assert (done.json()["state"], done.json()["note"]) == ("done", "chased ACME")
    again = client.post(f"/api/v1/tasks/{tasks[0]['id']}/done", json={})
    assert again.status_code == 422
    missing = client.post("/api/v1/tasks/424242/done", json={})
    assert missing.json()["type"] == "/problems/unknown-task"
    (incident,) = client.get("/api/v1/incidents", params={"since": "2026-02-01"}).json()
    assert incident["plan"] and incident["lines"] == 5
    order = client.get("/api/v1/orders/web:1").json()
    assert order["delays"][0]["revised"] == "2026-02-09"
    assert order["lines"][0]["checked_status"] == "overdue"


def test_a_customer_answers_a_delay_notice(
    client: TestClient,
    late: Backorder,
    clock: Clock,
    settings: Settings,
) -> None:
    settings.delay_options = True
    clock.current = datetime(2026, 2, 2, 6, tzinfo=UTC)
    client.post("/api/v1/reviews")
    token = mint_link(late, "web:1").token
    seen = client.get("/api/v1/customer/orders/web:1/delay", params={"token": token}).json()
    assert seen["can_accept"] and seen["delays"][0]["consent"] == "silence"
    forged = client.get("/api/v1/customer/orders/web:1/delay", params={"token": "x"})
    assert forged.status_code == 403
    accepted = client.post(
        "/api/v1/customer/orders/web:1/delay/accept", params={"token": token}
    ).json()
    assert accepted["lines"] == 1 and accepted["delays"][0]["outcome"] == "accepted"
    nothing = client.post("/api/v1/customer/orders/web:1/delay/accept", params={"token": token})
    assert nothing.json()["type"] == "/problems/nothing-to-answer"

    # the page the notice's "cancel" link opens, then its button
    link = urlsplit(delay_page(late, "web:2", mint_link(late, "web:2").token) + "&choice=cancel")
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and "Cancel the delayed items" in page.text
    form = {"form_token": re.search(r'name="form_token" value="([^"]+)"', page.text)[1]}  # type: ignore[index]
    confirmed = client.post(f"{link.path}?{link.query}", data=form)
    assert confirmed.status_code == 200 and "refunded" in confirmed.text
    assert order_view(late, "web:2")["lines"][0]["cancelled"] == 4
    refused = client.get(f"{link.path}?token=forged")
    assert refused.status_code == 403 and "not valid" in refused.text
