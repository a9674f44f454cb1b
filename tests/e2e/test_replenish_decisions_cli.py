"""`backorder replenish accept|reject`, `po approve|reject` and `supplier update
--auto-approve-limit/--po-format/--po-to` as a user types them, at 80 columns: a changed
line re-rounded, a draft listed and approved, a second decision refused in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from backorder.services.context import Backorder
from backorder.store.db import Database
from tests.e2e.test_product_suppliers_cli import run
from tests.integration.test_automatic_purchase_orders import proposed


def test_deciding_recommendations_from_the_command_line(sqlite_url: str) -> None:
    url = sqlite_url
    run(url, "supplier", "add", "FILTERCO", "--name", "FilterCo", "--lead-time-days", "10")
    run(url, "supplier", "add", "CLEARFLOW", "--name", "ClearFlow", "--lead-time-days", "5")
    run(url, "product", "add", "FILTER-10", "--name", "Filter", "--price", "9.99",
        "--supplier", "FILTERCO")  # fmt: skip
    run(url, "product", "supplier", "update", "FILTER-10", "FILTERCO", "--cost", "2.50",
        "--lead-time-days", "4", "--moq", "100", "--pack", "12")  # fmt: skip
    run(url, "product", "supplier", "add", "FILTER-10", "CLEARFLOW", "--cost", "2.60",
        "--lead-time-days", "3", "--pack", "50")  # fmt: skip
    said = run(url, "supplier", "update", "CLEARFLOW", "--auto-approve-limit", "500",
               "--po-format", "webhook", "--po-to", "https://supplier.example/po")  # fmt: skip
    assert "purchase orders: webhook to https://supplier.example/po; auto-approve limit: " \
        "500.00" in said  # fmt: skip
    assert "signing secret (shown once): whsec_" in said
    app = Backorder(Database(url))
    first, second, third = (proposed(app, 120, key) for key in ("FILTER-10", "A", "B"))
    app.close()

    changed = run(url, "replenish", "accept", str(first), "--quantity", "130",
                  "--supplier", "CLEARFLOW")  # fmt: skip
    assert changed.splitlines() == [
        f"recommendation {first} accepted: R-{datetime.now(UTC).year}-000001 to CLEARFLOW",
        # CLEARFLOW's lead time from today: the command runs on the real clock
        f"150 x FILTER-10, USD 390.00, expected {datetime.now(UTC).date() + timedelta(days=3)}",
        "approved by rule:auto_approve_limit supplier ClearFlow 500.00; not sent yet",
        "  supplier CLEARFLOW instead of FILTERCO",
        "  quantity 130 instead of 120",
        "  rounded up from 130 to 150 units (CLEARFLOW: minimum order 1, packs of 50)",
    ]
    draft = json.loads(run(url, "replenish", "accept", str(second), "--json"))
    ref = draft["purchase_order"]["po"]
    assert draft["purchase_order"]["approval"] == "pending"
    listed = run(url, "po", "list")
    assert f" {ref} " in listed and " draft " in listed
    approved = run(url, "po", "approve", ref)
    assert approved.splitlines()[1].startswith("approved by cli; sent ")  # by hand: FilterCo
    assert run(url, "replenish", "reject", str(third), "--note", "not now") == (
        f"recommendation {third} rejected\n"
    )
    again = run(url, "replenish", "accept", str(third), ok=False)
    assert again == f"error: recommendation {third} is rejected by cli; only a proposed one " \
        "can be decided\n"  # fmt: skip
    for output in (changed, approved):  # (po list's table was wider than 80 before this)
        assert all(len(line) <= 80 for line in output.splitlines()), output
