"""Pack sizes over HTTP, in process: `packs` on product create (POST), change (PATCH: null
clears a unit) and read; the OpenAPI document says what a unit code and a size are, with
examples; a bad one is a 422 in words and changes nothing; the dashboard's product page
shows them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from tests.integration.test_engine import event_types

PRODUCT = {"sku": "24776", "name": "Tomatoes, tinned", "price": "2.50"}


@pytest.fixture
def http(app: Backorder) -> Iterator[TestClient]:
    key = create_key(app, Role.ADMIN).key
    with TestClient(create_app(app), headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_packs_are_created_changed_and_read(http: TestClient, app: Backorder) -> None:
    created = http.post("/api/v1/products", json=PRODUCT | {"packs": {"PL": 480, "CA": 12}})
    assert created.status_code == 201, created.text
    assert created.json()["packs"] == {"CA": 12, "PL": 480}
    changed = http.patch("/api/v1/products/24776", json={"packs": {"CA": None, "BX": 6}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["packs"] == {"BX": 6, "PL": 480}
    assert http.get("/api/v1/products/24776").json()["packs"] == {"BX": 6, "PL": 480}
    kept = http.patch("/api/v1/products/24776", json={"name": "Tomatoes"})
    assert kept.json()["packs"] == {"BX": 6, "PL": 480}  # left out: kept
    plain = http.post("/api/v1/products", json=PRODUCT | {"sku": "MUG"})
    assert plain.json()["packs"] == {}
    events = http.get("/api/v1/events?after=0").json()
    (repacked, renamed) = [e for e in events if e["type"] == "product_changed"]
    assert repacked["payload"]["changes"] == {
        "packs": {"from": {"CA": 12, "PL": 480}, "to": {"BX": 6, "PL": 480}}
    }
    assert "packs" not in renamed["payload"]["changes"]


def _problem(answer: Any) -> tuple[int, str, str]:
    body = answer.json()
    return answer.status_code, body["type"], body["detail"]


@pytest.mark.parametrize(
    ("packs", "slug", "says"),
    [
        ({"CA": 1}, "/problems/validation", "greater than or equal to 2"),
        ({"CA": 1_000_001}, "/problems/validation", "less than or equal to 1000000"),
        ({"ca": 12}, "/problems/validation", "pattern"),
        ({"CA": "12"}, "/problems/validation", "expected a whole number"),
        ({"CA": 12.5}, "/problems/validation", "a valid integer"),
        ({"EA": 12}, "/problems/invalid-request", "unit EA is a single unit: it has no pack size"),
    ],
)
def test_a_bad_pack_is_a_422_in_words_and_changes_nothing(
    http: TestClient, app: Backorder, packs: dict[str, Any], slug: str, says: str
) -> None:
    created = http.post("/api/v1/products", json=PRODUCT | {"packs": packs})
    status, kind, detail = _problem(created)
    assert (status, kind) == (422, slug) and says in detail + str(created.json()), created.text
    assert http.get("/api/v1/products/24776").status_code == 404  # not added without them
    http.post("/api/v1/products", json=PRODUCT | {"packs": {"CA": 12}})
    changed = http.patch("/api/v1/products/24776", json={"name": "Other", "packs": packs})
    assert changed.status_code == 422, changed.text
    after = http.get("/api/v1/products/24776").json()
    assert (after["name"], after["packs"]) == (PRODUCT["name"], {"CA": 12})
    assert event_types(app) == ["product_added"]


def test_packs_null_as_a_whole_is_refused_naming_how_to_clear_one(http: TestClient) -> None:
    http.post("/api/v1/products", json=PRODUCT | {"packs": {"CA": 12}})
    status, kind, detail = _problem(http.patch("/api/v1/products/24776", json={"packs": None}))
    assert (status, kind) == (422, "/problems/invalid-request")
    assert detail == 'packs cannot be null: clear a unit\'s pack with {"CA": null}'


def test_the_openapi_document_describes_packs_with_examples(http: TestClient) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    created = schemas["ProductIn"]["properties"]["packs"]
    (sizes,) = created["patternProperties"].values()
    assert list(created["patternProperties"]) == ["^[A-Z0-9]{1,8}$"]
    assert created["additionalProperties"] is False  # a key is a unit code, nothing else
    assert (sizes["minimum"], sizes["maximum"]) == (2, 1_000_000)
    assert created["examples"] == [{"CA": 12, "PL": 480}]
    assert "single units" in created["description"]
    patched = schemas["ProductPatch"]["properties"]["packs"]
    (sizes,) = patched["patternProperties"].values()
    assert {"type": "null"} in sizes["anyOf"] and "null loses its pack" in patched["description"]
    assert patched["additionalProperties"] is False
    read = schemas["ProductOut"]["properties"]["packs"]
    assert read["examples"] == [{"CA": 12, "PL": 480}]
    assert "packs" in schemas["ProductOut"]["required"]


def test_the_dashboard_product_page_shows_the_packs(app: Backorder, http: TestClient) -> None:
    http.post("/api/v1/products", json=PRODUCT | {"packs": {"CA": 12, "QQ": 480}})
    http.post("/api/v1/products", json=PRODUCT | {"sku": "MUG"})
    http.cookies.clear()
    page = TestClient(create_app(app), follow_redirects=False)
    page.post("/login", data={"key": create_key(app, Role.VIEWER).key})
    shown = page.get("/records/products/24776")
    assert shown.status_code == 200, shown.text
    assert 'data-testid="packs">CA (case) of 12 units, QQ of 480 units</dd>' in shown.text
    single = page.get("/records/products/MUG").text
    assert 'data-testid="packs">none: single units only</dd>' in single
