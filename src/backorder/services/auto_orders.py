"""Restock orders placed without a person, within the limits the business sets (opt-in:
BACKORDER_AUTO_ORDER). Each proposed purchase recommendation whose value at its supplier's
terms the approval policy would approve (services/po_approval.py: the supplier's limit, else
the SKU class's, else the general one) is accepted by that rule; the draft purchase order it
makes is approved by the same rule and goes to the supplier through the outbox. A
recommendation over its limit, or without a price, stays proposed for a person; transfers
always wait for a person.

Each recommendation is accepted in its own transaction (`replenishment_decisions.accept`),
so `decided_by` and the purchase order's `approved_by` name the rule. One that fails is
logged and skipped; the next pass tries again."""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import and_, select

from backorder.domain.errors import BackorderError, DecisionConflict
from backorder.domain.po_approval import Limits, decide
from backorder.services.context import Backorder
from backorder.services.foresight_plan import abc_classes
from backorder.services.replenishment_decisions import accept
from backorder.store.tables import product_suppliers, recommendations, suppliers

log = logging.getLogger(__name__)

BATCH = 200  # recommendations looked at in one pass, soonest need first


def _candidates(app: Backorder) -> list[tuple[int, str]]:
    """The proposed purchases the policy approves now: (recommendation id, the rule)."""
    rec, terms = recommendations.c, product_suppliers.c
    with app.db.read() as uow:
        conn = uow.connection
        rows = conn.execute(
            select(
                rec.id,
                rec.product_id,
                rec.quantity,
                terms.cost,
                suppliers.c.name,
                suppliers.c.auto_approve_limit,
            )
            .join(suppliers, suppliers.c.id == rec.supplier_id)
            .join(
                product_suppliers,
                and_(terms.product_id == rec.product_id, terms.supplier_id == rec.supplier_id),
            )
            .where(rec.state == "proposed", rec.kind == "purchase")
            .order_by(rec.need_by, rec.id)
            .limit(BATCH)
        ).all()
        classes = abc_classes(conn) if rows else {}
    settings = app.settings
    chosen = []
    for row in rows:
        value = None if row.cost is None else Decimal(row.cost) * row.quantity
        limits = Limits(
            row.auto_approve_limit, settings.auto_approve_limits, settings.auto_approve_limit
        )
        found = [classes[row.product_id]] if row.product_id in classes else []
        verdict = decide(value, row.name, found, limits)
        if verdict.automatic and verdict.rule is not None:
            chosen.append((int(row.id), verdict.rule))
    return chosen


def place_within_limits(app: Backorder) -> dict[str, int]:
    """The worker's step: accept every proposed purchase the approval policy approves.
    Nothing to report (or the setting off): {}."""
    if not app.settings.auto_order:
        return {}
    placed = failed = 0
    for rec_id, rule in _candidates(app):
        try:
            accept(app, rec_id, rule)
        except DecisionConflict:  # a person decided it meanwhile
            continue
        except BackorderError as error:
            failed += 1
            log.warning("recommendation %s not ordered automatically: %s", rec_id, error)
            continue
        placed += 1
    counts = {"auto_ordered": placed} if placed else {}
    return counts | ({"auto_order_failed": failed} if failed else {})
