"""The procurement manager's approval tasks (kind `approve_po`): one open task per SKU (the
tasks' rule), listing the draft purchase orders of that SKU awaiting approval with their
facts (supplier, location, value, why a person decides, lines); a task with none left is
done. The daily review never closes them: approving or rejecting the drafts does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from backorder.domain.events import Event, TaskDone, TaskOpened
from backorder.store.supply import po_line_rows, po_row
from backorder.store.tables import tasks

TASK = "approve_po"


@dataclass(frozen=True)
class Why:
    """Why a person must approve a draft, its value (None: unknown) and when asked."""

    reason: str
    value: Decimal | None
    now: datetime


# The procurement manager's task: one open task per SKU (the tasks' rule), listing the
# purchase orders of that SKU awaiting approval, with their facts.


def ask(conn: Connection, ref: str, why: Why) -> list[Event]:
    """Ask the procurement manager to approve a draft: on the open task of each of its SKUs,
    or a new one."""
    now, value = why.now, why.value
    po = po_row(conn, ref)
    assert po is not None
    entry = {
        "po": ref,
        "supplier": po["supplier_id"],
        "location": po["location"],
        "value": None if value is None else f"{value:.2f}",
        "why": why.reason,
        "lines": [
            {"sku": line["sku"], "units": line["ordered"], "expected_on": str(line["expected_on"])}
            for line in po_line_rows(conn, po["id"])
        ],
        "approve": f"backorder po approve {ref}",
    }
    facts: list[Event] = []
    for sku in sorted({line["sku"] for line in entry["lines"]}):
        t = tasks.c
        open_task = (
            conn.execute(select(tasks).where(t.kind == TASK, t.sku == sku, t.state == "open"))
            .mappings()
            .first()
        )
        if open_task is not None:
            waiting = [*open_task["facts"].get("purchase_orders", []), entry]
            conn.execute(
                update(tasks)
                .where(t.id == open_task["id"])
                .values(
                    facts=dict(open_task["facts"]) | {"purchase_orders": waiting},
                    title=_title(sku, waiting),
                )
            )
            continue
        title = _title(sku, [entry])
        task_id = conn.execute(
            insert(tasks)
            .values(
                kind=TASK,
                role="procurement",
                sku=sku,
                state="open",
                title=title,
                facts={"purchase_orders": [entry]},
                orders=[],
                due_on=now.date(),
                opened_at=now,
            )
            .returning(t.id)
        ).scalar_one()
        facts.append(
            TaskOpened(
                task_id=int(task_id),
                kind=TASK,
                role="procurement",
                sku=sku,
                title=title,
                due_on=now.date(),
                orders=(),
            )
        )
    return facts


def _title(sku: str, waiting: list[dict[str, Any]]) -> str:
    if len(waiting) == 1:
        return f"Approve purchase order {waiting[0]['po']} ({sku}): {waiting[0]['why']}"[:300]
    refs = ", ".join(entry["po"] for entry in waiting)
    return f"Approve {len(waiting)} purchase orders of {sku}: {refs}"[:300]


def settle(conn: Connection, ref: str, note: str, now: datetime) -> list[Event]:
    """Take a purchase order off the approval tasks; a task with none left is done."""
    facts: list[Event] = []
    t = tasks.c
    for task in conn.execute(select(tasks).where(t.kind == TASK, t.state == "open")).mappings():
        listed = task["facts"].get("purchase_orders", [])
        left = [entry for entry in listed if entry.get("po") != ref]
        if len(left) == len(listed):
            continue
        values: dict[str, Any] = {
            "facts": dict(task["facts"]) | {"purchase_orders": left},
            "title": _title(task["sku"], left) if left else task["title"],
        }
        if not left:
            values |= {"state": "done", "done_at": now, "done_by": "staff", "note": note}
            facts.append(
                TaskDone(
                    task_id=task["id"],
                    kind=TASK,
                    role="procurement",
                    sku=task["sku"],
                    done_by="staff",
                    note=note,
                )
            )
        conn.execute(update(tasks).where(t.id == task["id"]).values(values))
    return facts
