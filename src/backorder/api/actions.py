"""What an operator can do from the dashboard's record pages: each a form that posts to
`/records/<record>/<verb>` and runs the SAME use case as the API's route for it, checked the
same way (the session's role must hold the route's permission), then redirects back to the
record with what happened (Post/Redirect/Get; the outcome rides in a one-time cookie).

A form is CSRF-safe twice over: it carries a token bound to the session (an HMAC of the
session's secret, which another site cannot read), and a browser that says the form came
from another site (`Origin`, `Sec-Fetch-Site`) is refused. Bad input changes nothing and
comes back as one clear sentence."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote

from pydantic import BaseModel, ValidationError

from backorder.api.review import TaskDoneIn
from backorder.api.schemas import (
    CancelIn,
    DiscardIn,
    PoRedateIn,
    PoReduceIn,
    ReceiptAtIn,
    ShipIn,
    StockLevelAtIn,
)
from backorder.domain.access import Permission
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services import po_approval, supply
from backorder.services.context import Backorder
from backorder.services.dashboard import RECORDS, order_link
from backorder.services.ingest import discard, replay
from backorder.services.links import segment
from backorder.services.notifications import retry as retry_notifications
from backorder.services.orders import cancel_order, expedite_order, ship_order
from backorder.services.replenishment_decisions import Change, accept, reject
from backorder.services.stock import receive_stock, set_stock
from backorder.services.tasks import finish_task
from backorder.words import count, day

M = TypeVar("M", bound=BaseModel)
FLASH = "backorder_flash"
CSRF_FIELD = "csrf"
MAX_FORM = 8192


def csrf_token(session_token: str) -> str:
    """The token a session's forms carry: another site can neither read nor make it."""
    return hmac.new(session_token.encode(), b"dashboard-form", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(session_token), given)


def flash_cookie(ok: bool, text: str) -> str:
    return quote(json.dumps({"ok": ok, "text": text[:500]}))


def read_flash(value: str | None) -> dict[str, Any] | None:
    """The outcome a redirect left for the page, once; anything else is ignored."""
    if not value:
        return None
    try:
        flash = json.loads(unquote(value))
    except ValueError:
        return None
    if not isinstance(flash, dict) or not isinstance(flash.get("text"), str):
        return None
    return {"ok": bool(flash.get("ok")), "text": flash["text"]}


class FormProblem(Exception):
    """Input a form cannot take; the message says which field and why."""


# --- reading a form ---------------------------------------------------------------------


def parse_form(body: bytes) -> dict[str, str]:
    if len(body) > MAX_FORM:
        raise FormProblem("the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0].strip() for name, values in fields.items()}


def _whole(fields: dict[str, str], name: str, label: str) -> int | None:
    """A whole number from a form field; empty is None."""
    text = fields.get(name, "")
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,12}", text):
        raise FormProblem(f"{label} must be a whole number, not {text!r}")
    return int(text)


def _day(fields: dict[str, str], name: str, label: str) -> str:
    """A date from a form field (YYYY-MM-DD, as a date input sends it), as the API takes it."""
    text = fields.get(name, "")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise FormProblem(f"{label} must be a date (YYYY-MM-DD), not {text!r}") from None
    return text


LABELS = {
    "line": "the line",
    "qty": "the units",
    "on_hand": "the count",
    "quantity": "the quantity",
    "reason": "the reason",
    "note": "the note",
    "tracking": "the tracking number",
    "expected_on": "the date",
    "sku": "the SKU",
    "location": "the location",
}


def _body(model: type[M], values: dict[str, Any]) -> M:
    """The API's own request body, so a form is held to the same bounds as the API."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = LABELS.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else ""
        message = first["msg"].removeprefix("Value error, ")
        message = message[0].lower() + message[1:]
        raise FormProblem(f"{where}: {message}" if where else message) from None


# --- the actions ------------------------------------------------------------------------

Done = tuple[str, str]  # (what happened, the record page to go back to)


def _cancel(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    ref = ids["ref"]
    body = _body(
        CancelIn,
        {
            "line": _whole(fields, "line", "the line"),
            "qty": _whole(fields, "qty", "the units"),
            "reason": fields.get("reason") or None,
        },
    )
    result = cancel_order(app, ref, body.line, body.qty, body.reason)
    what = f"{ref} line {body.line}" if body.line else ref
    text = f"Cancelled {count(result.units, 'unit')} of {what}"
    if result.reallocated:
        text += f"; {count(result.reallocated, 'unit')} went to the next in the queue"
    return text, order_link(ref)


def _ship(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    ref = ids["ref"]
    body = _body(ShipIn, {"tracking": fields.get("tracking") or None})
    result = ship_order(app, ref, body.tracking)
    tracking = f" with tracking {body.tracking}" if body.tracking else ""
    rest = "" if result.complete else "; more is still open"
    return f"Shipped {count(result.units, 'unit')} of {ref}{tracking}{rest}", order_link(ref)


def _expedite(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    ref = ids["ref"]
    moved = expedite_order(app, ref)
    return f"Expedited {ref}: {count(moved, 'waiting line')} moved up", order_link(ref)


def _product_page(sku: str) -> str:
    return f"{RECORDS}/products/{segment(sku)}"


def _stock_words(change: Any) -> str:
    """What a receipt or count left: the product's figures over all its locations."""
    served = (
        f"; {count(change.units_allocated, 'unit')} went to "
        f"{count(change.lines_served, 'waiting line')}"
        if change.lines_served
        else ""
    )
    back = (
        f"; {count(change.units_taken_back, 'unit')} went back to waiting"
        if (change.units_taken_back)
        else ""
    )
    return f"on hand {change.on_hand} in all, available {change.available}{served}{back}"


