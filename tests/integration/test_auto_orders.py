"""Restock orders placed without a person (BACKORDER_AUTO_ORDER): a proposed purchase within
the approval limit is accepted and approved by the rule and goes to the supplier; one over
it stays proposed for a person; with the setting off nothing is placed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from backorder.config import Settings
from backorder.services.auto_orders import place_within_limits
from backorder.services.context import Backorder
from backorder.store.tables import purchase_orders, recommendations
from tests.integration.test_automatic_purchase_orders import proposed, with_suppliers


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite:///unused.db", auto_order=True, auto_approve_limit=Decimal("400")
    )


def _states(app: Backorder) -> dict[int, tuple[str, str | None]]:
    with app.db.read() as uow:
        rows = uow.connection.execute(
            select(recommendations.c.id, recommendations.c.state, recommendations.c.decided_by)
        ).all()
    return {int(r.id): (r.state, r.decided_by) for r in rows}


def test_a_purchase_within_the_limit_is_placed_by_the_rule_and_one_over_it_waits(
    app: Backorder,
) -> None:
    with_suppliers(app)
    within = proposed(app, 120)  # 120 x 2.50 = 300.00: within 400
    over = proposed(app, 200, key="FILTER-10@B")  # 500.00: a person decides

    assert place_within_limits(app) == {"auto_ordered": 1}

    rule = "rule:auto_approve_limit general 400.00"
    assert _states(app) == {within: ("accepted", rule), over: ("proposed", None)}
    with app.db.read() as uow:
        [po] = uow.connection.execute(select(purchase_orders)).mappings().all()
    assert (po["approval"], po["approved_by"], po["supplier_id"]) == ("approved", rule, "FILTERCO")
    assert place_within_limits(app) == {}  # nothing more within its limit


def test_with_the_setting_off_nothing_is_placed(app: Backorder) -> None:
    app.settings = app.settings.model_copy(update={"auto_order": False})
    with_suppliers(app)
    rec = proposed(app, 120)

    assert place_within_limits(app) == {}
    assert _states(app) == {rec: ("proposed", None)}
