"""Every KPI pinned by a hand-checked example, on SQLite and PostgreSQL.

The story (the clock starts on 10 January at 09:00, UTC; A costs 10, B costs 20, D 5; A waits
5 days for stock, B 10, so a line told at once is promised 15 January for A, 20 for B):

- 10 Jan 09:00: 2 A and 5 D on hand. W1 (web) A x3 + D x1: 2 A and the D allocated, 1 A
  waits. W2 (web) B x2 waits. M1 (amazon, vip) A x1 waits. M2 (amazon) C x1: C is not
  backorderable, cancelled at intake. W3 (web) D x2, allocated. M3 (amazon) B x1 waits.
  W6 (web) A x1 waits.
- 11 Jan 09:00: W3 ships (no backorder: no fill time).
- 12 Jan 09:00: 2 A arrive: W1's waiting A and M1's A are allocated, after 2.0 days each.
  W6 still waits.
- 13 Jan 15:00: W1 ships complete: fill time 3.25 days. W6 is cancelled (customer_request),
  before its promised date.
- 14 Jan 09:00: 1 unit of W2's B is cancelled ("found elsewhere").
- 20 Jan 09:00: W4 (web) B x3 waits, promised 30 January.
- 22 Jan 09:00: 1 B arrives: W2's last unit is allocated after 12.0 days, two days past its
  promise.
- 25 Jan 09:00: the KPIs of January are read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, select, update

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import Policy, Tier
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.kpis import Dimension, kpis
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.store.db import normalise_url
from backorder.store.migrate import alembic_config
from backorder.store.tables import (
    cancellations,
    order_lines,
    orders,
    shipment_lines,
    shipments,
)
from tests.conftest import Clock
from tests.factories import order, product

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 1, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def january(app: Backorder, clock: Clock) -> Backorder:
    return make_january(app, clock)


def make_january(app: Backorder, clock: Clock) -> Backorder:
    """The story of the module's docstring, up to 25 January 09:00."""
    clock.current = at(10)
    add_product(app, product("A", unit_price=Decimal(10), lead_time_days=5))
    add_product(app, product("B", unit_price=Decimal(20), lead_time_days=10))
    add_product(app, product("C", unit_price=Decimal(7), policy=Policy.DENY))
    add_product(app, product("D", unit_price=Decimal(5)))
    set_stock(app, "A", 2)
    set_stock(app, "D", 5)

    def place(ref: str, *lines: tuple[str, int], channel: str = "web", **kw: Any) -> None:
        place_order(app, order(ref, *lines, placed_at=clock.current, channel=channel, **kw))

    place("W1", ("A", 3), ("D", 1))
    place("W2", ("B", 2))
    place("M1", ("A", 1), channel="amazon", tier=Tier.VIP)
    place("M2", ("C", 1), channel="amazon")
    place("W3", ("D", 2))
    place("M3", ("B", 1), channel="amazon")
    place("W6", ("A", 1))
    clock.current = at(11)
    ship_order(app, "web:W3")
    clock.current = at(12)
    receive_stock(app, "A", 2)
    clock.current = at(13, 15)
    ship_order(app, "web:W1")
    cancel_order(app, "web:W6")
    clock.current = at(14)
    cancel_order(app, "web:W2", line_no=1, units=1, reason="found elsewhere")
    clock.current = at(20)
    place("W4", ("B", 3))
    clock.current = at(22)
    receive_stock(app, "B", 1)
    clock.current = at(25)
    return app


def test_backorder_rate_counts_orders_and_lines_placed_that_waited(january: Backorder) -> None:
    rate = kpis(january, *JANUARY)["kpis"]["backorder_rate"]
    # 8 orders, 6 with a waiting line (not M2: refused at intake; not W3); 9 lines, 6 waited
    assert rate["orders_placed"] == 8 and rate["backordered_orders"] == 6
    assert rate["lines_placed"] == 9 and rate["backordered_lines"] == 6
    assert rate["value"] == 0.75 and rate["lines"] == 0.6667


