"""GET /api/v1/kpis and /reports/weekly in process, on the hand-checked January story of the
KPI tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.kpis import Dimension, kpis
from backorder.services.report import weekly_report
from tests.conftest import Clock
from tests.integration.test_kpis import JANUARY, make_january
from tests.integration.test_kpis_by_location import make_story


@pytest.fixture
def client(app: Backorder, clock: Clock) -> Iterator[TestClient]:
    make_january(app, clock)
    with TestClient(create_app(app)) as http:
        http.headers["Authorization"] = f"Bearer {create_key(app, Role.VIEWER).key}"
        yield http


def test_a_viewer_reads_the_kpis_of_a_period_by_channel(client: TestClient, app: Backorder) -> None:
    answer = client.get(
        "/api/v1/kpis", params={"from": "2026-01-01", "to": "2026-01-31", "by": "channel"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["by"]) == ("2026-01-01", "2026-01-31", "channel")
    assert body == kpis(app, *JANUARY, by=Dimension.CHANNEL) | {"as_of": body["as_of"]}
    assert body["kpis"]["conversion_rate"]["value"] == 0.6
    assert [g["key"] for g in body["groups"]] == ["web", "amazon"]


def test_the_groups_come_a_page_at_a_time(client: TestClient) -> None:
    period = {"from": "2026-01-01", "to": "2026-01-31", "by": "sku"}
    everything = client.get("/api/v1/kpis", params=period).json()
    assert everything["group_count"] == 4 and len(everything["groups"]) == 4
    second = client.get("/api/v1/kpis", params=period | {"limit": "1", "offset": "1"}).json()
    assert (second["group_count"], second["limit"], second["offset"]) == (4, 1, 1)
    assert second["groups"] == everything["groups"][1:2]
    assert second["kpis"] == everything["kpis"]


def test_the_default_period_is_the_last_30_days(client: TestClient) -> None:
    body = client.get("/api/v1/kpis").json()
    assert (body["from"], body["to"], body["groups"]) == ("2025-12-27", "2026-01-25", [])


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "0"}, "/problems/validation"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "/problems/invalid-request"),
        ({"by": "colour"}, "/problems/validation"),
        ({"by": "sku", "limit": "0"}, "/problems/validation"),
        ({"by": "sku", "limit": "1001"}, "/problems/validation"),
        ({"by": "sku", "offset": "-1"}, "/problems/validation"),
    ],
)
def test_a_bad_period_or_grouping_is_a_problem(
    client: TestClient, params: dict[str, str], problem: str
) -> None:
    answer = client.get("/api/v1/kpis", params=params)
    assert answer.status_code in (400, 422)
    assert answer.json()["type"] == problem


def test_the_weekly_report_in_each_format(client: TestClient, app: Backorder) -> None:
    answer = client.get("/api/v1/reports/weekly", params={"week": "2026-W03"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == json.loads(json.dumps(weekly_report(app, "2026-W03")))
    assert client.get("/api/v1/reports/weekly").json()["week"] == "2026-W03"  # last week
    for fmt, media, start in (
        ("html", "text/html", b"<!doctype html>"),
        ("csv", "text/csv", b"section,item,field,value"),
        ("pdf", "application/pdf", b"%PDF-"),
    ):
        answer = client.get("/api/v1/reports/weekly", params={"week": "2026-W03", "format": fmt})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(media)
        assert answer.content.startswith(start)


@pytest.mark.parametrize("week", ["2026-47", "2026-W60"])
def test_a_week_that_is_not_one_is_a_problem(client: TestClient, week: str) -> None:
    answer = client.get("/api/v1/reports/weekly", params={"week": week})
    assert answer.status_code == 422


def test_the_kpis_by_location_over_http(app: Backorder, clock: Clock) -> None:
    make_story(app, clock)
    with TestClient(create_app(app)) as http:
        http.headers["Authorization"] = f"Bearer {create_key(app, Role.VIEWER).key}"
        answer = http.get(
            "/api/v1/kpis", params={"from": "2026-01-01", "to": "2026-01-31", "by": "location"}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by"], body["group_count"]) == ("location", 2)
    groups = {g["key"]: g["kpis"] for g in body["groups"]}
    assert groups["main"]["average_backorder_duration"]["value"] == 3.0
    assert groups["east"]["fulfillment_accuracy"]["shipped_lines"] == 2
