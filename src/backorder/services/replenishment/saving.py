"""Keeping the proposed recommendations in step with a plan, in the plan's transaction.

One proposed row per key. A proposal that decides what the row already says (the same
kind, supplier or source location, quantity, unit cost, currency, cause and need date)
keeps the row and its id: only its derived numbers (expected dates, units expected to wait,
expected cost, reasons, facts) are refreshed where they moved, so a person looking at it is
not pulled from under. A proposal that decides otherwise supersedes the row and adds a new
one. A key in the plan's scope that needs no order any more has its row superseded. A row a
slip proposed (cause `slip`) is left to that re-planning: neither replaced nor withdrawn."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from backorder.services.replenishment.planning import Proposal
from backorder.store.tables import recommendations

R = recommendations.c
MATERIAL = (
    "kind",
    "supplier_id",
    "from_location_id",
    "quantity",
    "unit_cost",
    "currency",
    "cause",
    "need_by",
)
DERIVED = (
    "order_by",
    "arrive_on",
    "arrive_p90",
    "expected_short",
    "expected_cost",
    "reasons",
    "facts",
)
GONE = "no order needed any more"
REPLANNED = "re-planned"


@dataclass(frozen=True)
class Saved:
    proposed: list[str]  # keys proposed anew
    updated: int
    superseded: int
    unchanged: int


def values_of(p: Proposal, site_ids: dict[str, int], currency: str) -> dict[str, Any]:
    w = p.recommendation.chosen
    o = w.option
    need = p.found.need
    return {
        "key": p.key,
        "product_id": p.product_id,
        "location_id": p.location_id,
        "kind": o.kind,
        "cause": need.cause,
        "supplier_id": o.source if o.kind == "purchase" else None,
        "from_location_id": site_ids[o.source] if o.kind == "transfer" else None,
        "quantity": w.units,
        "unit_cost": o.unit_cost,
        "currency": currency,
        "need_by": need.need_by,
        "order_by": need.need_by - timedelta(days=o.lead_days),
        "arrive_on": w.arrive_on,
        "arrive_p90": w.arrive_p90,
        "expected_short": round(w.expected_short, 3),
        "expected_cost": w.expected_cost,
        "reasons": list(p.recommendation.reasons),
        "facts": p.facts,
    }


def _proposed(conn: Connection, product_ids: Collection[int] | None) -> dict[str, Any]:
    query = select(recommendations).where(R.state == "proposed")
    if product_ids is not None:
        query = query.where(R.product_id.in_(sorted(product_ids)))
    return {row["key"]: row for row in conn.execute(query).mappings()}


def _same(row: Any, values: dict[str, Any], names: Sequence[str]) -> bool:
    return all(row[name] == values[name] for name in names)


def save(
    conn: Connection,
    wanted: Sequence[dict[str, Any]],
    scope: Collection[int] | None,
    now: datetime,
) -> Saved:
    """Make the proposed rows of the scope's products (None: every product) what `wanted`
    says (row values, one per key)."""
    current = _proposed(conn, scope)
    fresh, refresh, retire = [], [], []
    for values in wanted:
        row = current.pop(values["key"], None)
        if row is not None and row["cause"] == "slip":
            continue  # a slip's re-planning proposed it: left to that
        if row is not None and _same(row, values, MATERIAL):
            if not _same(row, values, DERIVED):
                refresh.append({"b_id": row["id"], **{f"b_{n}": values[n] for n in DERIVED}})
            continue
        if row is not None:
            retire.append({"b_id": row["id"], "b_note": REPLANNED})
        fresh.append(values | {"state": "proposed", "computed_at": now})
    retire.extend(
        {"b_id": row["id"], "b_note": GONE} for row in current.values() if row["cause"] != "slip"
    )
    if retire:
        conn.execute(
            update(recommendations)
            .where(R.id == bindparam("b_id"))
            .values(state="superseded", decided_at=now, note=bindparam("b_note")),
            retire,
        )
    if refresh:
        conn.execute(
            update(recommendations)
            .where(R.id == bindparam("b_id"))
            .values(computed_at=now, **{n: bindparam(f"b_{n}", type_=R[n].type) for n in DERIVED}),
            refresh,
        )
    if fresh:
        conn.execute(insert(recommendations), fresh)
    unchanged = len(wanted) - len(fresh) - len(refresh)
    return Saved([v["key"] for v in fresh], len(refresh), len(retire), unchanged)
