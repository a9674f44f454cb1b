"""Rolled-up days and months make the KPIs faster, never different: on the story of
test_kpis (10 to 25 January), every grouping and period reads the same with and without
roll-ups, a roll-up is what the KPIs read once it is there, and a change that reaches a
rolled-up day makes the KPIs read that day (and its month) from the lines again."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.kpis import MONTHS, Dimension, Page, kpis
from backorder.services.products import update_product
from backorder.services.rollup import GROUPINGS as ROLLED_UP
from backorder.services.rollup import pending, pending_sums, roll_up
from backorder.services.stock import set_stock
from backorder.services.supply import SupplierIn, add_supplier
from backorder.store import kpi_days as kpi_days_store
from backorder.store.tables import kpi_day_facts, kpi_days
from tests.conftest import Clock
from tests.factories import order
from tests.integration.test_kpis import JANUARY, at, make_january

GROUPINGS = (None, *Dimension)  # by location too: read from the lines, never rolled up
# January (a month); a week and a day; four ISO weeks (one across the month's end) and a
# day; the month, a week after it, and the days neither covers.
PERIODS = (
    JANUARY,
    (date(2026, 1, 5), date(2026, 1, 12)),
    (date(2026, 1, 12), date(2026, 2, 9)),
    (date(2026, 1, 1), date(2026, 2, 9)),
)


@pytest.fixture
def january(app: Backorder, clock: Clock) -> Backorder:
    return make_january(app, clock)


def answers(app: Backorder) -> dict[Any, dict[str, Any]]:
    return {
        (by, first, last): kpis(app, first, last, by) for by in GROUPINGS for first, last in PERIODS
    }


def rolled(app: Backorder) -> set[tuple[date, str]]:
    with app.db.read() as uow:
        query = select(kpi_days.c.day, kpi_days.c.dimension)
        return {(day, name) for day, name in uow.connection.execute(query)}


def roll_all(app: Backorder) -> int:
    done = 0
    while step := roll_up(app, days=10):
        done += step
    return done


def test_rolled_up_days_weeks_and_months_read_the_same_as_the_lines(
    january: Backorder, clock: Clock
) -> None:
    clock.current = datetime(2026, 2, 10, 9, tzinfo=at(1).tzinfo)  # January has closed
    from_lines = answers(january)
    assert roll_all(january) == 40  # 1 January to 9 February
    assert pending(january, clock.current) == []
    days = rolled(january)
    assert (date(2026, 1, 1), "sku/month") in days and (date(2026, 2, 1), "all/month") not in days
    assert (date(2026, 1, 26), "tier/week") in days and (date(2026, 2, 2), "all/week") in days
    assert (date(2025, 12, 29), "all/week") not in days  # began before the first order's month
    assert Dimension.LOCATION not in ROLLED_UP
    assert {name for _, name in days} == {
        *(
            name
            for by in ROLLED_UP
            for suffix in ("", "/month", "/week")
            for name in [f"{by or 'all'}{suffix}"]
        )
    }
    assert answers(january) == from_lines
    assert roll_up(january) == 0  # nothing left to do


def test_the_kpis_read_a_rolled_up_day_from_its_roll_up(january: Backorder) -> None:
    assert roll_all(january) == 24  # 1 to 24 January; 25 January is today
    with january.db.write() as uow:
        uow.connection.execute(
            update(kpi_day_facts)
            .where(kpi_day_facts.c.dimension == "all", kpi_day_facts.c.day == date(2026, 1, 20))
            .values(orders=kpi_day_facts.c.orders + 100)
        )
        uow.commit()
    rate = kpis(january, *JANUARY)["kpis"]["backorder_rate"]
    # 8 orders placed, and the 100 written in the roll-up of a day outside a closed week
    assert rate["orders_placed"] == 108


def test_a_back_dated_order_makes_its_day_and_month_read_from_the_lines_again(
    january: Backorder, clock: Clock
) -> None:
    roll_all(january)
    place_order(january, order("LATE", ("B", 1), placed_at=at(11)))  # arrives on the 25th
    days = rolled(january)
    assert (date(2026, 1, 11), "all") not in days and (date(2026, 1, 10), "all") in days
    rate = kpis(january, *JANUARY)["kpis"]["backorder_rate"]
    assert rate["orders_placed"] == 9 and rate["backordered_orders"] == 7
    clock.current = datetime(2026, 2, 2, 9, tzinfo=at(1).tzinfo)
    from_lines = answers(january)
    roll_all(january)
    assert (date(2026, 1, 11), "all") in rolled(january)
    assert answers(january) == from_lines


def test_a_count_that_reopens_a_fill_forgets_the_day_of_the_fill(january: Backorder) -> None:
    roll_all(january)
    set_stock(january, "B", 0)  # W2's last unit, allocated on the 22nd, waits again
    days = rolled(january)
    assert (date(2026, 1, 22), "sku") not in days
    assert (date(2026, 1, 12), "sku") in days  # A's fills stand
    duration = kpis(january, *JANUARY)["kpis"]["average_backorder_duration"]
    assert duration["lines"] == 2  # W1's A and M1's A; W2 waits again


def test_a_new_supplier_forgets_the_supplier_grouping_only(january: Backorder) -> None:
    roll_all(january)
    add_supplier(january, SupplierIn("ACME", "Acme Corp", 5))
    update_product(january, "A", {"supplier": "ACME"})
    names = {name for _, name in rolled(january)}
    assert "supplier" not in names and {"all", "sku", "channel", "tier"} <= names
    groups = {g["key"]: g["kpis"] for g in kpis(january, *JANUARY, Dimension.SUPPLIER)["groups"]}
    assert groups["ACME"]["average_backorder_duration"]["lines"] == 2
    roll_all(january)
    assert "supplier" in {name for _, name in rolled(january)}
    again = {g["key"]: g["kpis"] for g in kpis(january, *JANUARY, Dimension.SUPPLIER)["groups"]}
    assert again == groups


@pytest.mark.parametrize("rolled_up", [False, True], ids=["from the lines", "rolled up"])
def test_a_page_of_groups_leaves_everything_as_it_is(january: Backorder, rolled_up: bool) -> None:
    """A page shows some of the groups, ranked (most units waiting first, then by key); what
    it says of them and of everything is what the whole answer says."""
    if rolled_up:
        roll_all(january)
    for by in Dimension:
        whole = kpis(january, *JANUARY, by)
        assert whole["group_count"] == len(whole["groups"]) >= 1
        for offset in range(whole["group_count"] + 1):
            page = kpis(january, *JANUARY, by, Page(limit=1, offset=offset))
            assert page["kpis"] == whole["kpis"], (by, offset)
            assert page["groups"] == whole["groups"][offset : offset + 1]
            assert page["group_count"] == whole["group_count"]


def test_a_page_is_at_most_a_thousand_groups() -> None:
    with pytest.raises(InvalidRequest, match="limit must be between 1 and 1000"):
        Page(limit=1001)
    with pytest.raises(InvalidRequest, match="offset"):
        Page(offset=-1)


def test_a_month_is_not_summed_while_one_of_its_days_is_forgotten(
    january: Backorder, clock: Clock
) -> None:
    clock.current = datetime(2026, 2, 10, 9, tzinfo=at(1).tzinfo)
    roll_all(january)
    first, last = date(2026, 1, 1), date(2026, 1, 31)
    with january.db.write() as uow:
        uow.connection.execute(
            delete(kpi_days).where(
                kpi_days.c.day == date(2026, 1, 5), kpi_days.c.dimension == "all"
            )
        )
        assert not kpi_days_store.save_sum(
            uow.connection, first, last, "all", kpi_days_store.MONTH, clock.current
        )
        uow.commit()
    assert pending(january, clock.current) == [date(2026, 1, 5)]


def test_a_month_left_unsummed_is_summed_by_the_next_pass(january: Backorder, clock: Clock) -> None:
    """A worker stopped between a day's roll-up and its month's: no day is pending, yet the
    next pass sums the month; once every month is summed, a pass finds nothing to do."""
    clock.current = datetime(2026, 2, 10, 9, tzinfo=at(1).tzinfo)
    roll_all(january)
    month = (kpi_days.c.day == date(2026, 1, 1), kpi_days.c.dimension == "tier/month")
    with january.db.write() as uow:
        uow.connection.execute(delete(kpi_days).where(*month))
        uow.commit()
    assert pending(january, clock.current) == []
    assert pending_sums(january, clock.current) == [(MONTHS, date(2026, 1, 1), ["tier"])]
    assert roll_up(january) == 0
    assert (date(2026, 1, 1), "tier/month") in rolled(january)
    assert pending_sums(january, clock.current) == []


def test_the_kpis_read_a_rolled_up_week_from_its_roll_up(january: Backorder, clock: Clock) -> None:
    clock.current = datetime(2026, 2, 10, 9, tzinfo=at(1).tzinfo)
    roll_all(january)
    with january.db.write() as uow:
        uow.connection.execute(
            update(kpi_day_facts)
            .where(
                kpi_day_facts.c.dimension == "all/week", kpi_day_facts.c.day == date(2026, 1, 19)
            )
            .values(lines=kpi_day_facts.c.lines + 100)
        )
        uow.commit()
    weeks = kpis(january, date(2026, 1, 12), date(2026, 2, 9))["kpis"]["backorder_rate"]
    month = kpis(january, *JANUARY)["kpis"]["backorder_rate"]  # the month's own roll-up
    assert weeks["lines_placed"] == 101 and month["lines_placed"] == 9  # W4's, and the 100


def test_a_new_supplier_forgets_the_months_and_weeks_of_the_supplier_grouping(
    january: Backorder, clock: Clock
) -> None:
    clock.current = datetime(2026, 2, 10, 9, tzinfo=at(1).tzinfo)
    roll_all(january)
    add_supplier(january, SupplierIn("ACME", "Acme Corp", 5))
    update_product(january, "A", {"supplier": "ACME"})
    names = {name for _, name in rolled(january)}
    assert not {"supplier", "supplier/month", "supplier/week"} & names
    assert {"sku/month", "all/week"} <= names
    from_lines = answers(january)
    roll_all(january)
    assert {"supplier", "supplier/month", "supplier/week"} <= {n for _, n in rolled(january)}
    assert answers(january) == from_lines
