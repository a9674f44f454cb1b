"""Self-healing after a slip: when a purchase order is re-dated later, reduced or cancelled,
or the daily review finds a SKU's supply late, the waiting lines whose promised dates it now
misses and the ways out (expedite it, another supplier, a transfer), each with the dates it
gives those customers (`domain.self_healing`).

Inside the caller's transaction (`replan`): the chosen purchase or transfer is stored as a
`recommendations` row with cause `slip` (key: the SKU; it supersedes the SKU's proposal,
whatever its cause), an open procurement task of the SKU carries the options, and a
`supply_replanned` event says so. Read-only (`slip_options`): the same plan, stored nowhere."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from backorder.domain.alerts import Raise
from backorder.domain.errors import UnknownSku
from backorder.domain.events import Event, SupplyReplanned
from backorder.domain.self_healing import (
    Outcome,
    Plan,
    plan,
)
from backorder.services.alerts import raise_alert
from backorder.services.context import Backorder
from backorder.services.self_healing_reads import money_of, situation
from backorder.store.db import UnitOfWork, batches
from backorder.store.repos import ProductRow, Products
from backorder.store.tables import (
    locations,
    recommendations,
    tasks,
)
from backorder.words import count

RULE = "rule:self_healing"
TASK_KIND = "procurement_review"


# --- views ---------------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _outcome_view(o: Outcome, p: Plan) -> dict[str, Any]:
    w = o.weighed
    view: dict[str, Any] = {
        "kind": o.kind,
        "source": o.source,
        "name": o.name,
        "units": o.units,
        "arrive_on": o.arrive_on.isoformat(),
        "keeps": o.keeps,
        "cost": str(w.purchase) if w else None,
        "expected_cost": str(w.expected_cost) if w else None,
        "expected_short": round(w.expected_short, 2) if w else None,
        "orders": [
            {
                "order": a.line.order,
                "line_id": a.line.line_id,
                "promised": a.promised.isoformat(),
                "no_action": _iso(a.no_action),
                "with_option": _iso(o.dates.get(a.line.line_id)),
            }
            | ({"at_p90": _iso(o.p90_dates.get(a.line.line_id))} if o.p90_dates is not None else {})
            for a in p.affected
        ],
    }
    if o.kind == "expedite":
        view |= {"p90": _iso(o.p90), "p90_keeps": o.p90_keeps}
    return view


def plan_view(p: Plan, po: str | None, currency: str) -> dict[str, Any]:
    """A plan as JSON: the affected orders, each way out with its dates, and in words."""
    ways = ([p.expedite] if p.expedite else []) + list(p.options)
    return {
        "sku": p.sku,
        "as_of": p.today.isoformat(),
        "purchase_order": po,
        "currency": currency,
        "shortfall": p.shortfall,
        "need_by": _iso(p.need.need_by) if p.need else None,
        "orders": [
            {
                "order": a.line.order,
                "line_id": a.line.line_id,
                "units": a.line.units,
                "promised": a.promised.isoformat(),
                "no_action": _iso(a.no_action),
            }
            for a in p.affected
        ],
        "options": [_outcome_view(o, p) for o in ways],
        "sentences": list(p.sentences),
    }


def slip_options(app: Backorder, sku: str) -> dict[str, Any]:
    """The SKU's waiting lines the supply as it stands misses the promised dates of, and the
    ways out: computed now, stored nowhere (`backorder replenish options`)."""
    with app.db.read() as uow:
        conn = uow.connection
        row = Products(conn).get(sku)
        if row is None:
            raise UnknownSku(sku)
        s = situation(conn, row, app, None)
        p = plan(s, app.settings.backorder_cost_share, money_of(app))
        proposed = _proposed(conn, sku)
    view = plan_view(p, s.slipped.po if s.slipped else None, app.settings.currency)
    view["recommendation"] = proposed["id"] if proposed and proposed["cause"] == "slip" else None
    return view


# --- inside a use case's transaction --------------------------------------------------------


def _proposed(conn: Connection, key: str) -> Any:
    r = recommendations.c
    return (
        conn.execute(select(recommendations).where(r.key == key, r.state == "proposed"))
        .mappings()
        .first()
    )


def _store(
    conn: Connection, row: ProductRow, p: Plan, facts: dict[str, Any], now: datetime
) -> int | None:
    """The chosen purchase or transfer as the SKU's proposal (superseding the one there);
    the same proposal again changes nothing. A plan with nothing to choose withdraws an
    earlier slip proposal. Returns the proposal's id (None: none)."""
    key = row.product.sku
    known = _proposed(conn, key)
    r = recommendations.c
    chosen = p.chosen
    if chosen is None:
        if known is not None and known["cause"] == "slip":
            conn.execute(
                update(recommendations)
                .where(r.id == known["id"])
                .values(state="superseded", decided_at=now, decided_by=RULE)
            )
        return None
    w = chosen.chosen
    if known is not None and known["cause"] == "slip" and known["facts"] == facts:
        return int(known["id"])
    if known is not None:
        conn.execute(
            update(recommendations)
            .where(r.id == known["id"])
            .values(state="superseded", decided_at=now, decided_by=RULE)
        )
    transfer = w.option.kind == "transfer"
    source = None
    if transfer:
        source = conn.execute(
            select(locations.c.id).where(locations.c.code == w.option.source)
        ).scalar_one()
    return int(
        conn.execute(
            insert(recommendations).returning(r.id),
            {
                "key": key,
                "product_id": row.id,
                "location_id": None,
                "kind": w.option.kind,
                "cause": "slip",
                "supplier_id": None if transfer else w.option.source,
                "from_location_id": source,
                "quantity": w.units,
                "unit_cost": w.option.unit_cost,
                "currency": facts["currency"],
                "need_by": chosen.need.need_by,
                "order_by": p.today,
                "arrive_on": w.arrive_on,
                "arrive_p90": w.arrive_p90,
                "expected_short": w.expected_short,
                "expected_cost": w.expected_cost,
                "reasons": [*chosen.reasons, *p.sentences],
                "facts": facts,
                "state": "proposed",
                "computed_at": now,
            },
        ).scalar_one()
    )


