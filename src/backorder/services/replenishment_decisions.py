"""Deciding restock recommendations: accept (as proposed, or changed: another quantity
and/or another of the SKU's suppliers, re-rounded to that supplier's minimum order and
pack) or reject. Accepted, a purchase becomes a draft purchase order (then the approval
policy: services/po_approval.py) and a transfer a planned transfer. One transaction each,
with its events and who decided (`decided_by`: an API key's name, "cli", "dashboard:<who>",
or "rule:<which>"). A recommendation no longer proposed cannot be decided again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import RowMapping, select, update

from backorder.domain.errors import DecisionConflict, InvalidRequest, UnknownRecommendation
from backorder.domain.events import Event, RecommendationAccepted, RecommendationRejected
from backorder.domain.replenishment import Lateness, order_units
from backorder.domain.supplier_performance import lateness_days
from backorder.services import po_approval, transfers
from backorder.services.context import Backorder
from backorder.services.schedule import reschedule
from backorder.services.supplier_performance import closed_lines
from backorder.store.db import UnitOfWork
from backorder.store.network import all_sites
from backorder.store.repos import Outbox, ProductRow, Products
from backorder.store.supply import po_row
from backorder.store.tables import locations, product_suppliers, products, recommendations

MAX_UNITS = 2**31 - 1


@dataclass(frozen=True)
class Change:
    """What an accept changes of the recommendation (None: as proposed)."""

    quantity: int | None = None
    supplier: str | None = None


def _locked(uow: UnitOfWork, rec_id: int) -> tuple[RowMapping, ProductRow]:
    """The recommendation, still proposed, and its SKU (locked first, as every use case
    locks it)."""
    conn = uow.connection
    query = (
        select(recommendations, products.c.sku)
        .join(products, products.c.id == recommendations.c.product_id)
        .where(recommendations.c.id == rec_id)
    )
    found = conn.execute(query).mappings().first()
    if found is None:
        raise UnknownRecommendation(rec_id)
    row = Products(conn).lock([found["sku"]])[found["sku"]]
    rec = conn.execute(query.with_for_update(of=recommendations)).mappings().one()
    if rec["state"] != "proposed":
        by = f" by {rec['decided_by']}" if rec["decided_by"] else ""
        raise DecisionConflict(
            f"recommendation {rec_id} is {rec['state']}{by}; only a proposed one can be decided"
        )
    return rec, row


def _decided(uow: UnitOfWork, rec_id: int, values: dict[str, Any]) -> None:
    uow.connection.execute(
        update(recommendations).where(recommendations.c.id == rec_id).values(values)
    )


def reject(app: Backorder, rec_id: int, actor: str, note: str | None = None) -> dict[str, Any]:
    if note is not None and len(note) > 2000:
        raise InvalidRequest("a note is at most 2000 characters")
    now = app.now()
    with app.db.write() as uow:
        rec, _ = _locked(uow, rec_id)
        _decided(
            uow,
            rec_id,
            {"state": "rejected", "decided_at": now, "decided_by": actor[:120], "note": note},
        )
        fact = RecommendationRejected(
            recommendation=rec_id, key=rec["key"], sku=rec["sku"], decided_by=actor, note=note
        )
        Outbox(uow.connection).append([fact], now)
        uow.commit()
    return {"id": rec_id, "state": "rejected", "decided_by": actor, "note": note}


def accept(app: Backorder, rec_id: int, actor: str, change: Change | None = None) -> dict[str, Any]:
    """Accept a recommendation, as proposed or changed. A purchase becomes a draft purchase
    order, expected today + the terms' lead time + the supplier's measured median lateness;
    a transfer a planned transfer."""
    change = change or Change()
    if change.quantity is not None and not 0 < change.quantity <= MAX_UNITS:
        raise InvalidRequest(f"quantity must be between 1 and {MAX_UNITS}, got {change.quantity}")
    now = app.now()
    with app.db.write() as uow:
        rec, row = _locked(uow, rec_id)
        if rec["kind"] == "transfer":
            made, facts = _transfer(app, uow, rec, row, change)
        else:
            made, facts = _purchase(app, uow, rec, row, change)
        values = {"state": "accepted", "decided_at": now, "decided_by": actor[:120]}
        if made["changes"]:
            values["note"] = "; ".join(made["changes"])[:2000]
        _decided(uow, rec_id, values | made["link"])
        accepted = RecommendationAccepted(
            recommendation=rec_id,
            key=rec["key"],
            sku=rec["sku"],
            kind=rec["kind"],
            quantity=made["quantity"],
            supplier=made.get("supplier"),
            po=made.get("po"),
            transfer=made.get("transfer"),
            decided_by=actor,
            changes=tuple(made["changes"]),
        )
        Outbox(uow.connection).append([accepted, *facts], now)
        if made.get("po"):  # approved by its rule: it goes to the supplier
            po_approval.send_approved(uow.connection, made["po"], now)
            made["view"] = po_approval.summary(uow.connection, made["po"])
        view = {
            "id": rec_id,
            "state": "accepted",
            "decided_by": actor,
            "kind": rec["kind"],
            "quantity": made["quantity"],
            "changes": made["changes"],
            "purchase_order": made.get("view"),
            "transfer": made.get("transfer"),
        }
        uow.commit()
    return view


def _terms(uow: UnitOfWork, product_id: int, supplier: str) -> RowMapping:
    found = (
        uow.connection.execute(
            select(product_suppliers).where(
                product_suppliers.c.product_id == product_id,
                product_suppliers.c.supplier_id == supplier,
            )
        )
        .mappings()
        .first()
    )
    if found is None:
        raise InvalidRequest(
            f"{supplier!r} does not supply this SKU: backorder product supplier list shows who does"
        )
    return found


def median_lateness(uow: UnitOfWork, supplier: str, today: date) -> int:
    """The supplier's measured median days late over its closed lines of the last 12 months
    (0 without any)."""
    lines = closed_lines(uow.connection, [supplier], today).get(supplier, [])
    days = tuple(d for d in (lateness_days(line) for line in lines) if d is not None)
    return Lateness(days).quantile(0.5)


def _purchase(
    app: Backorder, uow: UnitOfWork, rec: RowMapping, row: ProductRow, change: Change
) -> tuple[dict[str, Any], list[Event]]:
    supplier = change.supplier or rec["supplier_id"]
    terms = _terms(uow, row.id, supplier)
    wanted = change.quantity or rec["quantity"]
    units = order_units(wanted, terms["moq"], terms["pack"])
    changes = []
    if supplier != rec["supplier_id"]:
        changes.append(f"supplier {supplier} instead of {rec['supplier_id']}")
    if change.quantity is not None and change.quantity != rec["quantity"]:
        changes.append(f"quantity {change.quantity} instead of {rec['quantity']}")
    if units != wanted:
        changes.append(
            f"rounded up from {wanted} to {units} units ({supplier}: minimum order "
            f"{terms['moq']}, packs of {terms['pack']})"
        )
    today = app.now().date()
    late = median_lateness(uow, supplier, today)
    expected = today + timedelta(days=terms["lead_time_days"] + late)
    cost = terms["cost"] if terms["cost"] is not None else None
    if cost is None and supplier == rec["supplier_id"]:
        cost = rec["unit_cost"]
    location_id = rec["location_id"] or _default_location(uow, app)
    line = po_approval.DraftLine(row, units, cost, expected)
    ref, facts = po_approval.draft(app, uow, (supplier, location_id), [line])
    made = {
        "quantity": units,
        "supplier": supplier,
        "po": ref,
        "changes": changes,
        "link": {"po_id": _po_id(uow, ref)},
    }
    return made, facts


def _po_id(uow: UnitOfWork, ref: str) -> int:
    po = po_row(uow.connection, ref)
    assert po is not None
    return int(po["id"])


def _default_location(uow: UnitOfWork, app: Backorder) -> int:
    code = app.settings.default_location
    found = uow.connection.execute(select(locations.c.id).where(locations.c.code == code)).first()
    if found is None:
        raise InvalidRequest(f"no default location {code!r}")
    return int(found[0])


def _transfer(
    app: Backorder, uow: UnitOfWork, rec: RowMapping, row: ProductRow, change: Change
) -> tuple[dict[str, Any], list[Event]]:
    if change.supplier is not None:
        raise InvalidRequest("a transfer has no supplier: accept it as it is or change its units")
    sites = {site.id: site.code for site in all_sites(uow.connection)}
    units = change.quantity or rec["quantity"]
    today = app.now().date()
    lead = max(0, (rec["arrive_on"] - rec["computed_at"].date()).days)
    destination = sites[rec["location_id"] or _default_location(uow, app)]
    wanted = transfers.TransferIn(
        rec["sku"], units, sites[rec["from_location_id"]], destination, today + timedelta(lead)
    )
    transfer_id, product = transfers.plan(uow, wanted, app.now())
    facts: list[Event] = [transfers.created_event(uow, transfer_id)]
    facts += reschedule(uow, [product], app.now(), app.settings.eta_change_days)
    changes = [f"quantity {units} instead of {rec['quantity']}"] if units != rec["quantity"] else []
    made = {
        "quantity": units,
        "transfer": transfer_id,
        "changes": changes,
        "link": {"transfer_id": transfer_id},
    }
    return made, facts
