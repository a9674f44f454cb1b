"""`backorder review --now`, `task` and `incident` as a user runs them: a month of days, one
review a day (twice, to show the second changes nothing), while purchase orders slip and
stock comes in. Every late line gets exactly one delay notice per slip.

The commands run in this process (Typer's runner: the same code as the installed command,
without a process start per day); the changes between reviews go through the services with
the test's clock on that day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from backorder.cli.app import app as cli
from backorder.config import Settings
from backorder.domain.review import DelayPolicy, Waiting, bound_date
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.products import add_product
from backorder.services.review import candidates, waiting_of
from backorder.services.stock import receive_stock
from backorder.services.supply import (
    PoLineIn,
    SupplierIn,
    add_purchase_order,
    add_supplier,
    redate_purchase_order,
)
from backorder.store.db import Database
from backorder.store.tables import delay_notices
from tests.conftest import Clock
from tests.factories import order, product

SKU = "WIDGET-BLUE"
START = date(2026, 1, 1)


def review(db_url: str, day: date, env: dict[str, str]) -> dict[str, Any]:
    done = CliRunner().invoke(
        cli, ["--db", db_url, "review", "--now", day.isoformat(), "--json"], env=env
    )
    assert done.exit_code == 0, done.output
    return dict(json.loads(done.stdout))


def notices(app: Backorder) -> set[tuple[int, int]]:
    with app.db.read() as uow:
        query = select(delay_notices.c.line_id, delay_notices.c.seq)
        return {(line, seq) for line, seq in uow.connection.execute(query)}


def waiting(app: Backorder, today: date) -> dict[int, Waiting]:
    with app.db.read() as uow:
        rows = candidates(uow.connection, today, DelayPolicy(options=True))  # every line
    return {row["id"]: waiting_of(row) for row in rows}


def late(line: Waiting, bound: date | None, today: date, policy: DelayPolicy) -> bool:
    """The rule, from the issue: the date the customer holds has passed, or (under the
    policy) the expected date is past it or unknown."""
    if bound is None:
        return False
    return today > bound or (policy.options and (line.eta is None or line.eta > bound))


# On each day (of January 2026): what happens before the day's review.
def events_of(app: Backorder, day: int) -> None:
    if day == 1:
        add_supplier(app, SupplierIn("ACME", "Acme Corp", 10))
        add_product(app, product(SKU, supplier="ACME"))
        add_purchase_order(app, "PO-1", "ACME", [PoLineIn(SKU, 6, date(2026, 1, 12))])
        add_purchase_order(app, "PO-2", "ACME", [PoLineIn(SKU, 6, date(2026, 1, 20))])
    if day in (1, 2, 3, 5, 15):
        place_order(app, order(f"{day}", (SKU, 4), placed_at=datetime(2026, 1, day, 9, tzinfo=UTC)))
    if day == 13:
        redate_purchase_order(app, "PO-1", SKU, date(2026, 1, 18))
    if day == 18:
        receive_stock(app, SKU, 6, ref="PO-1")
    if day == 21:
        redate_purchase_order(app, "PO-2", SKU, date(2026, 1, 27))
    if day == 28:
        receive_stock(app, SKU, 6, ref="PO-2")
    if day == 29:
        receive_stock(app, SKU, 8)  # the rest, from elsewhere


@pytest.mark.parametrize("options", [False, True], ids=["informing", "delay-options"])
def test_a_month_of_daily_reviews(db_url: str, options: bool) -> None:
    env = {"BACKORDER_DELAY_OPTIONS": "true" if options else "false"}
    policy = DelayPolicy(options=options)
    clock = Clock(datetime(2026, 1, 1, 5, tzinfo=UTC))
    app = Backorder(Database(db_url), Settings(delay_options=options), clock)
    slips = 0
    try:
        for n in range(31):
            today = START + timedelta(days=n)
            clock.current = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=5)
            events_of(app, today.day)
            before = notices(app)
            holds = {i: bound_date(line, policy) for i, line in waiting(app, today).items()}
            result = review(db_url, today, env)
            new = notices(app) - before
            noticed = [line for line, _ in new]
            assert len(set(noticed)) == len(noticed)  # at most one notice a line a day
            # exactly the lines whose date slipped (against the dates the review worked out)
            now_waiting = waiting(app, today)
            assert set(noticed) == {
                i
                for i, line in now_waiting.items()
                if i in holds and late(line, holds[i], today, policy)
            }
            # and no waiting line is left holding a date that cannot be met
            assert not [
                i
                for i, line in now_waiting.items()
                if late(line, bound_date(line, policy), today, policy)
            ]
            slips += len(new)
            again = review(db_url, today, env)
            assert again["customers_notified"] == again["tasks_opened"] == 0
            assert again["incidents"] == again["manager_alerted"] == again["cleared"] == 0
            assert notices(app) - before == new
            assert result["overdue_lines"] == again["overdue_lines"]
    finally:
        app.close()
    assert slips >= 4  # the month had slips to tell of
    runner = CliRunner()
    tasks = json.loads(
        runner.invoke(cli, ["--db", db_url, "task", "list", "--status", "all", "--json"]).stdout
    )
    assert tasks and {t["role"] for t in tasks} == {"procurement", "inventory"}
    assert all(t["state"] == "done" for t in tasks)  # everything came in by the month's end
    incidents = json.loads(
        runner.invoke(cli, ["--db", db_url, "incident", "list", "--json"]).stdout
    )
    assert incidents and all(i["plan"] for i in incidents)
    assert len({(i["sku"], i["day"]) for i in incidents}) == len(incidents)
