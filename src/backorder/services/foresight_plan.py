"""Safety stock, projected stockouts and their alerts, from the stored forecasts.

`refresh` walks every stored forecast (tables `forecasts`, `forecast_periods`) in batches,
one transaction each: the SKU's lead time from its purchase-order history
(services.lead_times), its service level by ABC class, safety stock and reorder point
(domain.safety_stock, written on the forecast row with their inputs), and the projection by
week (domain.projection; its stockout written on the row too). A network projection that
runs out within BACKORDER_SHORTAGE_WEEKS raises a `stockout_projected` alert for
procurement, once; the alert is resolved when a later refresh finds the projection clear.

ABC classes by the value of forecast demand (mean weekly units x unit price) across the
network forecasts: A are the SKUs that make the first 80 % of that value, B the next 15 %,
C the rest (and SKUs without demand). BACKORDER_SERVICE_LEVELS gives a class its service
level; a class it leaves out gets BACKORDER_SERVICE_LEVEL.

A projection at a location starts from the stock there and counts the purchase orders that
arrive there; the network one starts from the SKU's figures less the units waiting on the
network queue and counts every purchase order. Transfers move stock within the network and
are not counted. Reading (services.shortages): one SKU's projection is computed afresh with
`plan_rows`; the list of coming shortages reads what the last refresh stored."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select, update

from backorder.config import Settings
from backorder.domain.alerts import Raise, alert_key
from backorder.domain.errors import InvalidRequest
from backorder.domain.events import ALERT_EVENT_TYPES
from backorder.domain.projection import Projection, monday, project
from backorder.domain.safety_stock import LeadTime, SafetyStock, safety_stock
from backorder.services.alerts import raise_alert, resolve_alert
from backorder.services.consumers import newest_event, save_position
from backorder.services.context import Backorder
from backorder.services.lead_times import lead_times
from backorder.store.tables import (
    alerts,
    event_consumers,
    events,
    forecast_periods,
    forecasts,
    locations,
    po_lines,
    products,
    purchase_orders,
    stock_levels,
)

KIND = "stockout_projected"
CONSUMER = "projections"  # its position in the outbox: the SKUs changed since
BATCH = 500
MAX_BATCHES = 100_000  # 50 million forecasts: far beyond any catalogue
MAX_WEEKS = 52
A_SHARE, B_SHARE = 0.80, 0.95
ABC_CLASSES = ("A", "B", "C")
F = forecasts.c


@dataclass(frozen=True)
class Planned:
    """One forecast row planned: its safety stock, lead time, class and projection."""

    row: RowMapping
    abc: str
    lead: LeadTime
    safety: SafetyStock
    projection: Projection
    stock: tuple[int, int, int]  # on hand, allocated, waiting (network) or 0 (location)
    periods: list[RowMapping]


def abc_classes(conn: Connection) -> dict[int, str]:
    """The ABC class of each SKU with a network forecast, by the value of its demand."""
    rows = conn.execute(
        select(F.product_id, F.mean_demand, products.c.unit_price)
        .join(products, products.c.id == F.product_id)
        .where(F.location_id.is_(None))
    ).all()
    values = sorted(
        ((max(0.0, float(mean or 0)) * float(price), pid) for pid, mean, price in rows),
        key=lambda pair: (-pair[0], pair[1]),
    )
    total = sum(value for value, _ in values)
    classes: dict[int, str] = {}
    before = 0.0
    for value, product_id in values:
        share = before / total if total > 0 else 1.0
        classes[product_id] = (
            "C" if value <= 0 else "A" if share < A_SHARE else "B" if share < B_SHARE else "C"
        )
        before += value
    return classes


def select_forecasts() -> Any:
    """Forecast rows with their SKU, its stock and the location's code."""
    return (
        select(
            forecasts,
            products.c.sku,
            products.c.on_hand,
            products.c.allocated,
            products.c.backordered,
            locations.c.code.label("location"),
        )
        .join(products, products.c.id == F.product_id)
        .outerjoin(locations, locations.c.id == F.location_id)
    )


