"""Demand per SKU and period from the orders held (every unit ordered, on the UTC day its
order was placed: what shipped, waits or was cancelled too), at a location what it holds or
shipped, and history imported for a new install, all or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.domain.errors import InvalidRequest, UnknownLocation, UnknownSku
from backorder.domain.model import Policy
from backorder.services.context import Backorder
from backorder.services.demand import demand_view, import_history
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.store.tables import demand_history
from tests.factories import order, product


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def make_story(app: Backorder) -> None:
    """BOLT, 5 in stock at main (the clock: Saturday 10 January 2026):
    - A, Tue 30 Dec: 3 allocated, then shipped from main;
    - B, Fri 2 Jan 23:30 UTC: 4, of which 2 allocated at main and 2 wait;
    - C, Tue 6 Jan: 5 wait, then the whole order is cancelled;
    - D, Wed 7 Jan: 2 wait.
    NUT (backorders refused, none in stock), E, Wed 7 Jan: 3 refused at intake."""
    add_product(app, product("BOLT"))
    add_product(app, product("NUT", policy=Policy.DENY))
    set_stock(app, "BOLT", 5)
    place_order(app, order("A", ("BOLT", 3), placed_at=at("2025-12-30")))
    ship_order(app, "web:A")
    place_order(app, order("B", ("BOLT", 4), placed_at=at("2026-01-02", 23, 30)))
    place_order(app, order("C", ("BOLT", 5), placed_at=at("2026-01-06")))
    cancel_order(app, "web:C")
    place_order(app, order("D", ("BOLT", 2), placed_at=at("2026-01-07")))
    place_order(app, order("E", ("NUT", 3), placed_at=at("2026-01-07")))


def shown(view: dict[str, Any]) -> dict[str, float]:
    return {p["period"]: p["units"] for p in view["periods"] if p["units"]}


def test_every_unit_ordered_counts_on_the_day_its_order_was_placed(app: Backorder) -> None:
    make_story(app)
    days = demand_view(app, "BOLT", "day", last=12)
    assert shown(days) == {"2025-12-30": 3, "2026-01-02": 4, "2026-01-06": 5, "2026-01-07": 2}
    assert days["periods"][0]["period"] == "2025-12-30"  # 12 days up to today, 10 January
    assert days["current"] == "2026-01-10" and days["first_order"] == "2025-12-30"
    assert shown(demand_view(app, "NUT", "day", last=12)) == {"2026-01-07": 3}  # refused too


def test_days_roll_up_into_iso_weeks_and_months(app: Backorder) -> None:
    make_story(app)
    weeks = demand_view(app, "BOLT", "week", last=3)
    assert [p["period"] for p in weeks["periods"]] == ["2025-W52", "2026-W01", "2026-W02"]
    assert shown(weeks) == {"2026-W01": 7, "2026-W02": 7}  # W01 runs from Mon 29 December
    months = demand_view(app, "BOLT", "month")
    assert len(months["periods"]) == 36 and months["total"] == 14
    assert shown(months) == {"2025-12": 3, "2026-01": 11}


def test_a_location_counts_what_it_holds_or_shipped(app: Backorder) -> None:
    make_story(app)
    # at main: A's 3 shipped and B's 2 held; what waits or was cancelled has no location yet
    assert shown(demand_view(app, "BOLT", "day", "main", last=12)) == {
        "2025-12-30": 3,
        "2026-01-02": 2,
    }
    assert shown(demand_view(app, "BOLT", "week", "main", last=3)) == {"2026-W01": 5}


def test_unknown_names_and_bad_periods_are_refused(app: Backorder) -> None:
    make_story(app)
    with pytest.raises(UnknownSku):
        demand_view(app, "NOPE")
    with pytest.raises(UnknownLocation):
        demand_view(app, "BOLT", "week", "nowhere")
    with pytest.raises(InvalidRequest, match="last 0"):
        demand_view(app, "BOLT", "week", last=0)


GOOD = """sku,period,units
BOLT,2025-10,31
BOLT,2025-11,30
BOLT,2025-12,62
NUT,2025-W50,7
NUT,2025-W51,0
"""


def stored(app: Backorder) -> list[tuple[Any, ...]]:
    h = demand_history.c
    with app.db.read() as uow:
        query = select(h.product_id, h.location_id, h.period_kind, h.period_start, h.units)
        return sorted(tuple(row) for row in uow.connection.execute(query))


def test_imported_history_counts_before_the_first_order(app: Backorder) -> None:
    make_story(app)
    done = import_history(app, GOOD)
    assert done == {
        "rows": 5,
        "skus": 2,
        "replaced": 0,
        "units": 130,
        "kinds": ["month", "week"],
        "first": "2025-10-01",
        "last": "2025-12-15",
    }
    months = demand_view(app, "BOLT", "month", last=4)
    # December's 62 units, 2 a day: only the 29 days before the first order (the 30th) count
    assert [(p["period"], p["ordered"], p["imported"]) for p in months["periods"]] == [
        ("2025-10", 0, 31),
        ("2025-11", 0, 30),
        ("2025-12", 3, 58),
        ("2026-01", 11, 0),
    ]
    weeks = demand_view(app, "NUT", "week", last=5)
    assert shown(weeks) == {"2025-W50": 7, "2026-W02": 3}


def test_importing_the_same_periods_again_replaces_them(app: Backorder) -> None:
    make_story(app)
    import_history(app, GOOD)
    again = import_history(app, "sku,period,units\nBOLT,2025-11,45\nBOLT,2025-09,10\n")
    assert (again["rows"], again["replaced"]) == (2, 1)
    months = {p[3]: p[4] for p in stored(app) if p[2] == "month"}
    assert months == {
        date(2025, 9, 1): 10,
        date(2025, 10, 1): 31,
        date(2025, 11, 1): 45,
        date(2025, 12, 1): 62,
    }
    assert import_history(app, GOOD)["replaced"] == 5
    assert len(stored(app)) == 6


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sku,units\nBOLT,3\n", "line 1: the header must be sku,period,units"),
        ("sku,period,units,colour\nBOLT,2025-11,3,red\n", "line 1: the header"),
        ("sku,period,units\n", "no rows after its header"),
        ("sku,period,units\nBOLT,2025-11,3\nBOLTS,2025-11,3\n", "line 3: unknown SKU 'BOLTS'"),
        ("sku,period,units\nBOLT,Nov 2025,3\n", "line 2: 'Nov 2025' is not a period"),
        ("sku,period,units\nBOLT,2025-W53,3\n", "line 2: '2025-W53': 2025 has no ISO week 53"),
        ("sku,period,units\nBOLT,2025-11,-3\n", "line 2: units -3 is negative"),
        ("sku,period,units\nBOLT,2025-11,2.5\n", "line 2: units '2.5' is not a whole number"),
        ("sku,period,units\nBOLT,2026-02,3\n", "line 2: period 2026-02 has not begun yet"),
        ("sku,period,units\nBOLT,2025-11\n", "line 2: 2 fields where the header has 3"),
        (
            "sku,period,units\nBOLT,2025-11,3\nBOLT,2025-W50,3\n",
            "line 2: SKU 'BOLT' mixes month and week periods: use one",
        ),
        (
            "sku,period,units\nBOLT,2025-11,3\nBOLT,2025-11,4\n",
            "line 3: SKU 'BOLT' 2025-11 is on line 2 too",
        ),
        (
            "sku,period,units,location\nBOLT,2025-11,3,nowhere\n",
            "line 2: unknown location 'nowhere'",
        ),
        (
            "sku,period,units\nNUT,2025-10,3\n",
            "NUT' has week history already; this file gives month",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(app: Backorder, text: str, words: str) -> None:
    make_story(app)
    import_history(app, "sku,period,units\nNUT,2025-W40,1\n")
    before = stored(app)
    with pytest.raises(InvalidRequest) as refused:
        import_history(app, text)
    assert words in str(refused.value)
    assert stored(app) == before


def test_history_per_location_sums_to_the_network_without_its_own(app: Backorder) -> None:
    make_story(app)
    import_history(app, "sku,period,units,location\nNUT,2025-W49,4,main\nNUT,2025-W50,6,main\n")
    assert shown(demand_view(app, "NUT", "week", last=6)) == {
        "2025-W49": 4,
        "2025-W50": 6,
        "2026-W02": 3,
    }
    assert shown(demand_view(app, "NUT", "week", "main", last=6)) == {"2025-W49": 4, "2025-W50": 6}
    with app.db.read() as uow:
        assert (
            uow.connection.execute(select(func.count()).select_from(demand_history)).scalar() == 2
        )
