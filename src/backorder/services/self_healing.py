"""Self-healing after a slip: when a purchase order is re-dated later, reduced or cancelled,
or the daily review finds a SKU's supply late, the waiting lines whose promised dates it now
misses and the ways out (expedite it, another supplier, a transfer), each with the dates it
gives those customers (`domain.self_healing`).

Inside the caller's transaction (`replan`): the chosen purchase or transfer is stored as a
`recommendations` row with cause `slip` (key: the SKU; it supersedes the SKU's proposal,
whatever its cause), an open procurement task of the SKU carries the options, and a
`supply_replanned` event says so. Read-only (`slip_options`): the same plan, stored nowhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from backorder.domain.alerts import Raise
from backorder.domain.errors import UnknownSku
from backorder.domain.events import Event, SupplyReplanned
from backorder.domain.replenishment import Lateness, Option
from backorder.domain.self_healing import (
    Line,
    Outcome,
    Plan,
    Situation,
    Slipped,
    affected_lines,
    plan,
    surplus,
)
from backorder.domain.supplier_performance import ClosedLine, lateness_days
from backorder.domain.supply import Outlook
from backorder.services.alerts import raise_alert
from backorder.services.context import Backorder
from backorder.services.supplier_performance import closed_lines
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites, load_levels, site_named
from backorder.store.repos import QUEUE_ORDER, ProductRow, Products
from backorder.store.supply import outlooks
from backorder.store.tables import (
    locations,
    order_lines,
    orders,
    product_suppliers,
    purchase_orders,
    recommendations,
    suppliers,
    tasks,
    transfers,
)
from backorder.words import count

RULE = "rule:self_healing"
TASK_KIND = "procurement_review"


def lateness(found: list[ClosedLine]) -> Lateness:
    """A supplier's lateness distribution and fill rate from its closed lines."""
    days = tuple(d for d in map(lateness_days, found) if d is not None)
    ordered = sum(line.ordered for line in found)
    fill = sum(line.received for line in found) / ordered if ordered else 1.0
    return Lateness(days, min(1.0, fill))


def _queue(conn: Connection, product_id: int) -> tuple[Line, ...]:
    ol = order_lines.c
    query = (
        select(
            ol.id,
            orders.c.channel,
            orders.c.external_id,
            ol.backordered,
            ol.promised,
            ol.unit_price,
            orders.c.ship_country,
        )
        .join(orders, orders.c.id == ol.order_id)
        .where(ol.product_id == product_id, ol.backordered > 0)
        .order_by(*QUEUE_ORDER)
    )
    return tuple(
        Line(
            int(r.id),
            f"{r.channel}:{r.external_id}",
            int(r.backordered),
            r.promised,
            Decimal(r.unit_price),
            r.ship_country,
        )
        for r in conn.execute(query)
    )


def _culprit(conn: Connection, outlook: Outlook, first_miss: date | None, po: str | None) -> Any:
    """The purchase order that slipped: the one named, else the first of the SKU's that is
    late, else the one the first missed line now waits for."""
    if po is None:
        pos = [i for i in outlook.inbound if i.transfer is None and i.po]
        late = [i for i in pos if i.expected_on < outlook.today]
        waited = [i for i in pos if outlook.arrival(i) == first_miss]
        found = late or waited
        if not found:
            return None
        po = found[0].po
    return conn.execute(
        select(
            purchase_orders.c.ref, purchase_orders.c.supplier_id, purchase_orders.c.location_id
        ).where(purchase_orders.c.ref == po)
    ).first()