def _location(app: Backorder, fields: dict[str, str]) -> str:
    """The location the form names (its select); none given: the default location. The use
    case refuses an unknown or inactive one in words."""
    return fields.get("location") or app.settings.default_location


def _receive(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    """A receipt at the chosen location; a purchase order's receipt arrives where that
    order arrives, so naming another location is refused (the use case says where)."""
    sku = ids["sku"]
    body = _body(
        ReceiptAtIn,
        {
            "qty": _whole(fields, "qty", "the units"),
            "ref": fields.get("ref") or None,
            "location": _location(app, fields),
        },
    )
    change = receive_stock(app, sku, body.qty, body.ref, body.location)
    text = f"Received {count(body.qty, 'unit')} of {sku} at {body.location}"
    return f"{text}: {_stock_words(change)}", _product_page(sku)


def _count(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    sku = ids["sku"]
    body = _body(
        StockLevelAtIn,
        {"on_hand": _whole(fields, "on_hand", "the count"), "location": _location(app, fields)},
    )
    change = set_stock(app, sku, body.on_hand, body.ref, body.location)
    text = f"Counted {count(body.on_hand, 'unit')} of {sku} on hand at {body.location}"
    return f"{text}: {_stock_words(change)}", _product_page(sku)


def _po_page(po: str) -> str:
    return f"{RECORDS}/purchase-orders/{segment(po)}"


def _redate(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    po = ids["po"]
    body = _body(
        PoRedateIn,
        {"sku": fields.get("sku", ""), "expected_on": _day(fields, "expected_on", "the date")},
    )
    supply.redate_purchase_order(app, po, body.sku, body.expected_on)
    when = day(body.expected_on, today=app.now().date())
    return f"{po}: {body.sku} is now expected on {when}", _po_page(po)


def _reduce(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    po = ids["po"]
    body = _body(
        PoReduceIn,
        {"sku": fields.get("sku", ""), "quantity": _whole(fields, "quantity", "the quantity")},
    )
    supply.reduce_purchase_order(app, po, body.sku, body.quantity)
    return f"{po}: {body.sku} reduced to {count(body.quantity, 'unit')} in all", _po_page(po)


def _task_done(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    task = _whole(ids, "task", "the task")
    body = _body(TaskDoneIn, {"note": fields.get("note") or None})
    finish_task(app, task or 0, body.note)
    return f"Closed task {task}" + (" with a note" if body.note else ""), f"{RECORDS}/tasks"


DEAD_LETTERS = f"{RECORDS}/intake/dead-letters"


def _replay(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    payload = _whole(ids, "payload", "the dead letter") or 0
    outcomes = replay(app, payload)
    if not outcomes:
        raise InvalidRequest(f"no dead letter {payload}")
    taken = [o.ref for o in outcomes if o.state in ("accepted", "duplicate")]
    if taken:
        return f"Replayed dead letter {payload}: took in {', '.join(map(str, taken))}", (
            DEAD_LETTERS
        )
    return f"Replayed dead letter {payload}: it is still refused", DEAD_LETTERS


def _discard(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    payload = _whole(ids, "payload", "the dead letter") or 0
    body = _body(DiscardIn, {"reason": fields.get("reason", "")})
    discard(app, payload, body.reason)
    return f"Discarded dead letter {payload}: {body.reason}", DEAD_LETTERS


# Restock recommendations and draft purchase orders (the replenishment page). `act` puts who
# took the decision ("dashboard:<key name>") in the form's `_by`, over anything posted there.
REPLENISHMENT_PAGE = "/dashboard/replenishment"


def _accept(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    change = Change(_whole(fields, "quantity", "the quantity"), fields.get("supplier") or None)
    if change.quantity is not None and change.quantity < 1:
        raise FormProblem("the quantity must be at least 1")
    view = accept(app, int(ids["recommendation"]), fields["_by"], change)
    if view["kind"] == "transfer":
        made = f"planned transfer {view['transfer']}"
    else:
        po = view["purchase_order"]
        made = f"{po['po']} ({'awaiting approval' if po['approval'] == 'pending' else 'approved'})"
    changed = f"; {'; '.join(view['changes'])}" if view["changes"] else ""
    return f"Accepted {count(view['quantity'], 'unit')}: {made}{changed}", REPLENISHMENT_PAGE


def _reject(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    reject(app, int(ids["recommendation"]), fields["_by"], fields.get("note") or None)
    return f"Rejected recommendation {ids['recommendation']}", REPLENISHMENT_PAGE


def _approve_po(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    po_approval.approve(app, ids["po"], fields["_by"])
    return f"Approved {ids['po']}: it goes to the supplier", REPLENISHMENT_PAGE


def _reject_po(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    po_approval.reject(app, ids["po"], fields["_by"], fields.get("note") or None)
    return f"Rejected {ids['po']}: it will not be sent", REPLENISHMENT_PAGE


def _retry(app: Backorder, ids: dict[str, str], fields: dict[str, str]) -> Done:
    delivery = _whole(ids, "delivery", "the message") or 0
    retry_notifications(app, delivery)
    return f"Message {delivery} will be sent again now", f"{RECORDS}/notifications/failed"


@dataclass(frozen=True)
class Action:
    path: re.Pattern[str]
    permission: Permission  # what the API's route for it needs
    run: Callable[[Backorder, dict[str, str], dict[str, str]], Done]


SEGMENT = r"[^/]+"
PURCHASE = Permission.PURCHASE
NUMBER = r"[1-9][0-9]{0,15}"
ACTIONS = [
    Action(re.compile(rf"orders/(?P<ref>{SEGMENT})/cancel"), Permission.CHANGE_ORDERS, _cancel),
    Action(re.compile(rf"orders/(?P<ref>{SEGMENT})/ship"), Permission.CHANGE_ORDERS, _ship),
    Action(re.compile(rf"orders/(?P<ref>{SEGMENT})/expedite"), Permission.CHANGE_ORDERS, _expedite),
    Action(re.compile(rf"stock/(?P<sku>{SEGMENT})/receipts"), Permission.STOCK, _receive),
    Action(re.compile(rf"stock/(?P<sku>{SEGMENT})/count"), Permission.STOCK, _count),
    Action(re.compile(rf"purchase-orders/(?P<po>{SEGMENT})/redate"), Permission.STOCK, _redate),
    Action(re.compile(rf"purchase-orders/(?P<po>{SEGMENT})/reduce"), Permission.STOCK, _reduce),
    Action(re.compile(rf"tasks/(?P<task>{NUMBER})/done"), Permission.REVIEW, _task_done),
    Action(
        re.compile(rf"intake/dead-letters/(?P<payload>{NUMBER})/replay"),
        Permission.INTAKE,
        _replay,
    ),
    Action(
        re.compile(rf"intake/dead-letters/(?P<payload>{NUMBER})/discard"),
        Permission.INTAKE,
        _discard,
    ),
    Action(re.compile(rf"notifications/(?P<delivery>{NUMBER})/retry"), Permission.NOTIFY, _retry),
    Action(re.compile(rf"replenishment/(?P<recommendation>{NUMBER})/accept"), PURCHASE, _accept),
    Action(re.compile(rf"replenishment/(?P<recommendation>{NUMBER})/reject"), PURCHASE, _reject),
    Action(re.compile(rf"purchase-orders/(?P<po>{SEGMENT})/approve"), PURCHASE, _approve_po),
    Action(re.compile(rf"purchase-orders/(?P<po>{SEGMENT})/reject"), PURCHASE, _reject_po),
]


def find_action(path: str) -> tuple[Action, dict[str, str]] | None:
    """The action a raw record path names, with its targets percent-decoded."""
    for action in ACTIONS:
        found = action.path.fullmatch(path)
        if found is not None:
            return action, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def perform(
    app: Backorder, action: Action, ids: dict[str, str], fields: dict[str, str]
) -> tuple[bool, str, str | None]:
    """Run the action: (whether it was done, what to say, where to go back to)."""
    try:
        text, back = action.run(app, ids, fields)
    except FormProblem as problem:
        return False, f"Nothing was changed: {problem}", None
    except BackorderError as error:
        return False, f"Nothing was changed: {error}", None
    return True, text, back