def test_conversion_counts_units_served_from_the_queue_against_units_cancelled_waiting(
    january: Backorder,
) -> None:
    figures = kpis(january, *JANUARY)["kpis"]
    # served from the queue: W1's A, M1's A, W2's last B; cancelled waiting: W6, 1 of W2.
    # M2's refusal at intake never waited.
    assert figures["conversion_rate"] | {"target": None} == {
        "value": 0.6,
        "target": None,
        "meets": False,
        "converted_units": 3,
        "ended_units": 5,
    }
    cancel = figures["cancel_rate"]
    assert cancel["value"] == 0.4 and cancel["cancelled_units"] == 2
    assert cancel["reasons"] == {"customer_request": 1, "found elsewhere": 1}


def test_backorder_duration_runs_from_first_waiting_to_the_last_unit_allocated(
    january: Backorder,
) -> None:
    duration = kpis(january, *JANUARY)["kpis"]["average_backorder_duration"]
    # W1's A 2.0 days, M1's A 2.0 days, W2's B 12.0 days
    assert duration["lines"] == 3
    assert duration["value"] == 5.33 and duration["median"] == 2.0 and duration["p90"] == 12.0
    assert duration["target"] == 7 and duration["meets"] is True


def test_fill_time_runs_from_the_order_to_its_last_shipment(january: Backorder) -> None:
    fill = kpis(january, *JANUARY)["kpis"]["fill_time"]
    # only W1 is backordered and shipped complete; W3 never waited
    assert fill["orders"] == 1 and fill["value"] == 3.25 and fill["median"] == 3.25


def test_fulfillment_accuracy_checks_every_shipment_line_against_its_allocation(
    january: Backorder,
) -> None:
    accuracy = kpis(january, *JANUARY)["kpis"]["fulfillment_accuracy"]
    # W3's D, W1's A and W1's D: each shipped exactly what was allocated to it
    assert accuracy["shipped_lines"] == 3 and accuracy["matching_lines"] == 3
    assert accuracy["value"] == 1.0 and accuracy["meets"] is True


def test_a_shipment_that_differs_from_the_allocation_is_inaccurate(
    january: Backorder,
) -> None:
    line = (
        select(order_lines.c.id)
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(orders.c.external_id == "W1", order_lines.c.line_no == 1)
        .scalar_subquery()
    )
    shipment = (
        select(shipment_lines.c.shipment_id).where(shipment_lines.c.line_id == line)
    ).scalar_subquery()
    with january.db.write() as uow:  # as if W1's 3 A had left with only 2 allocated
        uow.connection.execute(
            update(shipment_lines).where(shipment_lines.c.line_id == line).values(allocated=2)
        )
        uow.connection.execute(
            update(shipments)
            .where(shipments.c.id == shipment)
            .values(exact_lines=shipments.c.exact_lines - 1)
        )
        uow.commit()
    accuracy = kpis(january, *JANUARY)["kpis"]["fulfillment_accuracy"]
    assert accuracy["matching_lines"] == 2 and accuracy["value"] == 0.6667
    assert accuracy["meets"] is False
    by_sku = {g["key"]: g["kpis"] for g in kpis(january, *JANUARY, by=Dimension.SKU)["groups"]}
    assert by_sku["A"]["fulfillment_accuracy"]["matching_lines"] == 0
    assert by_sku["D"]["fulfillment_accuracy"]["matching_lines"] == 2


def test_promise_accuracy_counts_past_promises_kept(january: Backorder) -> None:
    promise = kpis(january, *JANUARY)["kpis"]["promise_accuracy"]
    # kept: W1's A and M1's A (15 Jan, served 12 Jan); missed: W2's B (served 22 Jan, promised
    # 20 Jan) and M3's B (still waiting); W6 was cancelled before its date; W4's is ahead
    assert promise["lines"] == 4 and promise["kept"] == 2 and promise["value"] == 0.5


