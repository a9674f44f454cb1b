"""How the dashboard's record pages read: field names in words ("queue class", not
`rank_class`), dates in words with the ISO date on hover, and the forms a role may use on
each record (api/actions.py runs them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

from markupsafe import Markup

from backorder.domain.access import Permission, Role, may
from backorder.services.dashboard import RECORDS
from backorder.services.links import segment
from backorder.words import day

# Field names as people say them; any other name reads with its underscores as spaces.
LABELS = {
    "ref": "order",
    "order_ref": "order",
    "external_id": "channel's order id",
    "display_number": "order number",
    "placed_at": "placed",
    "received_at": "received",
    "sms_consent": "SMS consent",
    "rank_class": "queue class",
    "base_class": "queue class at intake",
    "eta": "expected",
    "eta_told": "customer was told",
    "on_hand": "on hand",
    "backordered": "waiting",
    "allocated": "ready to ship",
    "qty": "units",
    "due_on": "due",
    "due_at": "due",
    "opened_at": "opened",
    "done_at": "done",
    "done_by": "done by",
    "created_at": "created",
    "closed_at": "closed",
    "shipped_at": "shipped",
    "checked_at": "last reviewed",
    "checked_status": "review found",
    "expected_on": "expected",
    "first_expected_on": "first expected",
    "last_received_at": "last received",
    "age_hours": "age (hours)",
    "max_per_customer": "most per customer",
    "lead_time_days": "lead time (days)",
    "backorder_cap": "most units waiting",
    "backorder_until": "backorders until",
    "require_known_date": "needs a known date",
    "max_lead_days": "longest wait (days)",
    "min_on_time_percent": "least supplier on-time %",
    "payment_timing": "payment taken",
    "unit_price": "unit price",
    "at": "when",
    "position": "queue position",
    "last_error": "last error",
    "sku": "SKU",
    "skus": "SKUs",
    "po": "purchase order",
}
ISO = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")


def label(name: Any) -> str:
    text = str(name)
    return LABELS.get(text, text.replace("_", " "))


def when(value: Any, today: date | None = None) -> Markup | None:
    """An ISO date or time as words ("Thursday, January 14", "… at 09:30 UTC") with the ISO
    form on hover and for machines (<time>); None for anything else."""
    if not isinstance(value, str) or not ISO.fullmatch(value):
        return None
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            words = f"{day(moment.date(), today=today)} at {moment:%H:%M} UTC"
        else:
            words = day(date.fromisoformat(value), today=today)
    except ValueError:
        return None
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(value, words)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, number, date, hidden, select
    value: str = ""  # a select's chosen option
    required: bool = False
    placeholder: str = ""
    options: tuple[tuple[str, str], ...] = ()  # a select's (value, text)


@dataclass(frozen=True)
class Form:
    action: str  # the URL the form posts to
    button: str
    permission: Permission  # what the API's route for it needs
    fields: tuple[Field, ...] = ()
    danger: bool = False


def order_forms(ref: str) -> list[Form]:
    base = f"{RECORDS}/orders/{segment(ref)}"
    return [
        Form(
            f"{base}/ship",
            "Ship what is ready",
            Permission.CHANGE_ORDERS,
            (Field("tracking", "Tracking number", placeholder="optional"),),
        ),
        Form(f"{base}/expedite", "Expedite", Permission.CHANGE_ORDERS),
        Form(
            f"{base}/cancel",
            "Cancel the order",
            Permission.CHANGE_ORDERS,
            (Field("reason", "Reason", placeholder="optional"),),
            danger=True,
        ),
    ]


def line_forms(ref: str, line: dict[str, Any]) -> list[Form]:
    if not line.get("allocated") and not line.get("backordered"):
        return []
    return [
        Form(
            f"{RECORDS}/orders/{segment(ref)}/cancel",
            "Cancel",
            Permission.CHANGE_ORDERS,
            (
                Field("line", "Line", "hidden", str(line["line"])),
                Field("qty", "Units", "number", placeholder="all"),
                Field("reason", "Reason", placeholder="reason"),
            ),
            danger=True,
        )
    ]


@dataclass(frozen=True)
class Places:
    """Where stock can be received or counted: the active locations (code, name) in
    sourcing order, and the one a form starts at (BACKORDER_DEFAULT_LOCATION)."""

    active: tuple[tuple[str, str], ...]
    default: str


def _location_field(places: Places) -> Field:
    codes = [code for code, _ in places.active]
    chosen = places.default if places.default in codes else (codes[0] if codes else "")
    options = tuple(
        (code, f"{code} ({name})" if name and name != code else code)
        for code, name in places.active
    )
    return Field("location", "At location", "select", chosen, required=True, options=options)


def stock_forms(sku: str, places: Places) -> list[Form]:
    base = f"{RECORDS}/stock/{segment(sku)}"
    at = _location_field(places)
    return [
        Form(
            f"{base}/receipts",
            "Receive",
            Permission.STOCK,
            (
                Field("qty", "Units received", "number", required=True),
                at,
                Field("ref", "Receipt reference", placeholder="optional: a PO number"),
            ),
        ),
        Form(
            f"{base}/count",
            "Set the count",
            Permission.STOCK,
            (Field("on_hand", "Units counted on hand", "number", required=True), at),
        ),
    ]


def _po_line_forms(po: str, line: dict[str, Any]) -> list[Form]:
    if not line.get("outstanding"):
        return []
    base, sku = f"{RECORDS}/purchase-orders/{segment(po)}", str(line.get("sku", ""))
    return [
        Form(
            f"{base}/redate",
            "Redate",
            Permission.STOCK,
            (
                Field("sku", "SKU", "hidden", sku),
                Field("expected_on", "Expected on", "date", required=True),
            ),
        ),
        Form(
            f"{base}/reduce",
            "Reduce",
            Permission.STOCK,
            (
                Field("sku", "SKU", "hidden", sku),
                Field("quantity", "Units in all", "number", required=True, placeholder="in all"),
            ),
            danger=True,
        ),
    ]


def _task_forms(task: dict[str, Any]) -> list[Form]:
    if task.get("state") != "open":
        return []
    return [
        Form(
            f"{RECORDS}/tasks/{task['id']}/done",
            "Close",
            Permission.REVIEW,
            (Field("note", "Note", placeholder="what was done"),),
        )
    ]


def _dead_letter_forms(letter: dict[str, Any]) -> list[Form]:
    base = f"{RECORDS}/intake/dead-letters/{letter['id']}"
    return [
        Form(f"{base}/replay", "Replay", Permission.INTAKE),
        Form(
            f"{base}/discard",
            "Discard",
            Permission.INTAKE,
            (Field("reason", "Reason", required=True, placeholder="why"),),
            danger=True,
        ),
    ]


def _failed_forms(message: dict[str, Any]) -> list[Form]:
    return [Form(f"{RECORDS}/notifications/{message['id']}/retry", "Retry", Permission.NOTIFY)]


RowForms = Callable[[str | None, Any], list[Form]]


def row_forms_of(path: str, answer: Any, role: Role) -> RowForms:
    """The forms beside each row of a record page's tables, as far as the role may use them:
    `(the list's field name, None at the top; the row) -> forms`."""

    def forms(key: str | None, row: Any) -> list[Form]:
        if not isinstance(row, dict):
            return []
        found: list[Form] = []
        if path.startswith("purchase-orders/") and key == "lines" and isinstance(answer, dict):
            found = _po_line_forms(str(answer.get("po", "")), row)
        elif path == "tasks" and key is None and "id" in row:
            found = _task_forms(row)
        elif path == "intake/dead-letters" and key is None and "id" in row:
            found = _dead_letter_forms(row)
        elif path == "notifications/failed" and key is None and "id" in row:
            found = _failed_forms(row)
        return [form for form in found if may(role, form.permission)]

    return forms


def stock_page_sku(path: str) -> str | None:
    """The SKU whose stock forms head a record page (its queue and stock pages), or None."""
    for prefix in ("queues/", "stock/"):
        rest = path.removeprefix(prefix)
        if rest != path and rest and "/" not in rest:
            return unquote(rest)
    return None


def page_forms(path: str, role: Role, places: Places) -> list[Form]:
    """The forms at the head of a record page (a SKU's stock, on its queue and stock
    pages), as far as the role may use them."""
    sku = stock_page_sku(path)
    return allowed([] if sku is None else stock_forms(sku, places), role)


def allowed(forms: list[Form], role: Role) -> list[Form]:
    return [form for form in forms if may(role, form.permission)]