def _periods(conn: Connection, ids: Sequence[int]) -> dict[int, list[RowMapping]]:
    found: dict[int, list[RowMapping]] = defaultdict(list)
    fp = forecast_periods.c
    for row in conn.execute(
        select(forecast_periods).where(fp.forecast_id.in_(ids)).order_by(fp.period_start)
    ).mappings():
        found[row["forecast_id"]].append(row)
    return found


def _inbound(
    conn: Connection, product_ids: Sequence[int]
) -> dict[tuple[int, int | None], list[tuple[date, int]]]:
    """Open purchase-order units by (product, location) and by (product, None): the network."""
    line = po_lines.c
    found: dict[tuple[int, int | None], list[tuple[date, int]]] = defaultdict(list)
    for product_id, location_id, expected_on, units in conn.execute(
        select(
            line.product_id,
            purchase_orders.c.location_id,
            line.expected_on,
            line.ordered - line.received - line.cancelled,
        )
        .join(purchase_orders, purchase_orders.c.id == line.po_id)
        .where(
            line.product_id.in_(product_ids),
            line.received + line.cancelled < line.ordered,
            purchase_orders.c.approval == "approved",  # a draft is not inbound supply
        )
    ):
        found[(product_id, None)].append((expected_on, int(units)))
        if location_id is not None:
            found[(product_id, location_id)].append((expected_on, int(units)))
    return found


def _location_stock(conn: Connection, rows: Sequence[RowMapping]) -> dict[tuple[int, int], int]:
    """Free stock (on hand - allocated) per (product, location) of the location forecasts."""
    pairs = {(r["product_id"], r["location_id"]) for r in rows if r["location_id"] is not None}
    if not pairs:
        return {}
    s = stock_levels.c
    return {
        (pid, lid): int(on_hand) - int(allocated)
        for pid, lid, on_hand, allocated in conn.execute(
            select(s.product_id, s.location_id, s.on_hand, s.allocated).where(
                s.product_id.in_({pid for pid, _ in pairs})
            )
        )
        if (pid, lid) in pairs
    }


def _figure(value: float | None) -> float:
    """A stored figure of a forecast; one that is missing or not a number (a forecaster's
    slip) counts as 0 rather than stopping every other SKU's plan."""
    return float(value) if value is not None and math.isfinite(value) and value > 0 else 0.0


def service_level(settings: Settings, abc: str) -> float:
    return settings.service_levels.get(abc, settings.service_level)


def plan_rows(
    conn: Connection, rows: Sequence[RowMapping], app: Backorder, classes: dict[int, str]
) -> list[Planned]:
    """Safety stock and projection of these forecast rows, as of now."""
    if not rows:
        return []
    now = app.now()
    today = now.date()
    ids = [r["id"] for r in rows]
    product_ids = sorted({r["product_id"] for r in rows})
    periods = _periods(conn, ids)
    inbound = _inbound(conn, product_ids)
    leads = lead_times(conn, product_ids, now)
    at_location = _location_stock(conn, rows)
    first = monday(today)
    planned = []
    for row in rows:
        abc = classes.get(row["product_id"], "C")
        lead = leads[row["product_id"]]
        safety = safety_stock(
            _figure(row["mean_demand"]),
            _figure(row["error_sd"]),
            lead,
            service_level(app.settings, abc),
            row["demand_class"],
        )
        ahead = [p for p in periods[row["id"]] if p["period_start"] >= first][:MAX_WEEKS]
        if row["location_id"] is None:
            stock = (int(row["on_hand"]), int(row["allocated"]), int(row["backordered"]))
            start = stock[0] - stock[1] - stock[2]
        else:
            start = at_location.get((row["product_id"], row["location_id"]), 0)
            stock = (start, 0, 0)
        projection = project(
            start,
            ahead[0]["period_start"] if ahead else first,
            [_figure(p["point"]) for p in ahead],
            inbound.get((row["product_id"], row["location_id"]), []),
            (safety.safety_stock, lead.days, today),
        )
        planned.append(Planned(row, abc, lead, safety, projection, stock, ahead))
    return planned


