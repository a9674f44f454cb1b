"""Reading what a slip's plan is drawn from (`domain.self_healing.Situation`): the SKU's
queue with its promised dates, its inbound supply, the purchase order that slipped and its
supplier's lateness, the other suppliers' terms, and the locations with surplus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from backorder.domain.replenishment import Lateness, Option
from backorder.domain.self_healing import (
    Line,
    Situation,
    Slipped,
    affected_lines,
    surplus,
)
from backorder.domain.supplier_performance import ClosedLine, lateness_days
from backorder.domain.supply import Outlook
from backorder.services.context import Backorder
from backorder.services.supplier_performance import closed_lines
from backorder.store.network import all_sites, load_levels, site_named
from backorder.store.repos import QUEUE_ORDER, ProductRow
from backorder.store.supply import outlooks
from backorder.store.tables import (
    order_lines,
    orders,
    product_suppliers,
    purchase_orders,
    suppliers,
    transfers,
)


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