def test_money_waiting_at_risk_and_aging_are_as_of_now(january: Backorder) -> None:
    figures = kpis(january, *JANUARY)["kpis"]
    # M3: 1 B since 10 Jan (15 days), promised 20 Jan; W4: 3 B since 20 Jan (5 days)
    assert figures["money_on_backorder"]["value"] == {"USD": "80.00"}
    assert figures["money_on_backorder"]["units"] == 4
    assert figures["revenue_at_risk"]["value"] == {"USD": "20.00"}
    assert figures["revenue_at_risk"]["lines"] == 1
    assert [(b["days"], b["lines"], b["units"]) for b in figures["aging"]["value"]] == [
        ("0-7", 1, 3),
        ("8-14", 0, 0),
        ("15-30", 1, 1),
        ("over 30", 0, 0),
    ]


def test_kpis_by_channel_split_the_same_facts(january: Backorder) -> None:
    report = kpis(january, *JANUARY, by=Dimension.CHANNEL)
    groups = {g["key"]: g["kpis"] for g in report["groups"]}
    assert list(groups) == ["web", "amazon"]  # most units waiting first
    assert groups["web"]["backorder_rate"]["value"] == 0.8  # W1, W2, W4, W6 of 5
    assert groups["amazon"]["backorder_rate"]["value"] == 0.6667  # M1, M3 of 3
    assert groups["web"]["conversion_rate"]["converted_units"] == 2
    assert groups["amazon"]["conversion_rate"]["converted_units"] == 1
    assert groups["amazon"]["revenue_at_risk"]["value"] == {"USD": "20.00"}
    assert report["kpis"]["conversion_rate"]["converted_units"] == 3


def test_kpis_by_sku_and_tier(january: Backorder) -> None:
    by_sku = {g["key"]: g["kpis"] for g in kpis(january, *JANUARY, by=Dimension.SKU)["groups"]}
    assert by_sku["B"]["average_backorder_duration"]["value"] == 12.0
    assert by_sku["A"]["average_backorder_duration"]["lines"] == 2
    assert by_sku["A"]["fill_time"]["orders"] == 1  # W1, through its waiting A line
    assert by_sku["D"]["fill_time"]["orders"] == 0  # W1's D line never waited
    by_tier = {g["key"]: g["kpis"] for g in kpis(january, *JANUARY, by=Dimension.TIER)["groups"]}
    assert by_tier["vip"]["backorder_rate"]["orders_placed"] == 1


def test_a_period_outside_the_story_counts_nothing_but_what_waits_now(
    january: Backorder,
) -> None:
    figures = kpis(january, date(2025, 12, 1), date(2025, 12, 31))["kpis"]
    assert figures["backorder_rate"]["value"] is None
    assert figures["conversion_rate"]["meets"] is None
    assert figures["money_on_backorder"]["value"] == {"USD": "80.00"}


def test_a_period_that_ends_before_it_starts_is_refused(january: Backorder) -> None:
    with pytest.raises(InvalidRequest):
        kpis(january, date(2026, 2, 1), date(2026, 1, 1))


def recorded(app: Backorder) -> dict[str, list[tuple[Any, ...]]]:
    """What the engine records for the KPIs, table by table."""
    line, o, c, s, sl = order_lines.c, orders.c, cancellations.c, shipments.c, shipment_lines.c
    queries = {
        "lines": select(line.id, line.backordered_at, line.filled_at, line.withdrawn_at).order_by(
            line.id
        ),
        "orders": select(o.external_id, o.line_count, o.waited_lines, o.completed_at).order_by(
            o.id
        ),
        "cancellations": select(c.id, c.from_backordered).order_by(c.id),
        "shipments": select(s.id, s.line_count, s.exact_lines).order_by(s.id),
        "shipment_lines": select(sl.line_id, sl.allocated).order_by(sl.line_id),
    }
    with app.db.read() as uow:
        return {
            name: [tuple(row) for row in uow.connection.execute(query)]
            for name, query in queries.items()
        }


