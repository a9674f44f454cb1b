"""Customer self-service links: a signed, expiring token that opens one order, so a customer
can see it with its expected dates and cancel what has not shipped."""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.services.context import Backorder
from backorder.services.delays import accept_delay, cancel_delayed
from backorder.services.links import segment
from backorder.services.orders import Cancelled, cancel_order, find_order
from backorder.services.preferences import set_preference
from backorder.services.substitute_answers import accept_offer, decline_offer
from backorder.services.views import order_view
from backorder.store.tables import secrets

SECRET_NAME = "customer_links"
SALT = "backorder.customer-order"
SELF_SERVICE = "customer_self_service"


class LinkRefused(BackorderError):
    """A customer token that is forged, expired, or for another order."""


class FormRefused(BackorderError):
    """A form posted to the customer's page without the token its page gave it (a form made
    on another site: cross-site request forgery)."""


@dataclass(frozen=True)
class CustomerLink:
    url: str
    token: str
    expires_at: datetime


_MAKE_SECRET = {
    name: dialect.insert(secrets).on_conflict_do_nothing(index_elements=["name"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def stored_secret(app: Backorder, name: str) -> str:
    """A signing key made on first use and kept in the database, so every process of this
    deployment signs and checks alike."""
    query = select(secrets.c.value).where(secrets.c.name == name)
    with app.db.read() as uow:
        known = uow.connection.execute(query).scalar_one_or_none()
    if known is not None:
        return str(known)
    with app.db.write() as uow:
        values = {"name": name, "value": random_secrets.token_urlsafe(48), "created_at": app.now()}
        uow.connection.execute(_MAKE_SECRET[uow.dialect], values)
        value = uow.connection.execute(query).scalar_one()
        uow.commit()
    return str(value)


def _signer(app: Backorder) -> URLSafeSerializer:
    return URLSafeSerializer(stored_secret(app, SECRET_NAME), salt=SALT)


def mint_link(app: Backorder, ref: str) -> CustomerLink:
    with app.db.read() as uow:
        find_order(uow, ref)
    expires = app.now() + timedelta(days=app.settings.customer_link_days)
    token = _signer(app).dumps({"ref": ref, "exp": int(expires.timestamp())})
    base = app.settings.public_url.rstrip("/")
    url = f"{base}/api/v1/customer/orders/{segment(ref)}?token={token}"
    return CustomerLink(url, token, expires)


def delay_page(app: Backorder, ref: str, token: str) -> str:
    """The page of a delay notice's two links (accept the delay, cancel the delayed lines):
    it shows what is delayed and asks the customer to confirm the choice."""
    base = app.settings.public_url.rstrip("/")
    return f"{base}/customer/orders/{segment(ref)}/delay?token={token}"


def _check(app: Backorder, ref: str, token: str) -> None:
    try:
        claims = _signer(app).loads(token)
    except BadSignature:
        raise LinkRefused("this link is not valid") from None
    if not isinstance(claims, dict) or claims.get("ref") != ref:
        raise LinkRefused("this link is for another order")
    if app.now().timestamp() > claims.get("exp", 0):
        raise LinkRefused("this link has expired; ask for a new one")


def customer_view(app: Backorder, ref: str, token: str) -> dict[str, Any]:
    """What the customer sees: status, lines with expected dates, shipments."""
    _check(app, ref, token)
    view = order_view(app, ref)
    keep = (
        "line",
        "sku",
        "name",
        "variant",
        "quantity",
        "allocated",
        "backordered",
        "shipped",
        "cancelled",
        "status",
        "eta",
        "promised",
    )
    return {
        "ref": view["ref"],
        "display_number": view["display_number"],
        "status": view["status"],
        "placed_at": view["placed_at"],
        "currency": view["currency"],
        # The date a waiting line is expected is the one the customer was last told: a
        # delay notice may have padded the supply's date, and the page must not say two.
        "lines": [
            {k: line[k] for k in keep} | {"eta": line["told"] or line["eta"]}
            for line in view["lines"]
        ],
        "shipments": [
            {"tracking": s["tracking"], "at": s["at"], "units": s["units"]}
            for s in view["shipments"]
        ],
        "can_cancel": any(line["allocated"] or line["backordered"] for line in view["lines"]),
    }


def customer_delay(app: Backorder, ref: str, token: str) -> dict[str, Any]:
    """The order's delay notices as the customer sees them, with what may still be chosen."""
    _check(app, ref, token)
    view = order_view(app, ref)
    waiting = {line["line"] for line in view["lines"] if line["backordered"]}
    return {
        "ref": view["ref"],
        "delays": view["delays"],
        "can_accept": any(d["outcome"] == "pending" for d in view["delays"]),
        "can_cancel": any(d["line"] in waiting for d in view["delays"]),
    }


def customer_answer(app: Backorder, ref: str, token: str, choice: str) -> int:
    """The customer accepts the delay, or cancels the delayed lines for a refund."""
    _check(app, ref, token)
    if choice == "accept":
        return accept_delay(app, ref)
    if choice == "cancel":
        return cancel_delayed(app, ref)
    raise InvalidRequest("the choice is accept or cancel")


def customer_substitute(app: Backorder, ref: str, token: str, line_no: int, choice: str) -> None:
    """The customer takes the substitute offered for a line, or says no thanks."""
    _check(app, ref, token)
    if choice == "accept":
        accept_offer(app, ref, line_no)
    elif choice == "decline":
        decline_offer(app, ref, line_no)
    else:
        raise InvalidRequest("the choice is accept or decline")


def customer_unsubscribe(app: Backorder, ref: str, token: str) -> str:
    """The customer of the order stops our e-mail (the link in every message); their id."""
    _check(app, ref, token)
    customer = order_view(app, ref)["customer"]["id"]
    set_preference(app, customer, "email", opted_out=True)
    return str(customer)


def customer_cancel(app: Backorder, ref: str, token: str) -> Cancelled:
    """Cancel everything not yet shipped."""
    _check(app, ref, token)
    return cancel_order(app, ref, reason=SELF_SERVICE)


def customer_cancel_line(app: Backorder, ref: str, token: str, line_no: int) -> Cancelled:
    """Cancel what has not shipped of one line; a line with nothing open left (shipped, or
    cancelled a moment ago in another tab) is refused as ImpossibleCancel."""
    _check(app, ref, token)
    return cancel_order(app, ref, line_no, reason=SELF_SERVICE)


def customer_order(app: Backorder, ref: str, token: str) -> dict[str, Any]:
    """Everything the customer's order page shows: the order's view (lines with names and
    what was cancelled and why, shipments, delay notices, the customer's language)."""
    _check(app, ref, token)
    return order_view(app, ref)


def form_token(app: Backorder, ref: str, token: str) -> str:
    """The hidden field of the customer's page's forms: an HMAC of the link's token, with the
    links' own stored secret, so only a page opened with the link can post."""
    key = stored_secret(app, SECRET_NAME).encode()
    return hmac.new(key, f"form\n{ref}\n{token}".encode(), hashlib.sha256).hexdigest()


def check_form(app: Backorder, ref: str, token: str, given: str) -> None:
    _check(app, ref, token)
    if not hmac.compare_digest(form_token(app, ref, token), given):
        raise FormRefused("this form did not come from your order's page; open it again")