def inputs_of(plan: Planned) -> dict[str, Any]:
    """The safety stock's inputs, as kept on the forecast row (`inputs.safety_stock`)."""
    s, lead = plan.safety, plan.lead
    return {
        "abc_class": plan.abc,
        "service_level": s.service_level,
        "z": round(s.z, 4),
        "method": s.method,
        "lead_time_days": round(lead.days, 2),
        "lead_time_sd_days": round(lead.sd_days, 2),
        "lead_time_source": lead.source,
        "lead_time_lines": lead.lines,
        "mean_demand": round(s.mean_demand, 4),
        "demand_sd": round(s.demand_sd, 4),
        "lead_time_demand": round(s.lead_time_demand, 3),
        "lead_time_demand_sd": round(s.lead_time_sd, 3),
    }


def _save(conn: Connection, planned: Sequence[Planned], now: datetime) -> None:
    conn.execute(
        update(forecasts)
        .where(F.id == bindparam("b_id"))
        .values(
            service_level=bindparam("b_level"),
            safety_stock=bindparam("b_safety"),
            reorder_point=bindparam("b_reorder"),
            inputs=bindparam("b_inputs", type_=forecasts.c.inputs.type),
            planned_at=bindparam("b_now", type_=forecasts.c.planned_at.type),
            stockout_week=bindparam("b_week", type_=forecasts.c.stockout_week.type),
            units_short=bindparam("b_short"),
            order_by=bindparam("b_order_by", type_=forecasts.c.order_by.type),
            below_safety_week=bindparam("b_below", type_=forecasts.c.below_safety_week.type),
        ),
        [
            {
                "b_id": p.row["id"],
                "b_level": p.safety.service_level,
                "b_safety": p.safety.safety_stock,
                "b_reorder": p.safety.reorder_point,
                "b_inputs": {**(p.row["inputs"] or {}), "safety_stock": inputs_of(p)},
                "b_now": now,
                "b_week": p.projection.stockout.week if p.projection.stockout else None,
                "b_short": p.projection.stockout.units_short if p.projection.stockout else None,
                "b_order_by": p.projection.stockout.order_by if p.projection.stockout else None,
                "b_below": p.projection.below_safety,
            }
            for p in planned
        ],
    )


def _alert(plan: Planned) -> Raise:
    s = plan.projection.stockout
    assert s is not None
    sku = plan.row["sku"]
    late = " (already late: order now, and expedite)" if s.late else ""
    return Raise(
        KIND,
        f"{sku} is projected to run out in the week of {s.week.isoformat()}: {s.units_short} "
        f"units short; order by {s.order_by.isoformat()}{late}",
        {  # the SKU is the alert's own (`sku`), not repeated among the facts
            "week": s.week.isoformat(),
            "units_short": s.units_short,
            "order_by": s.order_by.isoformat(),
            "arrive_by": s.arrive_by.isoformat(),
            "late": s.late,
            "safety_stock": plan.safety.safety_stock,
            "reorder_point": plan.safety.reorder_point,
        },
        sku=sku,
    )


def _keep_alerts(
    conn: Connection, planned: Sequence[Planned], settings: Settings, now: datetime
) -> tuple[int, int]:
    """Raise the alert of each network projection that runs out within the window, once;
    resolve it for those that no longer do."""
    network = [p for p in planned if p.row["location_id"] is None]
    keys = {p.row["sku"]: alert_key(KIND, p.row["sku"], None) for p in network}
    open_keys = set(
        conn.execute(
            select(alerts.c.key).where(alerts.c.key.in_(keys.values()), alerts.c.state == "open")
        ).scalars()
    )
    horizon = monday(now.date()) + timedelta(weeks=settings.shortage_weeks)
    raised = resolved = 0
    for plan in network:
        key, stockout = keys[plan.row["sku"]], plan.projection.stockout
        if stockout is not None and stockout.week < horizon:
            if key not in open_keys:
                raise_alert(conn, _alert(plan), now)
                raised += 1
        elif key in open_keys:
            resolved += resolve_alert(
                conn,
                key,
                f"projection clear: no stockout within {settings.shortage_weeks} weeks",
                now,
            )
    return raised, resolved