def _suppliers(
    conn: Connection, row: ProductRow, today: date, skip: str | None
) -> tuple[list[Option], dict[str, Lateness], dict[str, Decimal | None]]:
    """The SKU's supplier terms as options (all but `skip`, the one that slipped; a cost
    must be known to weigh one), each supplier's lateness, and each one's cost."""
    t = product_suppliers.c
    terms = conn.execute(
        select(t.supplier_id, t.cost, t.lead_time_days, t.moq, t.pack, suppliers.c.name)
        .join(suppliers, suppliers.c.id == t.supplier_id)
        .where(t.product_id == row.id)
        .order_by(t.supplier_id)
    ).all()
    found = closed_lines(conn, [r.supplier_id for r in terms], today)
    late = {r.supplier_id: lateness(found.get(r.supplier_id, [])) for r in terms}
    costs = {r.supplier_id: r.cost for r in terms}
    options = [
        Option(
            kind="purchase",
            source=r.supplier_id,
            name=r.name,
            unit_cost=Decimal(r.cost),
            lead_days=int(r.lead_time_days),
            lateness=late[r.supplier_id],
            moq=int(r.moq),
            pack=int(r.pack),
            preferred=r.supplier_id == row.product.supplier,
        )
        for r in terms
        if r.supplier_id != skip and r.cost is not None
    ]
    return options, late, costs


def _transfers(
    conn: Connection, row: ProductRow, app: Backorder, destination: int | None
) -> tuple[list[Option], dict[str, int]]:
    """Active locations with surplus of the SKU (free units, less transfers already planned
    out of them, less the reserve each keeps) as transfer options."""
    levels = load_levels(conn, [row.id])[row.id]
    planned = dict(
        conn.execute(
            select(transfers.c.from_location_id, func.sum(transfers.c.quantity))
            .where(transfers.c.product_id == row.id, transfers.c.state == "planned")
            .group_by(transfers.c.from_location_id)
        ).all()
    )
    s = app.settings
    options, ids = [], {}
    for site in all_sites(conn):
        level = levels.get(site.id)
        if not site.active or site.id == destination or level is None:
            continue
        spare = surplus(level.on_hand - int(planned.get(site.id) or 0), level.allocated)
        if spare <= 0:
            continue
        ids[site.code] = site.id
        options.append(
            Option(
                "transfer",
                site.code,
                site.code,
                s.transfer_unit_cost,
                s.transfer_days,
                max_units=spare,
            )
        )
    return options, ids


def situation(conn: Connection, row: ProductRow, app: Backorder, po: str | None) -> Situation:
    """What the plan of a SKU is drawn from, read in a few statements."""
    today = app.now().date()
    outlook = outlooks(conn, [row], today)[row.id]
    sites = {site.id: site for site in all_sites(conn)}
    queue = _queue(conn, row.id)
    missed = affected_lines(queue, outlook, sites)
    first_miss = missed[0].no_action if missed else None
    culprit = _culprit(conn, outlook, first_miss, po) if missed else None
    skip = culprit.supplier_id if culprit is not None else None
    options, late, costs = _suppliers(conn, row, today, skip)
    destination = (
        culprit.location_id
        if culprit is not None and culprit.location_id is not None
        else site_named(sites.values(), app.settings.default_location).id
    )
    moves, ids = _transfers(conn, row, app, destination)
    slipped = None
    if culprit is not None:
        known = late.get(culprit.supplier_id)
        if known is None:
            found = closed_lines(conn, [culprit.supplier_id], today)
            known = lateness(found.get(culprit.supplier_id, []))
        slipped = Slipped(
            culprit.ref, culprit.supplier_id, known.quantile(0.9), costs.get(culprit.supplier_id)
        )
    return Situation(
        row.product.sku, queue, outlook, sites, slipped, (*options, *moves), ids, destination
    )


def money_of(app: Backorder) -> Callable[[Decimal], str]:
    currency = app.settings.currency
    return lambda amount: f"{currency} {amount:,.2f}"


def plan_of(conn: Connection, row: ProductRow, app: Backorder, po: str | None = None) -> Plan:
    s = situation(conn, row, app, po)
    return plan(s, app.settings.backorder_cost_share, money_of(app))


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
    for row in sorted(rows, key=lambda r: r.product.sku):
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
