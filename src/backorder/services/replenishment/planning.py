"""Working out the recommendations of a batch of SKUs from their stored forecasts.

The network's forecast decides purchases: its projection counts every unit on hand, waiting
and on order across the network, so a purchase proposed there is what the business buys.
A location's forecast (where per-location forecasts exist) decides transfers only: when
that location needs stock and another active location can spare enough, moving it is
proposed (key "SKU@LOCATION"); purchasing is left to the network's line, so the same
shortfall is never bought twice. A location that no other can cover gets no line of its own.
Within one plan, units proposed to leave a location are no longer its to spare."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from backorder.domain.replenishment import Option, Recommendation, Weighed, choose
from backorder.domain.replenishment_need import Curve, Figures, Found, Rules, find_need
from backorder.services.context import Backorder
from backorder.services.foresight_plan import Planned, plan_rows
from backorder.services.replenishment.options import (
    Measured,
    Site,
    free_at,
    measured,
    purchase_options,
    terms_of,
    transfer_option,
)
from backorder.store.tables import products
from backorder.words import money

PRODUCT = products.c


@dataclass(frozen=True)
class Proposal:
    key: str  # "SKU" or "SKU@LOCATION"
    product_id: int
    location_id: int | None
    recommendation: Recommendation
    found: Found
    facts: dict[str, Any]


@dataclass
class Outcome:
    proposals: list[Proposal] = field(default_factory=list)
    no_cost: list[str] = field(default_factory=list)  # need an order, no supplier cost known
    no_supplier: list[str] = field(default_factory=list)  # need an order, no supplier at all


@dataclass
class Batch:
    """What one batch of SKUs is planned with."""

    app: Backorder
    planned: list[Planned]
    products: dict[int, RowMapping]
    sites: dict[int, Site]
    free: dict[tuple[int, int], int]
    lateness: dict[tuple[str, int], Measured]
    by_place: dict[tuple[int, int | None], tuple[Planned, Curve]] = field(default_factory=dict)


def _figure(value: float | None) -> float:
    return max(0.0, float(value)) if value is not None and value == value else 0.0


def _curve(plan: Planned) -> Curve:
    points = [_figure(p["point"]) for p in plan.periods]
    return Curve(plan.projection, points, _figure(plan.row["mean_demand"]))


def _figures(plan: Planned, price: Decimal) -> Figures:
    return Figures(
        safety_stock=plan.safety.safety_stock,
        reorder_point=plan.safety.reorder_point,
        lead_days=plan.lead.days,
        inbound=sum(w.inbound for w in plan.projection.weeks),
        unit_price=price,
        mean_weekly=_figure(plan.row["mean_demand"]),
    )


def plan_batch(
    conn: Connection, app: Backorder, rows: Sequence[RowMapping], context: dict[str, Any]
) -> Outcome:
    """The proposals of these forecast rows (every row of their SKUs).
    `context`: the ABC classes, the active sites and the units already proposed to leave
    each location in this plan (updated)."""
    planned = plan_rows(conn, rows, app, context["classes"])
    ids = sorted({p.row["product_id"] for p in planned})
    found = conn.execute(
        select(PRODUCT.id, PRODUCT.sku, PRODUCT.unit_price, PRODUCT.supplier_id).where(
            PRODUCT.id.in_(ids)
        )
    ).mappings()
    terms = terms_of(conn, ids)
    has_locations = any(p.row["location_id"] is not None for p in planned)
    batch = Batch(
        app,
        planned,
        {row["id"]: row for row in found},
        context["sites"],
        free_at(conn, ids) if has_locations else {},
        measured(conn, terms, app.now().date()),
    )
    batch.by_place = {(p.row["product_id"], p.row["location_id"]): (p, _curve(p)) for p in planned}
    outcome = Outcome()
    for plan in planned:
        if plan.row["location_id"] is None:
            _purchase(batch, plan, terms.get(plan.row["product_id"], []), outcome)
        elif plan.row["location_id"] in batch.sites:
            _transfer(batch, plan, context["leaving"], outcome)
    return outcome


def _rules(app: Backorder) -> Rules:
    return Rules(review_days=app.settings.replenish_review_days)


def _writer(app: Backorder) -> Any:
    currency = app.settings.currency
    return lambda amount: money(amount, currency)


def _purchase(batch: Batch, plan: Planned, listed: list[Any], outcome: Outcome) -> None:
    app, product = batch.app, batch.products[plan.row["product_id"]]
    _, curve = batch.by_place[(plan.row["product_id"], None)]
    need = find_need(
        product["sku"], app.now().date(), curve, _figures(plan, product["unit_price"]), _rules(app)
    )
    if need is None:
        return
    if not listed:
        outcome.no_supplier.append(product["sku"])
        return
    options, notes = purchase_options(product["id"], listed, product["supplier_id"], batch.lateness)
    if not options:
        outcome.no_cost.append(product["sku"])
        return
    chosen = choose(need.need, options, app.settings.backorder_cost_share, _writer(app))
    if chosen is None:  # every supplier has terms: choose() always finds one
        return
    facts = _facts(plan, need, chosen, app) | {"suppliers": notes}
    outcome.proposals.append(Proposal(product["sku"], product["id"], None, chosen, need, facts))


def _spare(batch: Batch, product_id: int, site: Site, leaving: dict[Any, int]) -> int:
    """What a location can spare of a SKU (see the module's rule)."""
    free = batch.free.get((product_id, site.id), 0) - leaving.get((product_id, site.id), 0)
    own = batch.by_place.get((product_id, site.id))
    if own is None:
        return free
    plan, curve = own
    today = batch.app.now().date()
    days = batch.app.settings.transfer_days + batch.app.settings.replenish_review_days
    return free - plan.safety.safety_stock - math.ceil(curve.demand(today, days) - 1e-9)


def _transfer(batch: Batch, plan: Planned, leaving: dict[Any, int], outcome: Outcome) -> None:
    app = batch.app
    product_id, location_id = plan.row["product_id"], plan.row["location_id"]
    product = batch.products[product_id]
    _, curve = batch.by_place[(product_id, location_id)]
    # it arrives by transfer: after the transfer's days, not the supplier's lead time
    figures = replace(_figures(plan, product["unit_price"]), lead_days=app.settings.transfer_days)
    need = find_need(product["sku"], app.now().date(), curve, figures, _rules(app))
    if need is None:
        return
    spare = {
        site.code: _spare(batch, product_id, site, leaving)
        for site in batch.sites.values()
        if site.id != location_id
    }
    options: list[Option] = [
        transfer_option(site, spare[site.code], app.settings)
        for site in batch.sites.values()
        if site.id != location_id and spare[site.code] >= 1
    ]
    chosen = choose(need.need, options, app.settings.backorder_cost_share, _writer(app))
    if chosen is None:
        return
    source = next(s for s in batch.sites.values() if s.code == chosen.chosen.option.source)
    leaving[(product_id, source.id)] = leaving.get((product_id, source.id), 0) + (
        chosen.chosen.units
    )
    key = f"{product['sku']}@{batch.sites[location_id].code}"
    facts = _facts(plan, need, chosen, app) | {"can_spare": spare}
    outcome.proposals.append(Proposal(key, product_id, location_id, chosen, need, facts))


def _option_facts(w: Weighed) -> dict[str, Any]:
    o = w.option
    return {
        "kind": o.kind,
        "source": o.source,
        "name": o.name,
        "preferred": o.preferred,
        "unit_cost": str(o.unit_cost),
        "lead_days": o.lead_days,
        "moq": o.moq,
        "pack": o.pack,
        "max_units": o.max_units,
        "lateness_lines": len(o.lateness.days),
        "lateness_p50": o.lateness.quantile(0.5),
        "lateness_p90": o.lateness.quantile(0.9),
        "fill_rate": round(o.lateness.fill_rate, 4),
        "units": w.units,
        "arrive_on": w.arrive_on.isoformat(),
        "arrive_p90": w.arrive_p90.isoformat(),
        "makes_date": w.makes_date,
        "expected_short": round(w.expected_short, 3),
        "purchase": str(w.purchase),
        "backorder_value": str(w.backorder_value),
        "expected_cost": str(w.expected_cost),
    }


def _facts(plan: Planned, found: Found, chosen: Recommendation, app: Backorder) -> dict[str, Any]:
    need = found.need
    stockout = plan.projection.stockout
    return {
        "need": {
            "cause": need.cause,
            "need_by": need.need_by.isoformat(),
            "units": need.units,
            "daily_demand": round(need.daily_demand, 4),
            "unit_price": str(need.unit_price),
            "position": round(found.position, 3),
            "reorder_point": plan.safety.reorder_point,
            "safety_stock": plan.safety.safety_stock,
            "lead_time_days": round(plan.lead.days, 2),
            "arrival": found.arrival.isoformat(),
            "level_at_arrival": round(found.level_at_arrival, 3),
            "cover_demand": round(found.cover_demand, 3),
            "review_days": app.settings.replenish_review_days,
            "stockout_week": stockout.week.isoformat() if stockout else None,
            "order_by": found.order_by.isoformat() if found.order_by else None,
        },
        "backorder_cost_share": str(app.settings.backorder_cost_share),
        "options": [_option_facts(w) for w in chosen.weighed],
    }
