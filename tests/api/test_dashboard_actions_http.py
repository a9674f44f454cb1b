"""The dashboard acts (api/actions.py), in process: from a record page an operator cancels,
ships, expedites, receives, counts, redates and reduces a purchase order, closes a task,
replays or discards a dead letter and sends a failed message again, each through the API's
own use case; a viewer sees no form and is refused; a form without the session's token or
from another site changes nothing; bad input says why and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from backorder.api.actions import csrf_token
from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.ingest import ingest
from backorder.services.review import run_review
from backorder.services.sessions import COOKIE
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.services.views import order_view, stock_view
from backorder.store.tables import deliveries, events, intake_payloads, tasks
from tests.conftest import Clock
from tests.integration.test_kpis import make_january

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@pytest.fixture
def store(app: Backorder, clock: Clock) -> Backorder:
    """January's store (web:W4 waits for 3 B, amazon:M3 for 1 B, web:W2 has 1 B ready), a
    purchase order PO-1 of 5 B, the day's review (its tasks), a dead letter and a failed
    webhook about web:W1."""
    make_january(app, clock)
    add_supplier(app, SupplierIn("ACME", "Acme", 10))
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn("B", 5, date(2026, 2, 10))])
    run_review(app)
    ingest(app, "canonical", '{"not": "an order"}')
    with app.db.write() as uow:
        conn = uow.connection
        event = conn.execute(
            select(events.c.id).where(events.c.order_ref == "web:W1").limit(1)
        ).scalar_one()
        conn.execute(
            insert(deliveries).values(
                event_id=event,
                channel="webhook",
                recipient="http://hooks.example/x",
                message_id="msg_1",
                state="dead",
                attempts=8,
                due_at=app.now(),
                created_at=app.now(),
                last_error="HTTP 500",
                order_ref="web:W1",
            )
        )
        uow.commit()
    return app


def signed_in(app: Backorder, role: Role) -> Iterator[TestClient]:
    with TestClient(create_app(app), follow_redirects=False) as http:
        assert http.post("/login", data={"key": create_key(app, role).key}).status_code == 303
        yield http


@pytest.fixture
def ops(store: Backorder) -> Iterator[TestClient]:
    yield from signed_in(store, Role.OPS)


@pytest.fixture
def viewer(store: Backorder) -> Iterator[TestClient]:
    yield from signed_in(store, Role.VIEWER)


def token_of(http: TestClient, page: str) -> str:
    found = CSRF.search(http.get(page).text)
    assert found is not None, page
    return found[1]


def act(http: TestClient, page: str, action: str, **fields: str) -> tuple[str, str]:
    """Post a form as the page holds it; (where it went back to, the outcome it shows)."""
    done = http.post(action, data={"csrf": token_of(http, page), "back": page, **fields})
    assert done.status_code == 303, done.text
    back = http.get(done.headers["location"])
    shown = re.search(r'data-testid="flash">([^<]*)<', back.text)
    assert shown is not None, back.text[:500]
    again = http.get(done.headers["location"]).text
    assert 'data-testid="flash"' not in again  # shown once
    return done.headers["location"], shown[1].replace("&#39;", "'")


def line(app: Backorder, ref: str, no: int = 1) -> dict[str, Any]:
    lines: list[dict[str, Any]] = order_view(app, ref)["lines"]
    return next(item for item in lines if item["line"] == no)


def open_task(app: Backorder) -> int:
    with app.db.read() as uow:
        return int(
            uow.connection.execute(
                select(tasks.c.id).where(tasks.c.state == "open").limit(1)
            ).scalar_one()
        )


def dead_letter(app: Backorder) -> int:
    with app.db.read() as uow:
        return int(
            uow.connection.execute(
                select(intake_payloads.c.id).where(intake_payloads.c.state == "dead")
            ).scalar_one()
        )


def delivery_state(app: Backorder) -> str:
    with app.db.read() as uow:
        return str(
            uow.connection.execute(
                select(deliveries.c.state).where(deliveries.c.message_id == "msg_1")
            ).scalar_one()
        )


def done_tasks(app: Backorder) -> list[str]:
    """The notes of the tasks done."""
    with app.db.read() as uow:
        return list(
            uow.connection.execute(select(tasks.c.note).where(tasks.c.state == "done")).scalars()
        )


def po_line(http: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = http.get("/api/v1/purchase-orders/PO-1").json()["lines"][0]
    return found


Case = tuple[
    Callable[[Backorder], tuple[str, str, dict[str, str]]],  # (page, action, fields)
    str,  # the outcome shown
    Callable[[Backorder, TestClient], bool],  # the database changed
]
CASES: dict[str, Case] = {
    "cancel a line": (
        lambda app: (
            "/records/orders/web:W4",
            "/records/orders/web:W4/cancel",
            {"line": "1", "qty": "2", "reason": "asked by phone"},
        ),
        "Cancelled 2 units of web:W4 line 1",
        lambda app, _: (
            (line(app, "web:W4")["cancelled"], line(app, "web:W4")["backordered"]) == (2, 1)
        ),
    ),
    "cancel the order": (
        lambda app: ("/records/orders/amazon:M3", "/records/orders/amazon:M3/cancel", {}),
        "Cancelled 1 unit of amazon:M3",
        lambda app, _: order_view(app, "amazon:M3")["status"] == "cancelled",
    ),
    "ship with tracking": (
        lambda app: (
            "/records/orders/web:W2",
            "/records/orders/web:W2/ship",
            {"tracking": "1Z999AA1"},
        ),
        "Shipped 1 unit of web:W2 with tracking 1Z999AA1",
        lambda app, _: (
            [s["tracking"] for s in order_view(app, "web:W2")["shipments"]] == ["1Z999AA1"]
        ),
    ),
    "expedite": (
        lambda app: ("/records/orders/web:W4", "/records/orders/web:W4/expedite", {}),
        "Expedited web:W4: 1 waiting line moved up",
        lambda app, _: order_view(app, "web:W4")["expedite"] is True,
    ),
    "receive stock": (
        lambda app: ("/records/products/B", "/records/stock/B/receipts", {"qty": "3"}),
        "Received 3 units of B at main: on hand 4 in all, available 0; "
        "3 units went to 2 waiting lines",
        lambda app, _: stock_view(app, "B")["on_hand"] == 4,
    ),
    "set a count": (
        lambda app: ("/records/queues/B", "/records/stock/B/count", {"on_hand": "0"}),
        "Counted 0 units of B on hand at main: on hand 0 in all, available 0; 1 unit went back to "
        "waiting",
        lambda app, _: stock_view(app, "B")["on_hand"] == 0,
    ),
    "redate a PO line": (
        lambda app: (
            "/records/purchase-orders/PO-1",
            "/records/purchase-orders/PO-1/redate",
            {"sku": "B", "expected_on": "2026-02-03"},
        ),
        "PO-1: B is now expected on Tuesday, February 3",
        lambda app, http: po_line(http)["expected_on"] == "2026-02-03",
    ),
    "reduce a PO line": (
        lambda app: (
            "/records/purchase-orders/PO-1",
            "/records/purchase-orders/PO-1/reduce",
            {"sku": "B", "quantity": "2"},
        ),
        "PO-1: B reduced to 2 units in all",
        lambda app, http: po_line(http)["outstanding"] == 2,
    ),
    "close a task": (
        lambda app: ("/records/tasks", f"/records/tasks/{open_task(app)}/done", {"note": "ok"}),
        "Closed task",
        lambda app, _: done_tasks(app) == ["ok"],
    ),
    "replay a dead letter": (
        lambda app: (
            "/records/intake/dead-letters",
            f"/records/intake/dead-letters/{dead_letter(app)}/replay",
            {},
        ),
        "it is still refused",
        lambda app, _: payload_attempts(app) == 2,
    ),
    "discard a dead letter": (
        lambda app: (
            "/records/intake/dead-letters",
            f"/records/intake/dead-letters/{dead_letter(app)}/discard",
            {"reason": "a test payload"},
        ),
        "Discarded dead letter 1: a test payload",
        lambda app, _: payload_state(app) == "discarded",
    ),
    "retry a failed message": (
        lambda app: ("/records/notifications/failed", "/records/notifications/1/retry", {}),
        "Message 1 will be sent again now",
        lambda app, _: delivery_state(app) == "due",
    ),
}


def payload_state(app: Backorder) -> str:
    with app.db.read() as uow:
        return str(uow.connection.execute(select(intake_payloads.c.state)).scalar_one())


def payload_attempts(app: Backorder) -> int:
    with app.db.read() as uow:
        return int(uow.connection.execute(select(intake_payloads.c.attempts)).scalar_one())


@pytest.mark.parametrize("case", list(CASES))
def test_ops_acts_from_the_record_page_and_sees_the_outcome(
    ops: TestClient, store: Backorder, case: str
) -> None:
    where, shown, changed = CASES[case]
    page, action, fields = where(store)
    assert f'action="{action}"' in ops.get(page).text  # the form is on the page
    back, outcome = act(ops, page, action, **fields)
    assert back == page
    assert shown in outcome, outcome
    assert changed(store, ops)


def test_a_viewer_sees_no_form_and_is_refused(
    viewer: TestClient, ops: TestClient, store: Backorder
) -> None:
    assert CSRF.search(viewer.get("/records/orders/web:W4").text) is None  # no form at all
    for case, (where, _, changed) in CASES.items():
        page, action, fields = where(store)
        shown = viewer.get(page)
        assert shown.status_code in (200, 403), case  # failed messages: not a viewer's to see
        assert 'method="post" action="/records' not in shown.text, case
        refused = viewer.post(action, data={"csrf": viewer_token(viewer), "back": page, **fields})
        assert refused.status_code == 403 and "may not" in refused.text, case
        assert not changed(store, ops), case


def viewer_token(http: TestClient) -> str:
    """The token a viewer's session would carry (as if it made a form up itself)."""
    return csrf_token(http.cookies[COOKIE])


