"""The work the daily review hands to people (tasks) and its incident log: the review's steps
that write them, listing them, and marking a task done."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from backorder.domain.errors import InvalidRequest, UnknownTask
from backorder.domain.events import Event, IncidentLogged, TaskDone, TaskOpened
from backorder.domain.review import LateSku, mitigation, summary
from backorder.domain.supply import Inbound
from backorder.services.context import Backorder
from backorder.services.links import segment
from backorder.services.self_healing import options_facts
from backorder.store.db import batches
from backorder.store.repos import Outbox
from backorder.store.tables import incidents, tasks
from backorder.words import count

ROLES = {"procurement_review": "procurement", "correct_inbound": "inventory"}
TASK_ROLES = ("procurement", "inventory")
TASK_STATES = ("open", "done")


def _links(app: Backorder, sku: str, refs: list[str], facts: dict[str, Any]) -> dict[str, Any]:
    base = app.settings.public_url.rstrip("/") + "/api/v1"
    return {
        "product": f"{base}/products/{segment(sku)}",
        "queue": f"{base}/queues/{segment(sku)}",
        "orders": [f"{base}/orders/{segment(ref)}" for ref in refs],
        "purchase_orders": [
            f"{base}/purchase-orders/{segment(inbound['po'])}"
            for inbound in facts.get("inbound") or []
        ],
    }


def _task_view(app: Backorder, row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "role": row["role"],
        "sku": row["sku"],
        "state": row["state"],
        "title": row["title"],
        "due_on": row["due_on"].isoformat(),
        "orders": list(row["orders"]),
        "facts": dict(row["facts"]),
        "links": _links(app, row["sku"], list(row["orders"]), dict(row["facts"])),
        "opened_at": row["opened_at"].isoformat(),
        "done_at": row["done_at"].isoformat() if row["done_at"] else None,
        "done_by": row["done_by"],
        "note": row["note"],
    }


def list_tasks(
    app: Backorder,
    role: str | None = None,
    state: str | None = "open",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Tasks, soonest due first (open ones by default)."""
    if role is not None and role not in TASK_ROLES:
        raise InvalidRequest(f"unknown role {role!r}; known: {', '.join(TASK_ROLES)}")
    if state is not None and state not in TASK_STATES:
        raise InvalidRequest(f"unknown status {state!r}; known: {', '.join(TASK_STATES)}")
    query = select(tasks).order_by(tasks.c.due_on, tasks.c.id).limit(limit)
    if role is not None:
        query = query.where(tasks.c.role == role)
    if state is not None:
        query = query.where(tasks.c.state == state)
    with app.db.read() as uow:
        rows = uow.connection.execute(query).mappings().all()
    return [_task_view(app, row) for row in rows]


def get_task(app: Backorder, task_id: int) -> dict[str, Any]:
    with app.db.read() as uow:
        row = uow.connection.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise UnknownTask(task_id)
    return _task_view(app, row)


def finish_task(app: Backorder, task_id: int, note: str | None = None) -> dict[str, Any]:
    """Mark an open task done, with what was done. The review opens a new one for the SKU only
    when more orders are late than the task named."""
    if note is not None and len(note) > 2000:
        raise InvalidRequest("a note is at most 2000 characters")
    now = app.now()
    with app.db.write() as uow:
        conn = uow.connection
        row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
        if row is None:
            raise UnknownTask(task_id)
        if row["state"] != "open":
            raise InvalidRequest(f"task {task_id} is already done")
        if row["kind"] == "approve_po":
            raise InvalidRequest(
                f"task {task_id} is done by approving or rejecting its purchase order: "
                "backorder po approve REF / po reject REF"
            )
        conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(state="done", done_at=now, done_by="staff", note=note)
        )
        Outbox(conn).append(
            [
                TaskDone(
                    task_id=task_id,
                    kind=row["kind"],
                    role=row["role"],
                    sku=row["sku"],
                    done_by="staff",
                    note=note,
                )
            ],
            now,
        )
        done = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().one()
        uow.commit()
    return _task_view(app, done)