def refresh(app: Backorder, skus: Collection[str] | None = None) -> dict[str, int]:
    """Safety stock, reorder point and projection of every stored forecast (or those of
    `skus`), and the `stockout_projected` alerts they call for; one transaction per batch."""
    with app.db.read() as uow:
        classes = abc_classes(uow.connection)
    counts = {"planned": 0, "stockouts_projected": 0, "alerts_raised": 0, "alerts_resolved": 0}
    after = 0
    chosen = select_forecasts()
    if skus is not None:
        chosen = chosen.where(products.c.sku.in_(sorted(skus)))
    for _ in range(MAX_BATCHES):
        with app.db.write() as uow:
            conn = uow.connection
            rows = conn.execute(chosen.where(F.id > after).order_by(F.id).limit(BATCH))
            batch = list(rows.mappings())
            if not batch:
                break
            now = app.now()
            planned = plan_rows(conn, batch, app, classes)
            _save(conn, planned, now)
            raised, resolved = _keep_alerts(conn, planned, app.settings, now)
            uow.commit()
        after = batch[-1]["id"]
        counts["planned"] += len(planned)
        counts["stockouts_projected"] += sum(1 for p in planned if p.projection.stockout)
        counts["alerts_raised"] += raised
        counts["alerts_resolved"] += resolved
    counts["alerts_resolved"] += _resolve_unforecast(app)
    return counts


def _resolve_unforecast(app: Backorder) -> int:
    """Resolve the alerts of SKUs that have no network forecast any more."""
    with app.db.write() as uow:
        conn = uow.connection
        forecast_skus = (
            select(products.c.sku)
            .join(forecasts, F.product_id == products.c.id)
            .where(F.location_id.is_(None))
        )
        keys = conn.execute(
            select(alerts.c.key).where(
                alerts.c.kind == KIND,
                alerts.c.state == "open",
                alerts.c.sku.not_in(forecast_skus),
            )
        ).scalars()
        now = app.now()
        gone = sum(resolve_alert(conn, key, "no forecast any more", now) for key in list(keys))
        uow.commit()
    return gone


def changed_skus(app: Backorder, limit: int = BATCH * 10) -> tuple[list[str], int | None]:
    """The SKUs that events named since the plan's position in the outbox (stock moved,
    orders placed, supply changed), at most `limit`, and the position they reach (None:
    nothing new to record): their projections are refreshed without waiting for the hour."""
    with app.db.read() as uow:
        conn = uow.connection
        position = conn.execute(
            select(event_consumers.c.position).where(event_consumers.c.name == CONSUMER)
        ).scalar_one_or_none()
        head = newest_event(conn)
        if position is None:
            return [], head  # the first pass starts from now
        if position >= head:
            return [], None
        rows = conn.execute(
            select(events.c.id, events.c.sku)
            .where(
                events.c.id > position,
                events.c.id <= head,
                events.c.sku.is_not(None),
                events.c.type.not_in(ALERT_EVENT_TYPES),  # its own alerts change nothing
            )
            .order_by(events.c.id)
            .limit(limit * 20)
        ).all()
    skus: dict[str, None] = {}
    reached = head if len(rows) < limit * 20 else rows[-1].id
    for row in rows:
        if len(skus) >= limit:
            reached = row.id - 1
            break
        skus[row.sku] = None
    return list(skus), reached


def keep_position(app: Backorder, position: int) -> None:
    """Record how far the plan has read the outbox."""
    with app.db.write() as uow:
        save_position(uow.connection, uow.dialect, CONSUMER, position, app.now())
        uow.commit()


def due(app: Backorder, every: timedelta) -> bool:
    """Whether a forecast was stored (or replaced) since the last refresh, or the last
    refresh is older than `every`."""
    stale = app.now() - every
    with app.db.read() as uow:
        found = uow.connection.execute(
            select(F.id)
            .where(
                (F.planned_at.is_(None)) | (F.planned_at < F.computed_at) | (F.planned_at < stale)
            )
            .limit(1)
        ).first()
    return found is not None


def check_weeks(weeks: int) -> int:
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidRequest(f"weeks must be between 1 and {MAX_WEEKS} (got {weeks})")
    return weeks
