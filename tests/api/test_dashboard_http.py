"""The dashboard's sign-in and session in process (the browser tests drive the page itself):
a key signs in, the session cookie reads pages and the API but never changes anything, and it
ends with the key."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from backorder.api.app import create_app
from backorder.domain.access import PERMISSIONS, Permission, Role
from backorder.services.apikeys import create_key, revoke_key
from backorder.services.context import Backorder
from backorder.services.dashboard import overview
from backorder.services.ingest import ingest
from backorder.services.intake import place_order
from backorder.services.sessions import COOKIE
from backorder.store.tables import deliveries, events, sessions
from tests.conftest import Clock
from tests.factories import order
from tests.integration.test_kpis import make_january

EVERYTHING = frozenset(Permission)


@pytest.fixture
def client(app: Backorder, clock: Clock) -> Iterator[TestClient]:
    make_january(app, clock)
    with TestClient(create_app(app), follow_redirects=False) as http:
        yield http


def test_without_a_session_the_dashboard_asks_for_a_key(client: TestClient) -> None:
    answer = client.get("/")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert 'name="key"' in client.get("/login").text
    assert client.get("/dashboard/body").status_code == 401
    refused = client.post("/login", data={"key": "bo_nonsense"})
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert COOKIE not in refused.cookies


def test_a_key_of_any_role_opens_the_dashboard(client: TestClient, app: Backorder) -> None:
    key = create_key(app, Role.VIEWER)
    answer = client.post("/login", data={"key": key.key})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert key.key not in answer.headers["set-cookie"]  # the cookie names the key, never holds it
    page = client.get("/")
    assert page.status_code == 200
    view = overview(app, EVERYTHING)
    shown = re.search(r'data-testid="waiting-lines">(\d+)<', page.text)
    assert shown is not None and int(shown[1]) == view["tracking"]["lines"] == 2  # M3 and W4
    assert 'data-testid="overdue-count">1<' in page.text  # M3, promised 20 January
    assert "<svg" in page.text and "https://" not in page.text
    body = client.get("/dashboard/body").text  # the live part, as the page redraws it
    assert 'href="/records/products/B"' in body  # the only queue: M3, then W4
    assert '<a href="/records/orders/amazon:M3">amazon:M3</a> \u00d71' in body


def test_the_session_reads_the_api_but_changes_nothing(client: TestClient, app: Backorder) -> None:
    client.post("/login", data={"key": create_key(app, Role.ADMIN).key})
    assert client.get("/api/v1/kpis").status_code == 200
    assert client.get("/api/v1/orders/web:W1").json()["ref"] == "web:W1"
    refused = client.post("/api/v1/stock/B/receipts", json={"qty": 1})
    assert refused.status_code == 401  # a change needs the key in the request


def test_the_session_ends_with_its_key_and_on_sign_out(client: TestClient, app: Backorder) -> None:
    key = create_key(app, Role.OPS)
    client.post("/login", data={"key": key.key})
    assert client.get("/").status_code == 200
    out = client.post("/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/").status_code == 303
    client.post("/login", data={"key": key.key})
    revoke_key(app, key.id)
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/kpis").status_code == 401
    client.cookies.set(COOKIE, "forged.token")
    assert client.get("/dashboard/body").status_code == 401


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_dies_too(
    client: TestClient, app: Backorder
) -> None:
    client.post("/login", data={"key": create_key(app, Role.ADMIN).key})
    copied = client.cookies[COOKIE]
    with TestClient(client.app, follow_redirects=False) as other:  # e.g. a stolen cookie
        other.cookies.set(COOKIE, copied)
        assert other.get("/").status_code == 200
        assert client.post("/logout").status_code == 303
        assert other.get("/").status_code == 303
        assert other.get("/dashboard/body").status_code == 401
        assert other.get("/api/v1/kpis").status_code == 401
        assert other.get("/records/orders/web:W1").headers["location"] == "/login"


def test_the_cookie_is_a_random_token_the_server_keeps_only_as_a_hash(
    client: TestClient, app: Backorder
) -> None:
    key = create_key(app, Role.VIEWER)
    client.post("/login", data={"key": key.key})
    token = client.cookies[COOKIE]
    with app.db.read() as uow:
        stored = uow.connection.execute(select(sessions)).mappings().one()
    assert stored["api_key_id"] == key.id and stored["revoked_at"] is None
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) == 43 and "." not in token  # random: it names no key and signs nothing


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},  # a sandboxed frame, a data: page
        {"Origin": "http://testserver:8001"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_sign_in_and_out_refuse_a_form_from_another_site(
    client: TestClient, app: Backorder, headers: dict[str, str]
) -> None:
    key = create_key(app, Role.ADMIN).key
    forged = client.post("/login", data={"key": key}, headers=headers)
    assert forged.status_code == 403 and "another site" in forged.text
    assert COOKIE not in forged.cookies
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/login", data={"key": key}, headers=same).status_code == 303
    assert client.post("/logout", headers=headers).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    assert client.post("/logout", headers=same).status_code == 303
    assert client.get("/").status_code == 303


def test_behind_a_proxy_the_public_url_is_our_origin(app: Backorder, clock: Clock) -> None:
    app.settings = app.settings.model_copy(update={"public_url": "https://ops.example.com"})
    key = create_key(app, Role.VIEWER).key
    with TestClient(create_app(app), follow_redirects=False) as http:
        ours = http.post("/login", data={"key": key}, headers={"Origin": "https://ops.example.com"})
        assert ours.status_code == 303
        other = http.post("/login", data={"key": key}, headers={"Origin": "http://ops.example.com"})
        assert other.status_code == 403


def test_a_link_opens_the_record_as_a_page(client: TestClient, app: Backorder) -> None:
    """An order, a queue, the open tasks: what the API answers, as tables, its references
    linked to their own pages, and the JSON a link away."""
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    order = client.get("/records/orders/amazon:M3")
    assert order.status_code == 200 and order.headers["content-type"].startswith("text/html")
    assert '<a href="/api/v1/orders/amazon:M3">as JSON</a>' in order.text
    assert '<a href="/records/products/B">B</a>' in order.text  # its line's SKU
    api = client.get("/api/v1/orders/amazon:M3").json()
    # the date in words, the ISO time on hover; the product by its name; fields in words
    placed = api["placed_at"]
    assert (
        f'<time datetime="{placed}" title="{placed}">Saturday, January 10 at 09:00 UTC'
        in order.text
    )
    assert '<span class="name">B</span>' in order.text and "ready to ship" in order.text
    assert "rank_class" not in order.text
    queue = client.get("/records/queues/B")
    assert queue.status_code == 200
    assert '<a href="/records/orders/amazon:M3">amazon:M3</a>' in queue.text  # the head
    assert '<a href="/records/orders/web:W4">web:W4</a>' in queue.text
    assert "<th>queue class</th>" in queue.text and "rank_class" not in queue.text
    assert "https://" not in queue.text
    assert client.get("/records/tasks").status_code == 200
    failed = client.get("/records/notifications/failed")  # recipients: not for a viewer
    assert failed.status_code == 403 and 'data-testid="problem"' in failed.text


def test_a_record_that_is_not_there_is_a_page_that_says_so(
    client: TestClient, app: Backorder
) -> None:
    assert client.get("/records/orders/web:W1").headers["location"] == "/login"  # no session
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    missing = client.get("/records/orders/web:NOPE")
    assert missing.status_code == 404 and 'data-testid="problem"' in missing.text
    assert "web:NOPE" in missing.text
    climbing = client.get("/records/orders/%2E%2E/%2E%2E/healthz")
    assert climbing.status_code == 404
    refused = client.get("/records/orders/a b")  # what the API says of a bad reference
    assert refused.status_code == 422 and 'data-testid="problem"' in refused.text


def test_the_trend_chart_is_redrawn_when_the_trend_changes(
    client: TestClient, app: Backorder, clock: Clock
) -> None:
    """The page redraws on every event; the chart is drawn again only when its figures
    change (drawing it is most of a redraw), never left stale."""
    client.post("/login", data={"key": create_key(app, Role.VIEWER).key})

    def chart() -> str:
        body: str = client.get("/dashboard/body").text
        return body[body.index("<svg") : body.index("</svg>")]

    before = chart()
    assert chart() == before  # nothing happened
    new = overview(app, EVERYTHING)["days"][-1]["new_lines"]
    place_order(app, order("W9", ("B", 2), placed_at=clock.current))  # B has none: it waits
    assert overview(app, EVERYTHING)["days"][-1]["new_lines"] == new + 1
    assert chart() != before


# A subscriber's URL: a failed message's recipient, which only roles that may see who
# messages go to (notify) are shown.
RECIPIENT = "http://hooks.internal.example/backorder-7f3a"
# What each part of the page shows (a marker in its HTML), and the permission that reads the
# same through the API.
SECTIONS = {
    'data-testid="waiting-lines"': Permission.READ_ORDERS,  # GET /backorders
    'data-testid="overdue-count"': Permission.READ_ORDERS,
    "Backorders per day": Permission.READ,  # the KPIs, the weekly report
    'data-testid="aging-1"': Permission.READ,
    "at risk": Permission.READ,
    "Longest queues": Permission.READ,  # GET /queues/{sku}
    'data-testid="network-stock"': Permission.READ,  # GET /locations
    'data-testid="queue-next-B"': Permission.READ,  # GET /queues/{sku}/sources
    'data-testid="tasks-count"': Permission.READ,  # GET /tasks
    'data-testid="dead-count"': Permission.READ,  # GET /intake/dead-letters
    'data-testid="failed-count"': Permission.NOTIFY,  # GET /notifications/failed
    RECIPIENT: Permission.NOTIFY,
    "new EventSource": Permission.READ,  # GET /events/stream
}
# Record pages and the permission the API route behind each needs.
RECORDS = {
    "orders/web:W1": Permission.READ_ORDERS,
    "backorders": Permission.READ_ORDERS,
    "atp/B": Permission.PROMISE,
    "queues/B": Permission.READ,
    "queues/B/sources": Permission.READ,
    "stock/B": Permission.READ,
    "products/B": Permission.READ,
    "events": Permission.READ,
    "tasks": Permission.READ,
    "intake/dead-letters": Permission.READ,
    "kpis": Permission.READ,
    "suppliers": Permission.STOCK,
    "notifications/failed": Permission.NOTIFY,
    "orders/web:W1/notifications": Permission.NOTIFY,
}


@pytest.fixture
def troubled(client: TestClient, app: Backorder) -> TestClient:
    """The January store with a dead letter and a failed webhook about web:W1."""
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
                recipient=RECIPIENT,
                message_id="msg_matrix",
                state="dead",
                attempts=8,
                due_at=app.now(),
                created_at=app.now(),
                last_error="HTTP 500",
                order_ref="web:W1",
            )
        )
        uow.commit()
    return client


@pytest.mark.parametrize("role", list(Role))
def test_the_page_shows_a_session_only_what_its_role_may_read_through_the_api(
    troubled: TestClient, app: Backorder, role: Role
) -> None:
    troubled.post("/login", data={"key": create_key(app, role).key})
    page, body = troubled.get("/").text, troubled.get("/dashboard/body").text
    for marker, permission in SECTIONS.items():
        shown = permission in PERMISSIONS[role]
        assert (marker in page) is shown, (role, marker)
        if marker != "new EventSource":
            assert (marker in body) is shown, (role, marker)


@pytest.mark.parametrize("role", list(Role))
def test_every_record_page_answers_a_role_as_the_api_does(
    troubled: TestClient, app: Backorder, role: Role
) -> None:
    troubled.post("/login", data={"key": create_key(app, role).key})
    for path, permission in RECORDS.items():
        page = troubled.get(f"/records/{path}")
        api = troubled.get(f"/api/v1/{path}")
        assert page.status_code == api.status_code, (role, path)
        if permission in PERMISSIONS[role]:
            assert page.status_code == 200, (role, path, page.text[:300])
        else:
            assert page.status_code == 403, (role, path)
            assert 'data-testid="problem"' in page.text
        assert (RECIPIENT in page.text) is (page.status_code == 200 and "notifications" in path)