def list_incidents(
    app: Backorder, sku: str | None = None, since: date | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The incident log, newest first."""
    query = select(incidents).order_by(incidents.c.day.desc(), incidents.c.sku).limit(limit)
    if sku is not None:
        query = query.where(incidents.c.sku == sku)
    if since is not None:
        query = query.where(incidents.c.day >= since)
    with app.db.read() as uow:
        rows = uow.connection.execute(query).mappings().all()
    return [
        {
            "id": row["id"],
            "sku": row["sku"],
            "day": row["day"].isoformat(),
            "summary": row["summary"],
            "lines": row["lines"],
            "orders": list(row["orders"]),
            "units": row["units"],
            "value": str(row["value"]),
            "max_delay_days": row["max_delay_days"],
            "new_eta": row["new_eta"].isoformat() if row["new_eta"] else None,
            "supplier": row["supplier_id"],
            "plan": list(row["plan"]),
            "created_at": row["created_at"].isoformat(),
        }
        for row in rows
    ]


# --- written by the daily review ------------------------------------------------------


def _inbound(lines: Iterable[Inbound]) -> list[dict[str, Any]]:
    """A purchase order as {po, expected_on, units}; a transfer as {transfer, …}."""
    return [
        ({"transfer": i.transfer} if i.transfer is not None else {"po": i.po})
        | {"expected_on": i.expected_on.isoformat(), "units": i.units}
        for i in lines
    ]


def _task_facts(kind: str, late: LateSku, today: date) -> tuple[str, dict[str, Any]]:
    inbound = _inbound(late.inbound)
    facts: dict[str, Any] = {
        "lines": late.lines,
        "units": late.units,
        "value": str(late.value),
        "max_delay_days": late.max_delay_days,
        "supplier": late.supplier,
        "lead_time_days": late.lead_time_days,
        "inbound": inbound,
        "new_eta": late.new_eta.isoformat() if late.new_eta else None,
    }
    orders_ = len(late.orders)
    if kind == "procurement_review":
        title = (
            f"Review supply of {late.sku}: {count(orders_, 'order')} up to "
            f"{count(late.max_delay_days, 'day')} late"
        )
        facts["plan"] = mitigation(late, today)
        facts |= options_facts(dict(late.healing) if late.healing else None)
    else:
        past_due = _inbound(i for i in late.inbound if i.expected_on < today)
        title = f"Correct the expected arrivals of {late.sku}: " + (
            f"{count(len(past_due), 'purchase order line')} past due" if past_due else "check them"
        )
        facts["past_due"] = past_due
    return title, facts


def open_tasks(
    conn: Connection, kind: str, late: dict[str, LateSku], now: datetime, app: Backorder
) -> tuple[int, list[Event]]:
    """Steps 5 and 11: one open task of the kind per late SKU. An open one gets the day's
    facts; one done by staff is opened again only when more orders are late than it named."""
    if not late:
        return 0, []
    t = tasks.c
    newest: dict[str, Any] = {}
    for chunk in batches(sorted(late)):
        for row in conn.execute(
            select(tasks).where(t.kind == kind, t.sku.in_(chunk)).order_by(t.id)
        ).mappings():
            newest[row["sku"]] = row
    today = now.date()
    due = today + timedelta(days=app.settings.task_due_days)
    facts: list[Event] = []
    for sku, entry in sorted(late.items()):
        title, details = _task_facts(kind, entry, today)
        known = newest.get(sku)
        if known is not None and known["state"] == "open":
            if (known["facts"], known["orders"], known["title"]) != (
                details,
                list(entry.orders),
                title,
            ):
                conn.execute(
                    update(tasks)
                    .where(t.id == known["id"])
                    .values(facts=details, orders=list(entry.orders), title=title)
                )
            continue
        if known is not None and set(entry.orders) <= set(known["orders"]):
            continue
        task_id = conn.execute(
            insert(tasks).returning(t.id),
            {
                "kind": kind,
                "role": ROLES[kind],
                "sku": sku,
                "state": "open",
                "title": title,
                "facts": details,
                "orders": list(entry.orders),
                "due_on": due,
                "opened_at": now,
            },
        ).scalar_one()
        facts.append(
            TaskOpened(
                task_id=task_id,
                kind=kind,
                role=ROLES[kind],
                sku=sku,
                title=title,
                due_on=due,
                orders=entry.orders,
            )
        )
    return len(facts), facts


def log_incidents(conn: Connection, late: dict[str, LateSku], now: datetime) -> list[Event]:
    """Step 8: the incident log's entry of the day per late SKU."""
    if not late:
        return []
    today = now.date()
    done = {
        sku
        for chunk in batches(sorted(late))
        for sku in conn.execute(
            select(incidents.c.sku).where(incidents.c.day == today, incidents.c.sku.in_(chunk))
        ).scalars()
    }
    facts: list[Event] = []
    for sku, entry in sorted(late.items()):
        if sku in done:
            continue
        plan = mitigation(entry, today)
        text = summary(entry)
        incident_id = conn.execute(
            insert(incidents).returning(incidents.c.id),
            {
                "sku": sku,
                "day": today,
                "summary": text[:1000],
                "lines": entry.lines,
                "orders": list(entry.orders),
                "units": entry.units,
                "value": entry.value,
                "max_delay_days": entry.max_delay_days,
                "new_eta": entry.new_eta,
                "supplier_id": entry.supplier,
                "plan": plan,
                "created_at": now,
            },
        ).scalar_one()
        facts.append(
            IncidentLogged(
                incident_id=incident_id,
                sku=sku,
                day=today,
                summary=text,
                late_lines=entry.lines,
                orders=entry.orders,
                value=entry.value,
                max_delay_days=entry.max_delay_days,
                new_eta=entry.new_eta,
                plan=tuple(plan),
            )
        )
    return facts


def close_tasks(conn: Connection, late: set[str], now: datetime) -> list[Event]:
    """Step 13: open tasks of SKUs with nothing late any more are done."""
    t = tasks.c
    open_tasks = conn.execute(  # the review's own kinds (an approval waits for its decision)
        select(tasks).where(t.state == "open", t.kind.in_(list(ROLES))).order_by(t.id)
    ).mappings()
    facts: list[Event] = []
    for row in [row for row in open_tasks if row["sku"] not in late]:
        note = "nothing of this SKU is late any more"
        conn.execute(
            update(tasks)
            .where(t.id == row["id"], t.state == "open")
            .values(state="done", done_at=now, done_by="review", note=note)
        )
        facts.append(
            TaskDone(
                task_id=row["id"],
                kind=row["kind"],
                role=row["role"],
                sku=row["sku"],
                done_by="review",
                note=note,
            )
        )
    return facts