def test_the_engine_records_each_wait_and_each_completed_order(january: Backorder) -> None:
    facts = recorded(january)
    waited = [row for row in facts["lines"] if row[1] is not None]
    assert len(waited) == 6  # W1's A, W2, M1, M3, W6, W4
    assert sorted(row[2] for row in waited if row[2]) == [at(12), at(12), at(22)]
    assert [row[3] for row in waited if row[3]] == [at(13, 15)]  # W6, cancelled waiting
    by_order = {ref: rest for ref, *rest in facts["orders"]}
    assert by_order["W1"] == [2, 1, at(13, 15)]  # completed by its shipment
    assert by_order["W3"] == [1, 0, at(11)]
    assert by_order["W6"] == [1, 1, None]  # cancelled, never shipped
    assert by_order["M2"] == [1, 0, None]  # refused at intake
    assert facts["shipments"] == [(1, 1, 1), (2, 2, 2)]


def test_a_count_that_sends_stock_back_reopens_the_wait(app: Backorder, clock: Clock) -> None:
    """A line served from stock at intake, sent back to the queue by a count, has waited
    (its order too); one filled from the queue and sent back waits again, its fill undone."""
    clock.current = at(10)
    add_product(app, product("A", lead_time_days=5))
    set_stock(app, "A", 1)
    place_order(app, order("S1", ("A", 1), placed_at=clock.current))  # served at intake
    place_order(app, order("S2", ("A", 1), placed_at=clock.current))  # waits
    clock.current = at(11)
    receive_stock(app, "A", 1)  # S2 filled
    clock.current = at(12)
    set_stock(app, "A", 0)  # both go back: S2 ranks last, S1 too
    lines = {row[0]: row[1:] for row in recorded(app)["lines"]}
    first, second = sorted(lines)
    assert lines[first] == (at(12), None, None)  # S1 waits for the first time
    assert lines[second] == (at(10), None, None)  # S2 waits again, since 10 January
    orders_ = {ref: rest for ref, *rest in recorded(app)["orders"]}
    assert orders_["S1"] == [1, 1, None] and orders_["S2"] == [1, 1, None]
    clock.current = at(14)
    receive_stock(app, "A", 2)
    lines = {row[0]: row[1:] for row in recorded(app)["lines"]}
    assert lines[first] == (at(12), at(14), None) and lines[second] == (at(10), at(14), None)
    duration = kpis(app, *JANUARY)["kpis"]["average_backorder_duration"]
    assert duration["lines"] == 2 and duration["value"] == 3.0  # 2 days and 4 days


def test_the_migration_works_out_the_same_for_the_backorders_taken_before_it(
    january: Backorder,
) -> None:
    """Migration 0013 fills in each line's wait, what each cancellation took from the queue,
    each order's lines and completion, what each shipment line held and how many of each
    shipment's lines matched: for this story (every wait began at intake) exactly what the
    engine records now."""
    before = recorded(january)
    assert sorted(units for _, units in before["cancellations"]) == [0, 1, 1]  # M2, W2, W6
    config = alembic_config(january.db)
    # SQLite rebuilds a table to drop a column: only without foreign key checks
    plain = create_engine(normalise_url(january.db.url))
    with plain.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
        conn.commit()
    plain.dispose()
    del config.attributes["connection"]
    command.upgrade(config, "head")
    assert recorded(january) == before


def test_skus_without_a_supplier_group_together(january: Backorder) -> None:
    report = kpis(january, *JANUARY, by=Dimension.SUPPLIER)
    (group,) = report["groups"]
    assert group["key"] == "(none)"
    assert group["kpis"] == report["kpis"]
