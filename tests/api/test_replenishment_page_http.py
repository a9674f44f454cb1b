"""The dashboard's replenishment page, in process: ops changes a proposed recommendation
(another supplier, another quantity) from its form and sees the draft purchase order it made
awaiting approval, approves it, rejects another line with a note; each decision records
the session's key as `dashboard:<name>`; a viewer sees the lines but no form, and is refused
if it posts one. Through the API, the key's name is who decided and a second decision is a
409 problem."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.supply import get_purchase_order
from tests.api.test_dashboard_actions_http import CSRF, act, signed_in, viewer_token
from tests.integration.test_automatic_purchase_orders import (
    proposed,
    rec_row,
    with_suppliers,
)

PAGE = "/dashboard/replenishment"


@pytest.fixture
def supplied(app: Backorder) -> Backorder:
    return with_suppliers(app)


@pytest.fixture
def ops(supplied: Backorder) -> Iterator[TestClient]:
    with TestClient(create_app(supplied), follow_redirects=False) as http:
        key = create_key(supplied, Role.OPS, "alice").key
        assert http.post("/login", data={"key": key}).status_code == 303
        yield http


def test_ops_changes_a_line_then_approves_its_draft_and_rejects_another(
    ops: TestClient, supplied: Backorder
) -> None:
    first, second = proposed(supplied), proposed(supplied, 40, key="FILTER-10@east")
    page = ops.get(PAGE).text
    assert 'href="/dashboard/replenishment"' in page  # the header links it
    assert f'data-testid="recommendation-{first}"' in page
    assert "FilterCo can deliver by 14 Jan." in page
    assert '<option value="CLEARFLOW">ClearFlow</option>' in page

    action = f"/records/replenishment/{first}/accept"
    back, said = act(ops, PAGE, action, quantity="130", supplier="CLEARFLOW")
    assert back == PAGE
    assert said.startswith("Accepted 150 units: R-2026-000001 (awaiting approval)")
    assert rec_row(supplied, first)["decided_by"] == "dashboard:alice"
    page = ops.get(PAGE).text
    assert f'data-testid="recommendation-{first}"' not in page
    assert 'data-testid="draft-R-2026-000001"' in page and "390.00" in page

    _, said = act(ops, PAGE, "/records/purchase-orders/R-2026-000001/approve")
    assert said == "Approved R-2026-000001: it goes to the supplier"
    po = get_purchase_order(supplied, "R-2026-000001")
    assert (po["approval"], po["approved_by"]) == ("approved", "dashboard:alice")

    _, said = act(ops, PAGE, f"/records/replenishment/{second}/reject", note="too early")
    assert said == f"Rejected recommendation {second}"
    assert (rec_row(supplied, second)["state"], rec_row(supplied, second)["note"]) == (
        "rejected",
        "too early",
    )
    again = ops.post(  # the form of a page still showing it: decided already
        f"/records/replenishment/{second}/reject", data={"csrf": viewer_token(ops), "back": PAGE}
    )
    shown = ops.get(again.headers["location"]).text
    assert f"Nothing was changed: recommendation {second} is rejected by dashboard:alice" in shown


def test_a_viewer_sees_the_lines_but_no_form_and_is_refused(supplied: Backorder) -> None:
    rec = proposed(supplied)
    for http in signed_in(supplied, Role.VIEWER):
        page = http.get(PAGE)
        assert page.status_code == 200 and f'data-testid="recommendation-{rec}"' in page.text
        assert CSRF.search(page.text) is None
        refused = http.post(
            f"/records/replenishment/{rec}/accept", data={"csrf": viewer_token(http), "back": PAGE}
        )
        assert refused.status_code == 403 and "may not purchase" in refused.text
    assert rec_row(supplied, rec)["state"] == "proposed"
    with TestClient(create_app(supplied), follow_redirects=False) as stranger:
        assert stranger.get(PAGE).headers["location"] == "/login"


def test_the_api_records_the_keys_name_and_a_second_decision_is_a_409(
    supplied: Backorder,
) -> None:
    rec = proposed(supplied)
    key = create_key(supplied, Role.OPS, "buyer-bot").key
    with TestClient(create_app(supplied)) as http:
        auth = {"Authorization": f"Bearer {key}"}
        url = f"/api/v1/replenishment/{rec}/accept"
        done = http.post(url, json={"quantity": 101}, headers=auth)
        assert done.status_code == 200, done.text
        assert done.json()["purchase_order"]["lines"][0]["ordered"] == 108  # MOQ 100, 12s
        again = http.post(url, json={}, headers=auth)
        assert again.status_code == 409
        assert again.json()["type"] == "/problems/already-decided"
        assert "is accepted by buyer-bot" in again.json()["detail"]
        po = done.json()["purchase_order"]["po"]
        approved = http.post(f"/api/v1/purchase-orders/{po}/approve", headers=auth).json()
        assert (approved["approval"], approved["approved_by"]) == ("approved", "buyer-bot")
