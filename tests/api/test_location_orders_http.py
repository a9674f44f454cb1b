"""Where a 3PL's shipping orders go, over HTTP, in process: `orders_url` and `orders_format`
on location create (POST) and change (PATCH); the signing secret is in the answer that made
it and never again; bad input (an own location, a URL that is none, an unknown format) is a
4xx problem in words and changes nothing; the OpenAPI document describes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.store.tables import locations
from tests.integration.invariants import snapshot

EAST = {"code": "east", "name": "ShipBob East", "kind": "3pl", "priority": 1}


@pytest.fixture
def http(app: Backorder) -> Iterator[TestClient]:
    key = create_key(app, Role.ADMIN).key
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def _rows(app: Backorder) -> list[tuple[Any, ...]]:
    with snapshot(app.db) as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    locations.c.code,
                    locations.c.kind,
                    locations.c.orders_url,
                    locations.c.orders_format,
                    locations.c.orders_secret,
                ).order_by(locations.c.code)
            )
        ]


def test_a_3pl_takes_shipping_orders_and_its_secret_is_shown_once(
    http: TestClient, app: Backorder
) -> None:
    made = http.post("/api/v1/locations", json=EAST | {"orders_url": "https://3pl.example/edi/940"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["orders_url"], body["orders_format"]) == ("https://3pl.example/edi/940", "x12-940")
    secret = body["orders_secret"]
    assert secret.startswith("whsec_")
    shown = http.get("/api/v1/locations/east").json()
    assert "orders_secret" not in shown and shown["orders_format"] == "x12-940"
    moved = http.patch(
        "/api/v1/locations/east",
        json={"orders_url": "https://3pl.example/orders", "orders_format": "json"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["orders_url"], moved.json()["orders_format"]) == (
        "https://3pl.example/orders",
        "json",
    )
    assert moved.json()["orders_secret"] is None  # made once: the 3PL keeps it
    assert [r for r in _rows(app) if r[0] == "east"] == [
        ("east", "3pl", "https://3pl.example/orders", "json", secret)
    ]
    stopped = http.patch("/api/v1/locations/east", json={"orders_url": None})
    assert stopped.status_code == 200 and stopped.json()["orders_url"] is None

    fba = http.post("/api/v1/locations", json={"code": "fba", "name": "FBA", "kind": "fba"})
    assert fba.status_code == 201, fba.text
    assert fba.json()["orders_secret"] is None  # no URL, no secret
    later = http.patch("/api/v1/locations/fba", json={"orders_url": "http://127.0.0.1:8/mcf"})
    assert later.json()["orders_secret"].startswith("whsec_")  # the first URL makes it


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        (
            "PATCH",
            "/api/v1/locations/main",
            {"orders_url": "https://3pl.example/940"},
            422,
            "location main is own: only 3pl and fba take shipping orders",
        ),
        (
            "PATCH",
            "/api/v1/locations/main",
            {"orders_format": "json"},
            422,
            "location main is own: only 3pl and fba take shipping orders",
        ),
        (
            "POST",
            "/api/v1/locations",
            {"code": "shop", "name": "Shop", "kind": "store", "orders_url": "https://x.example/"},
            422,
            "location shop is store: only 3pl and fba take shipping orders",
        ),
        (
            "PATCH",
            "/api/v1/locations/east",
            {"orders_url": "ftp://3pl.example/940"},
            422,
            "orders_url",
        ),
        (
            "PATCH",
            "/api/v1/locations/east",
            {"orders_url": "https://a b.example"},
            422,
            "go to an http(s) URL, not 'https://a b.example'",
        ),
        ("PATCH", "/api/v1/locations/east", {"orders_format": "csv"}, 422, "orders_format"),
        (
            "POST",
            "/api/v1/locations",
            EAST | {"code": "west", "orders_format": "edi"},
            422,
            "orders_format",
        ),
        (
            "PATCH",
            "/api/v1/locations/nowhere",
            {"orders_url": "https://x.example/"},
            404,
            "nowhere",
        ),
    ],
)
def test_bad_shipping_order_settings_are_refused_in_words_and_change_nothing(
    http: TestClient,
    app: Backorder,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    assert http.post("/api/v1/locations", json=EAST).status_code == 201
    before = _rows(app)
    answer = http.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.text
    assert _rows(app) == before


def test_the_openapi_document_describes_the_shipping_order_settings(http: TestClient) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    for name in ("LocationIn", "LocationPatch"):
        fields = schemas[name]["properties"]
        assert "3pl/fba only" in fields["orders_url"]["description"]
        formats = [choice.get("enum") for choice in fields["orders_format"]["anyOf"]]
        assert ["x12-940", "json"] in formats
    saved = schemas["LocationSavedOut"]["properties"]["orders_secret"]
    assert "whsec_" in saved["description"]