def _withdraw(conn: Connection, keys: list[str], now: datetime) -> None:
    """Slip proposals of SKUs with nothing waiting any more are withdrawn (one statement a
    batch)."""
    r = recommendations.c
    for chunk in batches(sorted(keys)):
        conn.execute(
            update(recommendations)
            .where(r.key.in_(chunk), r.state == "proposed", r.cause == "slip")
            .values(state="superseded", decided_at=now, decided_by=RULE)
        )


def _tell_task(conn: Connection, sku: str, facts: dict[str, Any]) -> None:
    """An open procurement task of the SKU carries the options."""
    t = tasks.c
    for task in conn.execute(
        select(tasks.c.id, tasks.c.facts).where(
            t.kind == TASK_KIND, t.sku == sku, t.state == "open"
        )
    ).all():
        merged = dict(task.facts) | options_facts(facts)
        if merged != task.facts:
            conn.execute(update(tasks).where(t.id == task.id).values(facts=merged))


def options_facts(view: dict[str, Any] | None) -> dict[str, Any]:
    """What a procurement task carries of a plan: the ways out in words and in numbers."""
    if view is None or not view["orders"]:
        return {"options": [], "self_healing": None}
    return {"options": view["sentences"], "self_healing": view}


def replan(
    uow: UnitOfWork, rows: list[ProductRow], app: Backorder, po: str | None = None
) -> tuple[list[Event], dict[str, dict[str, Any]]]:
    """Re-plan these (locked) SKUs after a slip, in the caller's transaction: store each
    chosen way out, update open procurement tasks, and say so. Returns the events and each
    SKU's plan as JSON (SKUs with nothing missed: none)."""
    conn = uow.connection
    now = app.now()
    facts: list[Event] = []
    views: dict[str, dict[str, Any]] = {}
    _withdraw(conn, [row.product.sku for row in rows if row.stock.backordered <= 0], now)
    waiting = [row for row in rows if row.stock.backordered > 0]  # no queue: nothing to miss
    for row in sorted(waiting, key=lambda r: r.product.sku):
        s = situation(conn, row, app, po)
        p = plan(s, app.settings.backorder_cost_share, money_of(app))
        culprit = s.slipped.po if s.slipped else None
        view = plan_view(p, culprit, app.settings.currency) if p.affected else None
        known = _proposed(conn, row.product.sku)
        stored = _store(conn, row, p, view or {}, now)
        _tell_task(conn, row.product.sku, view or {"orders": []})
        if view is None:
            continue
        views[row.product.sku] = view
        fresh = stored is not None and (known is None or stored != known["id"])
        if po is not None or fresh:
            said = SupplyReplanned(
                sku=row.product.sku,
                po=culprit,
                orders=p.orders,
                shortfall=p.shortfall,
                sentences=p.sentences,
                recommendation=stored,
            )
            facts.append(said)
            raise_alert(conn, _notice(said), now)
    return facts, views


def _notice(said: SupplyReplanned) -> Raise:
    """Procurement hears of a re-plan by e-mail: what slipped, who waits, each way out."""
    slipped = f"{said.po} slipped: " if said.po else "Supply is late: "
    summary = (
        f"{slipped}{count(len(said.orders), 'order')} of {said.sku} miss their dates, "
        f"{count(said.shortfall, 'unit')} short"
    )
    facts: dict[str, Any] = {"orders": list(said.orders), "recommendation": said.recommendation}
    facts |= {f"option {n}": sentence for n, sentence in enumerate(said.sentences, 1)}
    return Raise("supply_replanned", summary, facts, sku=said.sku, notice=True)
