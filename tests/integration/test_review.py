"""The daily review against a real database, on SQLite and PostgreSQL: what it finds, the
tasks and incidents it writes (never twice), the delay notices (one per slip), the manager's
alert, what it clears, and the delay-option policy (silence, acceptance, lapse and refund)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from backorder.domain.errors import InvalidRequest, NothingToAnswer, UnknownTask
from backorder.services.alerts import alert_list
from backorder.services.context import Backorder
from backorder.services.customer_links import customer_answer, customer_delay, mint_link
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.review import run_review
from backorder.services.stock import receive_stock
from backorder.services.supply import (
    PoLineIn,
    SupplierIn,
    add_purchase_order,
    add_supplier,
    redate_purchase_order,
)
from backorder.services.tasks import finish_task, list_incidents, list_tasks
from backorder.services.views import order_view
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.integration.test_engine import payloads

SKU = "WIDGET-BLUE"
QUIET = {"tasks_opened": 0, "incidents": 0, "customers_notified": 0, "manager_alerted": 0}


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 6, 0, tzinfo=UTC)


def figures(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("overdue_lines", "value_at_risk", *QUIET, "cleared")}


@pytest.fixture
def late(app: Backorder) -> Backorder:
    return make_late(app)


def make_late(app: Backorder) -> Backorder:
    """ACME (lead time 20 days) supplies the SKU; five orders of 4 units wait, promised
    30 January; purchase order PO-1 brings 8 units on 25 January."""
    add_supplier(app, SupplierIn("ACME", "Acme Corp", 20, "buy@acme.example"))
    add_product(app, product(SKU, supplier="ACME"))
    for n in range(1, 6):
        place_order(app, order(f"{n}", (SKU, 4), placed_at=jan(n)))
    add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 8, date(2026, 1, 25))])
    return app


def test_nothing_is_late_before_the_promised_date(late: Backorder, clock: Clock) -> None:
    clock.current = on(1, 30)
    result = run_review(late)
    assert figures(result) == {"overdue_lines": 0, "value_at_risk": "0", **QUIET, "cleared": 0}
    assert list_tasks(late) == [] and list_incidents(late) == []


def test_the_review_finds_overdue_lines_and_runs_every_step_once(
    late: Backorder, clock: Clock
) -> None:
    clock.current = on(2, 2)
    result = run_review(late)
    assert figures(result) == {
        "overdue_lines": 5,
        "value_at_risk": str(Decimal("19.99") * 20),
        "tasks_opened": 2,  # procurement review and inventory correction, for the one SKU
        "incidents": 1,
        "customers_notified": 5,
        "manager_alerted": 0,
        "cleared": 0,
    }
    assert {line["delay_days"] for line in result["lines"]} == {3}
    # stamped, with the new dates: PO-1 is late (so a week's slack), the rest beyond supply
    view = order_view(late, "web:1")
    assert view["lines"][0]["checked_status"] == "overdue"
    assert view["lines"][0]["checked_at"] == on(2, 2).isoformat()
    (notice,) = view["delays"]
    assert (notice["missed"], notice["revised"], notice["consent"], notice["outcome"]) == (
        "2026-01-30",
        "2026-02-09",
        "none",
        "informed",
    )
    # beyond supply, 22 February is a guess that moves each day no purchase order is placed
    assert order_view(late, "web:5")["delays"][0]["revised"] == "2026-03-01"
    procurement, inventory = list_tasks(late, role="procurement") + list_tasks(
        late, role="inventory"
    )
    assert procurement["sku"] == inventory["sku"] == SKU
    assert procurement["orders"] == [f"web:{n}" for n in range(1, 6)]
    assert procurement["due_on"] == "2026-02-03"
    assert procurement["facts"]["inbound"] == [
        {"po": "PO-1", "expected_on": "2026-01-25", "units": 8}
    ]
    assert procurement["links"]["purchase_orders"][0].endswith("/api/v1/purchase-orders/PO-1")
    assert inventory["facts"]["past_due"][0]["po"] == "PO-1"
    (incident,) = list_incidents(late)
    assert incident["max_delay_days"] == 3 and incident["lines"] == 5
    assert (
        incident["plan"][0]
        == "chase ACME: purchase order PO-1 is 8 days late (8 units outstanding)"
    )
    (noticed,) = [p for p in payloads(late, "delay_noticed") if p["order_ref"] == "web:1"]
    assert noticed["lines"][0]["revised"] == "2026-02-09"
    assert len(payloads(late, "review_completed")) == 1

    events_before = len(payloads(late, "delay_noticed")) + len(payloads(late, "task_opened"))
    again = run_review(late)  # the same day: nothing new
    assert figures(again) == figures(result) | QUIET
    assert len(payloads(late, "delay_noticed")) + len(payloads(late, "task_opened")) == (
        events_before
    )
    assert len(payloads(late, "review_completed")) == 1
    assert len(list_tasks(late)) == 2 and len(list_incidents(late)) == 1


def test_tasks_are_never_duplicated_and_close_when_nothing_is_late(
    late: Backorder, clock: Clock
) -> None:
    clock.current = on(2, 2)
    run_review(late)
    clock.current = on(2, 3)
    next_day = run_review(late)
    assert (next_day["tasks_opened"], next_day["incidents"], next_day["customers_notified"]) == (
        0,
        1,  # the log has an entry per day
        0,  # no new slip: the revised dates hold
    )
    assert len(list_tasks(late)) == 2
    procurement = list_tasks(late, role="procurement")[0]
    finish_task(late, procurement["id"], "asked ACME to ship by air")
    clock.current = on(2, 4)
    assert run_review(late)["tasks_opened"] == 0  # done for these orders: not opened again
    place_order(late, order("6", (SKU, 2), placed_at=on(2, 4)))  # promised 24 February
    clock.current = on(2, 25)
    assert run_review(late)["tasks_opened"] == 1  # web:6 is late too: procurement again
    (again,) = list_tasks(late, role="procurement")
    assert "web:6" in again["orders"] and again["id"] != procurement["id"]
    receive_stock(late, SKU, 30)  # every order served
    clock.current = on(2, 26)
    cleared = run_review(late)
    assert cleared["overdue_lines"] == 0 and cleared["cleared"] == 2
    assert list_tasks(late) == []
    done = list_tasks(late, state="done")
    assert sorted((t["role"], t["done_by"], t["note"]) for t in done) == [
        ("inventory", "review", "nothing of this SKU is late any more"),
        ("procurement", "review", "nothing of this SKU is late any more"),
        ("procurement", "staff", "asked ACME to ship by air"),
    ]
    with pytest.raises(InvalidRequest):
        finish_task(late, procurement["id"])
    with pytest.raises(UnknownTask):
        finish_task(late, 999)


def test_a_slip_after_the_revised_date_gets_a_second_notice(late: Backorder, clock: Clock) -> None:
    clock.current = on(2, 2)
    run_review(late)
    redate_purchase_order(late, "PO-1", SKU, date(2026, 2, 20))  # later than told
    clock.current = on(2, 10)  # 9 February, the revised date of web:1 and web:2, has passed
    result = run_review(late)
    assert result["customers_notified"] == 2
    _, second = order_view(late, "web:1")["delays"]
    assert (second["seq"], second["missed"], second["revised"]) == (2, "2026-02-09", "2026-02-20")


def test_the_manager_hears_of_a_costly_late_order_once(
    late: Backorder, clock: Clock, settings: Any
) -> None:
    settings.sms_threshold = Decimal("50")
    clock.current = on(2, 2)
    assert run_review(late)["manager_alerted"] == 5
    assert run_review(late)["manager_alerted"] == 0
    alerts = [a for a in alert_list(late) if a["kind"] == "overdue_costly"]
    assert len(alerts) == 5 and alerts[0]["audience"] == ["manager"]
    receive_stock(late, SKU, 4)  # web:1 served
    clock.current = on(2, 3)
    assert run_review(late)["cleared"] == 1
    assert len([a for a in alert_list(late) if a["kind"] == "overdue_costly"]) == 4


def test_under_the_policy_silence_consents_to_a_first_short_delay(
    late: Backorder, clock: Clock, settings: Any
) -> None:
    settings.delay_options = True
    redate_purchase_order(late, "PO-1", SKU, date(2026, 2, 10))  # past the 30 January promise
    clock.current = on(1, 20)  # before the date: the rule wants the notice now
    result = run_review(late)
    # web:1 and web:2 wait for PO-1; nothing covers the others, and a purchase order placed
    # today would come on 9 February: every line is told before its date passes
    assert result["overdue_lines"] == 0 and result["customers_notified"] == 5
    assert order_view(late, "web:3")["delays"][0]["revised"] == "2026-02-16"  # 9th + slack
    (notice,) = order_view(late, "web:1")["delays"]
    assert (notice["missed"], notice["revised"], notice["consent"], notice["answer_by"]) == (
        "2026-01-30",
        "2026-02-10",
        "silence",
        "2026-01-30",
    )
    clock.current = on(1, 31)
    run_review(late)
    assert order_view(late, "web:1")["delays"][0]["outcome"] == "consented"
    assert order_view(late, "web:1")["lines"][0]["backordered"] == 4


def test_under_the_policy_a_second_delay_needs_acceptance_else_it_is_refunded(
    late: Backorder, clock: Clock, settings: Any
) -> None:
    settings.delay_options = True
    redate_purchase_order(late, "PO-1", SKU, date(2026, 2, 10))
    clock.current = on(1, 20)
    run_review(late)
    redate_purchase_order(late, "PO-1", SKU, date(2026, 2, 25))  # slips again
    clock.current = on(1, 21)
    assert run_review(late)["customers_notified"] == 2
    notices = order_view(late, "web:2")["delays"]
    assert [(n["seq"], n["consent"], n["outcome"]) for n in notices] == [
        (1, "silence", "superseded"),
        (2, "explicit", "pending"),
    ]
    token = mint_link(late, "web:1").token
    assert customer_delay(late, "web:1", token)["can_accept"]
    assert customer_answer(late, "web:1", token, "accept") == 1
    with pytest.raises(NothingToAnswer):
        customer_answer(late, "web:1", token, "accept")
    assert notices[1]["answer_by"] == "2026-02-10"
    clock.current = on(2, 11)
    run_review(late)
    assert order_view(late, "web:1")["lines"][0]["backordered"] == 4  # accepted: it waits
    lapsed = order_view(late, "web:2")
    assert lapsed["lines"][0]["cancelled"] == 4 and lapsed["delays"][-1]["outcome"] == "lapsed"
    (refund,) = payloads(late, "refund_due")
    assert (refund["order_ref"], refund["units"], refund["amount"], refund["reason"]) == (
        "web:2",
        4,
        str(Decimal("19.99") * 4),
        "delay_not_accepted",
    )


def test_a_customer_cancels_the_delayed_lines_from_the_notice(
    late: Backorder, clock: Clock, settings: Any
) -> None:
    settings.delay_options = True
    clock.current = on(2, 2)
    run_review(late)
    token = mint_link(late, "web:3").token
    assert customer_answer(late, "web:3", token, "cancel") == 1
    view = order_view(late, "web:3")
    assert view["lines"][0]["cancelled"] == 4 and view["delays"][0]["outcome"] == "cancelled"
    assert [p["reason"] for p in payloads(late, "refund_due")] == ["delay_cancelled"]
    with pytest.raises(InvalidRequest):
        customer_answer(late, "web:3", token, "maybe")