def test_a_form_without_the_token_or_from_another_site_changes_nothing(
    ops: TestClient, store: Backorder
) -> None:
    page, action = "/records/orders/web:W4", "/records/orders/web:W4/cancel"
    token = token_of(ops, page)
    for data, headers in (
        ({"line": "1"}, {}),  # no token
        ({"line": "1", "csrf": "0" * 64}, {}),  # another token
        ({"line": "1", "csrf": token}, {"Origin": "http://attacker.example"}),
        ({"line": "1", "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        refused = ops.post(action, data=data, headers=headers)
        assert refused.status_code == 403, (data, headers)
        assert "Nothing was changed" in refused.text
    assert line(store, "web:W4")["backordered"] == 3
    with TestClient(ops.app, follow_redirects=False) as stranger:  # no session at all
        assert stranger.post(action, data={"line": "1"}).headers["location"] == "/login"
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    done = ops.post(action, data={"line": "1", "qty": "1", "csrf": token}, headers=same)
    assert done.status_code == 303 and line(store, "web:W4")["backordered"] == 2


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"line": "1", "qty": "two"}, "the units must be a whole number, not 'two'"),
        ({"line": "1", "qty": "0"}, "the units: input should be greater than or equal to 1"),
        ({"line": "1", "qty": "9"}, "cannot cancel 9"),
        ({"line": "7"}, "line 7"),
    ],
)
def test_bad_input_says_why_and_changes_nothing(
    ops: TestClient, store: Backorder, fields: dict[str, str], said: str
) -> None:
    page = "/records/orders/web:W4"
    before = order_view(store, "web:W4")
    back, outcome = act(ops, page, "/records/orders/web:W4/cancel", **fields)
    assert back == page
    assert outcome.startswith("Nothing was changed: ") and said in outcome, outcome
    assert order_view(store, "web:W4") == before
    _, dated = act(
        ops,
        "/records/purchase-orders/PO-1",
        "/records/purchase-orders/PO-1/redate",
        sku="B",
        expected_on="3 February",
    )
    assert "the date must be a date (YYYY-MM-DD), not '3 February'" in dated


def test_the_search_box_finds_orders_and_products(viewer: TestClient, store: Backorder) -> None:
    """The same lists as GET /orders and /products: by SKU, by e-mail, by order number,
    narrowed by status; a viewer may search (it reads, it changes nothing)."""
    found = viewer.get("/search", params={"q": "B"})
    assert found.status_code == 200
    orders = re.findall(
        r'data-testid="order-row"><td[^>]*><a href="/records/orders/([^"]+)"', found.text
    )
    assert orders == ["web:W4", "amazon:M3", "web:W2"]  # newest first
    assert 'href="/records/products/B"' in found.text and 'data-testid="product-row"' in found.text
    waiting = viewer.get("/search", params={"q": "B", "status": "backordered"}).text
    assert "web:W2" not in waiting and "amazon:M3" in waiting
    by_mail = viewer.get("/search", params={"q": "W1@example.com"}).text
    assert 'href="/records/orders/web:W1"' in by_mail and "web:W4" not in by_mail
    none = viewer.get("/search", params={"q": "nothing-like-it"}).text
    assert "No order matches." in none and "No product matches." in none
    with TestClient(viewer.app, follow_redirects=False) as stranger:
        assert stranger.get("/search", params={"q": "B"}).headers["location"] == "/login"
