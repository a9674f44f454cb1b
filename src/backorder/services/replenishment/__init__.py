"""Restock recommendations: from today's stored forecasts, projections, stock and supplier
terms, the purchase or transfer each SKU (and location) needs, chosen by
domain.replenishment and kept in `recommendations` (planning: the needs and options;
saving: the proposed rows; views: reading them).

`plan` runs in one transaction: it reads the forecasts in batches of SKUs (each batch's
stock, supply, terms and measured lateness in a handful of set-based queries), keeps the
proposed rows in step, and writes one `recommendations_planned` event when anything was
proposed anew or withdrawn. It needs stored forecasts only (not the forecast extra)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select

from backorder.domain.errors import UnknownSku
from backorder.domain.events import RecommendationsPlanned
from backorder.services.context import Backorder
from backorder.services.foresight_plan import F, abc_classes, select_forecasts
from backorder.services.replenishment.options import sites
from backorder.services.replenishment.planning import Outcome, plan_batch
from backorder.services.replenishment.saving import save, values_of
from backorder.store.repos import Outbox
from backorder.store.tables import products

BATCH = 500  # SKUs read together
MAX_KEYS = 100  # keys named in the event (the counts say how many in all)


def _product_ids(conn: Any, skus: Collection[str] | None) -> list[int] | None:
    """The products of these SKUs (those the catalogue knows), or None: every product."""
    if skus is None:
        return None
    wanted = sorted(set(skus))
    return sorted(conn.execute(select(products.c.id).where(products.c.sku.in_(wanted))).scalars())


def check_skus(app: Backorder, skus: Collection[str]) -> None:
    """Refuse a SKU the catalogue does not know (the first, by name)."""
    wanted = sorted(set(skus))
    with app.db.read() as uow:
        found = set(
            uow.connection.execute(
                select(products.c.sku).where(products.c.sku.in_(wanted))
            ).scalars()
        )
    unknown = [sku for sku in wanted if sku not in found]
    if unknown:
        raise UnknownSku(unknown[0])


def plan(app: Backorder, skus: Collection[str] | None = None) -> dict[str, Any]:
    """Re-plan the recommendations of every SKU with a stored forecast (or of `skus`): what
    changed, and the SKUs that need an order but cannot get a purchase option."""
    with app.db.write() as uow:
        conn = uow.connection
        scope = _product_ids(conn, skus)
        forecast_ids = select(F.product_id).distinct().order_by(F.product_id)
        if scope is not None:
            forecast_ids = forecast_ids.where(F.product_id.in_(scope))
        ids = list(conn.execute(forecast_ids).scalars())
        context: dict[str, Any] = {
            "classes": abc_classes(conn),
            "sites": sites(conn),
            "leaving": {},
        }
        outcome = Outcome()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = conn.execute(
                select_forecasts().where(F.product_id.in_(chunk)).order_by(F.product_id, F.id)
            ).mappings()
            done = plan_batch(conn, app, list(rows), context)
            outcome.proposals.extend(done.proposals)
            outcome.no_cost.extend(done.no_cost)
            outcome.no_supplier.extend(done.no_supplier)
        codes = {site.code: site.id for site in context["sites"].values()}
        wanted = [values_of(p, codes, app.settings.currency) for p in outcome.proposals]
        now = app.now()
        saved = save(conn, wanted, scope, now)
        if saved.proposed or saved.superseded:
            event = RecommendationsPlanned(
                proposed=len(saved.proposed),
                superseded=saved.superseded,
                keys=tuple(saved.proposed[:MAX_KEYS]),
            )
            Outbox(conn).append([event], now)
        uow.commit()
    return {
        "proposed": len(saved.proposed),
        "updated": saved.updated,
        "unchanged": saved.unchanged,
        "superseded": saved.superseded,
        "no_cost": sorted(outcome.no_cost),
        "no_supplier": sorted(outcome.no_supplier),
    }


__all__ = ["check_skus", "plan"]
