"""Bad input is a 4xx problem document, never a 500: a real server on each backend, with
webhook secrets set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text as text_

from backorder.intake.signatures import HEADERS as SIGNATURE_HEADERS
from backorder.store.db import Database
from tests.api.live import Server, cli, make_keys, serving

SECRETS = {"shopify": "hush", "woocommerce": "hush"}
LIMIT = 65_536  # BACKORDER_MAX_BODY_BYTES of this module's server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def guarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with webhook secrets for Shopify and WooCommerce, reading bodies of at most
    64 KiB."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bad') / 'bad.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    cli(url, "product", "add", "WIDGET-BLUE", "--name", "Blue widget", "--price", "19.99")
    keys = make_keys(url)
    env = {"BACKORDER_WEBHOOK_SECRETS": json.dumps(SECRETS), "BACKORDER_MAX_BODY_BYTES": str(LIMIT)}
    with serving(url, env) as base:
        yield Server(base, keys, url)


def _order(external_id: str, **line: Any) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": external_id,
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "lines": [{"sku": "WIDGET-BLUE", "quantity": 1} | line],
    }


def _bad_signatures(server: Server, channel: str) -> float:
    text = httpx.get(
        f"{server.base}/metrics", headers={"Authorization": f"Bearer {server.keys['admin']}"}
    ).text
    prefix = f'backorder_intake_bad_signatures_total{{account="default",channel="{channel}"}} '
    counted = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(counted[0].removeprefix(prefix)) if counted else 0.0


@pytest.mark.parametrize("channel", sorted(SIGNATURE_HEADERS))
@pytest.mark.parametrize(
    "signature",
    ["é".encode(), "sig\xff".encode("latin-1"), "✓=".encode()],
    ids=["utf-8", "latin-1", "check-mark"],
)
def test_a_signature_header_that_is_not_ascii_is_refused_and_counted(
    guarded: Server, channel: str, signature: bytes
) -> None:
    before = _bad_signatures(guarded, channel)
    answer = httpx.post(
        f"{guarded.base}/api/v1/channels/{channel}/webhooks",
        content=b"{}",
        headers={SIGNATURE_HEADERS[channel]: signature, "Content-Type": "application/json"},
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"] == "/problems/bad-signature"
    assert _bad_signatures(guarded, channel) == before + 1


def test_a_number_too_long_to_read_is_stored_then_dead_lettered_with_the_reason(
    guarded: Server,
) -> None:
    text = json.dumps(_order("long-number")).replace('"quantity": 1', '"quantity": ' + "9" * 5000)
    answer = httpx.post(
        f"{guarded.base}/api/v1/channels/canonical/orders",
        content=text.encode(),
        headers={"Authorization": f"Bearer {guarded.keys['channel']}"},
    )
    assert answer.status_code == 200, answer.text
    (dead,) = answer.json()["dead_lettered"]
    assert dead["reasons"] == ["a number of 5,000 digits (at most 4,300 are read)"]
    letters = httpx.get(
        f"{guarded.base}/api/v1/intake/dead-letters",
        headers={"Authorization": f"Bearer {guarded.keys['ops']}"},
    ).json()
    assert dead["id"] in [letter["id"] for letter in letters]


@pytest.mark.parametrize(
    ("quantity", "taken"),
    [
        ("1.0", True),
        ("2.000", True),
        ("1e0", True),
        ("1.5", False),
        ('"1"', False),
        ("true", False),
    ],
)
def test_a_quantity_gets_the_same_answer_from_the_orders_route_and_the_canonical_channel(
    guarded: Server, quantity: str, taken: bool
) -> None:
    """A whole number is one by value (1.0 is, as JSON Schema's integer says), whether the
    order comes to POST /orders or through the canonical channel, and is kept as sent."""
    key = {"Authorization": f"Bearer {guarded.keys['channel']}"}
    name = quantity.replace('"', "q").replace(".", "p")
    texts = [
        json.dumps(_order(f"qty-{way}-{name}")).replace('"quantity": 1', f'"quantity": {quantity}')
        for way in ("route", "channel")
    ]
    direct = httpx.post(
        f"{guarded.base}/api/v1/orders",
        content=texts[0].encode(),
        headers=key | {"Content-Type": "application/json"},
    )
    channel = httpx.post(
        f"{guarded.base}/api/v1/channels/canonical/orders", content=texts[1].encode(), headers=key
    )
    assert channel.status_code == 200, channel.text
    if taken:
        assert direct.status_code == 201, direct.text
        assert channel.json()["accepted"] == [f"web:qty-channel-{name}"], channel.text
        assert direct.json()["lines"][0]["quantity"] == round(float(quantity))
    else:
        assert direct.status_code == 422, direct.text
        (dead,) = channel.json()["dead_lettered"]
        assert any("lines.0.quantity" in reason for reason in dead["reasons"]), dead


@pytest.mark.parametrize(
    "query",
    [
        "/reports/weekly?week=9999-W52",
        "/reports/weekly?week=9999-W52&format=pdf",
        "/kpis?to=9999-12-31",
        "/kpis?from=9999-12-25&to=9999-12-31",
    ],
)
def test_a_period_past_the_end_of_the_calendar_is_refused(guarded: Server, query: str) -> None:
    answer = httpx.get(
        f"{guarded.base}/api/v1{query}",
        headers={"Authorization": f"Bearer {guarded.keys['viewer']}"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "/problems/invalid-request"


@pytest.mark.parametrize(
    "query", ["/reports/weekly?week=9999-W51", "/kpis?to=0001-01-05", "/kpis?to=9999-12-30"]
)
def test_the_first_and_last_periods_the_calendar_holds_are_answered(
    guarded: Server, query: str
) -> None:
    answer = httpx.get(
        f"{guarded.base}/api/v1{query}",
        headers={"Authorization": f"Bearer {guarded.keys['viewer']}"},
    )
    assert answer.status_code == 200, answer.text


def _chunks(total: int) -> Iterator[bytes]:
    """A body sent in 8 KiB chunks, with no Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, total, 8192):
        yield b" " * min(8192, total - start)


def _intake_counts(server: Server) -> Any:
    return httpx.get(
        f"{server.base}/api/v1/intake/health",
        headers={"Authorization": f"Bearer {server.keys['viewer']}"},
    ).json()


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/channels/canonical/orders"])
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
@pytest.mark.parametrize("sent", ["content-length", "chunked"])
def test_a_body_past_the_limit_is_refused_with_413_and_nothing_is_kept(
    guarded: Server, path: str, idempotent: bool, sent: str
) -> None:
    headers = {"Authorization": f"Bearer {guarded.keys['admin']}"}
    if idempotent:
        headers["Idempotency-Key"] = f"too-large-{path}-{sent}"
    before = _intake_counts(guarded)
    body = b" " * (LIMIT + 1)
    answer = httpx.post(
        guarded.base + path,
        content=body if sent == "content-length" else _chunks(4 * LIMIT),
        headers=headers | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/body-too-large"
    assert _intake_counts(guarded) == before
    if idempotent:  # the key was never claimed: a retry with a smaller body is served
        small = httpx.post(guarded.base + path, content=b"{}", headers=headers)
        assert small.status_code in (200, 422), small.text


def test_a_body_up_to_the_limit_is_read(guarded: Server) -> None:
    text = json.dumps(_order("at-the-limit"))
    body = (text + " " * (LIMIT - len(text))).encode()
    assert len(body) == LIMIT
    for content in (body, iter([body[:40_000], body[40_000:]])):
        answer = httpx.post(
            f"{guarded.base}/api/v1/channels/canonical/orders",
            content=content,
            headers={"Authorization": f"Bearer {guarded.keys['channel']}"},
        )
        assert answer.status_code == 200, answer.text
    assert answer.json()["duplicates"] == ["web:at-the-limit"]


def _with(path: tuple[str, ...], value: Any, external_id: str) -> dict[str, Any]:
    document: dict[str, Any] = _order(external_id)
    target = document
    for step in path[:-1]:
        target = target[step] if step != "0" else target[0]
    target[path[-1]] = value
    return document


NUL_PLACES = {
    "customer-id": ("customer", "id"),
    "customer-name": ("customer", "name"),
    "email": ("customer", "email"),
    "sku": ("lines", "0", "sku"),
    "tier": ("customer", "tier"),
    "currency": ("currency",),
    "unknown-field": ("note\u0000",),
}


@pytest.mark.parametrize("place", sorted(NUL_PLACES))
def test_a_nul_in_a_channel_payload_is_kept_and_dead_lettered_on_either_backend(
    guarded: Server, place: str
) -> None:
    """Any valid JSON text is stored as received, and a NUL (\\u0000) in it makes the same
    dead letter on SQLite and on PostgreSQL, which keeps no NUL: it is in no field of an
    order, and the reasons say where, without it."""
    external_id = f"nul-{place}"
    document = _with(NUL_PLACES[place], "x\u0000y", external_id)
    text = json.dumps(document)
    assert "\\u0000" in text
    headers = {"Authorization": f"Bearer {guarded.keys['channel']}"}
    answer = httpx.post(
        f"{guarded.base}/api/v1/channels/canonical/orders", content=text.encode(), headers=headers
    )
    assert answer.status_code == 200, answer.text
    (dead,) = answer.json()["dead_lettered"]
    assert dead["reasons"] and not any("\x00" in reason for reason in dead["reasons"])
    database = Database(guarded.db_url)
    try:
        with database.engine.connect() as conn:
            raw = conn.execute(
                text_("SELECT raw FROM intake_payloads WHERE id = :id"), {"id": dead["id"]}
            ).scalar_one()
    finally:
        database.dispose()
    assert raw == text  # the dead letter keeps it, exactly as sent


@pytest.mark.parametrize("place", ["customer-id", "customer-name", "email"])
def test_a_nul_in_an_order_is_refused_alike_on_either_backend(guarded: Server, place: str) -> None:
    document = _with(NUL_PLACES[place], "x\u0000y", f"nul-direct-{place}")
    answer = httpx.post(
        f"{guarded.base}/api/v1/orders",
        content=json.dumps(document).encode(),
        headers={
            "Authorization": f"Bearer {guarded.keys['channel']}",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "/problems/validation"


def test_a_delivery_holding_a_raw_nul_is_refused_alike_and_not_stored(guarded: Server) -> None:
    before = _intake_counts(guarded)
    answer = httpx.post(
        f"{guarded.base}/api/v1/channels/csv/orders",
        content=b"order_id,placed_at,customer_id,sku,quantity\n1,2026-01-05T10:00:00Z,c\x00,W,1\n",
        headers={"Authorization": f"Bearer {guarded.keys['channel']}"},
    )
    assert answer.status_code == 422, answer.text
    assert "NUL" in answer.json()["detail"]
    assert _intake_counts(guarded) == before


def test_a_query_parameter_given_twice_is_refused_and_nothing_is_stored(guarded: Server) -> None:
    """Schemathesis found an order stored under one of two topics given: neither is taken."""
    answer = httpx.post(
        f"{guarded.base}/api/v1/channels/canonical/orders?topic=a&account=x&topic=b",
        content=json.dumps(_order("twice")).encode(),
        headers={"Authorization": f"Bearer {guarded.keys['channel']}"},
    )
    assert answer.status_code == 422, answer.text
    said = answer.json()
    assert said["type"] == "/problems/validation"
    assert said["detail"] == "query.topic: given 2 times: give it once"
    database = Database(guarded.db_url)
    try:
        with database.read() as uow:
            stored = uow.connection.execute(
                text_("SELECT count(*) FROM intake_payloads WHERE raw LIKE '%twice%'")
            )
            assert stored.scalar_one() == 0
    finally:
        database.dispose()
    once = httpx.get(  # two parameters, one value each: answered
        f"{guarded.base}/api/v1/kpis?from=2026-01-01&to=2026-01-31",
        headers={"Authorization": f"Bearer {guarded.keys['viewer']}"},
    )
    assert once.status_code == 200, once.text
