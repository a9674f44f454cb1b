"""The customer's order page: what every link in a customer's e-mail opens in a browser. It
shows the order in the shop's name and colours (its lines by name, what shipped with tracking,
what waits with its expected date in words, what was cancelled and why), lets the customer
cancel a line or the whole order after a confirmation step, and answers a delay notice. The
same links answer JSON to programs (routes.py).

Forms post back with the link's token and a form token derived from it (CSRF), then redirect
to the page (Post/Redirect/Get), which says what was done."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder import words
from backorder.api.negotiation import prefers_html
from backorder.api.offer_words import answered, offer_rows
from backorder.api.paths import Segment
from backorder.api.problems import ApiProblem
from backorder.api.routes import App
from backorder.domain.errors import (
    BackorderError,
    ImpossibleCancel,
    InvalidRequest,
    NothingToAnswer,
    UnknownOrder,
)
from backorder.domain.reasons import reason_in_words
from backorder.domain.units import ordered_as, ordered_in_words, part_in_words
from backorder.services.context import Backorder
from backorder.services.customer_links import (
    SELF_SERVICE,
    FormRefused,
    LinkRefused,
    check_form,
    customer_answer,
    customer_cancel,
    customer_cancel_line,
    customer_delay,
    customer_order,
    customer_unsubscribe,
    form_token,
)
from backorder.services.links import segment

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
# The token is the customer's key to the order: no page of it is cached, and no link on it
# tells another site the address it came from.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
MAX_FORM = 4096
TIMES = "\u00d7"  # the multiplication sign of "2 x Blue mug"
LINE = re.compile(r"^[1-9][0-9]{0,8}$")

ORDER_STATUS = {
    "backordered": "Waiting for stock",
    "allocated": "Being prepared for shipping",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}
LINE_STATUS = {
    "backordered": "On backorder",
    "allocated": "Ready to ship",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}
# Tracking numbers whose carrier is known by their shape, and where the carrier shows them.
CARRIERS = (
    (re.compile(r"^1Z[0-9A-Z]{16}$"), "https://www.ups.com/track?tracknum={}"),
    (re.compile(r"^[0-9]{12}$|^[0-9]{15}$"), "https://www.fedex.com/fedextrack/?trknbr={}"),
    (
        re.compile(r"^(94|93|92|95)[0-9]{20}$"),
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    ),
)


def tracking_link(tracking: str) -> str | None:
    """Where the customer can follow a parcel: the tracking itself when it is a web address,
    else the carrier's page when the number's shape names the carrier; None when unknown."""
    value = tracking.strip()
    if re.match(r"^https?://\S+$", value):
        return value
    for shape, url in CARRIERS:
        if shape.match(value):
            return url.format(quote(value))
    return None


def _shop(app: Backorder) -> dict[str, Any]:
    s = app.settings
    return {
        "name": s.shop_name,
        "logo": s.shop_logo_url,
        "support": s.shop_support_email,
        "colour": s.shop_colour,
        "accent": s.shop_accent_colour,
    }


def _render(app: Backorder, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = _env.get_template(name).render(shop=_shop(app), **context)
    return HTMLResponse(page, status_code=status, headers=PRIVATE)


def _error(app: Backorder, error: BackorderError, ref: str) -> HTMLResponse:
    """The page a customer meets when the link cannot open the order: what happened in words,
    and where to ask."""
    detail = str(error)
    if isinstance(error, LinkRefused):
        status, title = 403, "This link does not open your order"
    elif isinstance(error, FormRefused):
        status, title = 403, "Nothing was changed"
    elif isinstance(error, UnknownOrder):
        status, title, detail = 404, "We cannot find this order", f"we have no order {ref}"
    elif isinstance(error, InvalidRequest):
        status, title = 404, "We cannot find this order"
    else:
        status, title = 409, "That could not be done"
    return _render(app, "customer_error.html", status, title=title, detail=detail, ref=ref)


def order_path(ref: str, token: str, **query: str) -> str:
    """The order page's address (relative to the site), with the link's token."""
    return f"/customer/orders/{segment(ref)}?{urlencode({'token': token} | query)}"


def _as_day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _charge(payment_timing: str | None, value: Decimal, currency: str, locale: str) -> str:
    """What a cancel means for the customer's money, as a shop would say it."""
    if payment_timing == "at_ship":
        return "You will not be charged for them."
    return f"You will be refunded {words.money(value, currency, locale)}."


def _price(line: dict[str, Any], units: int) -> Decimal:
    return Decimal(str(line.get("unit_price") or 0)) * units


def _item(line: dict[str, Any], units: int) -> str:
    """ "2 x Blue mug (Large)", with a multiplication sign; a line ordered in cases counts
    in cases: "3 cases of 12 (36 units) x Shop towels"."""
    name = line.get("name") or line["sku"]
    variant = f" ({line['variant']})" if line.get("variant") else ""
    return f"{_part(line, units)} {TIMES} {name}{variant}"


def _part(line: dict[str, Any], units: int) -> str:
    """Some of a line's units as the customer ordered them: "3", or for a line in cases
    "3 cases of 12 (36 units)" or "44 of 144 units (12 cases of 12)"."""
    return part_in_words(units, ordered_as(line.get("ordered")))


def order_status_words(view: dict[str, Any]) -> str:
    shipped = any(line["shipped"] for line in view["lines"])
    still_open = any(line["allocated"] or line["backordered"] for line in view["lines"])
    if shipped and still_open:
        return "Partly shipped"
    return ORDER_STATUS.get(view["status"], str(view["status"]))


def page_lines(view: dict[str, Any], locale: str, today: date) -> list[dict[str, Any]]:
    """Each line as the page shows it: its name, its status in words, and what became of its
    units (shipped, ready, waiting with the expected date, cancelled and why)."""
    shown = []
    for line in view["lines"]:
        parts: list[str] = []
        ordered = ordered_as(line.get("ordered"))
        if line["shipped"]:
            parts.append(f"{_part(line, line['shipped'])} shipped")
        if line["allocated"]:
            parts.append(f"{_part(line, line['allocated'])} ready, being prepared for shipping")
        if line["backordered"]:
            expected = _as_day(line.get("told") or line.get("eta"))  # as the customer was told
            waiting = _part(line, line["backordered"])
            if expected is not None:
                when = words.day(expected, locale, today)
                parts.append(f"{waiting} on backorder, expected to ship by {when}")
            else:
                parts.append(
                    f"{waiting} on backorder; we will tell you the date as soon as we know it"
                )
        for cancelled in line.get("cancellations", []):
            units = _part(line, cancelled["units"])
            parts.append(f"{units} cancelled: {reason_in_words(cancelled['reason'])}")
        open_units = line["allocated"] + line["backordered"]
        shown.append(
            {
                "number": line["line"],
                "name": line.get("name") or line["sku"],
                "variant": line.get("variant"),
                "sku": line["sku"],
                "quantity": line["quantity"],
                # "12 cases of 12 (144 units)" for a line in cases, else the number
                "quantity_words": ordered_in_words(line["quantity"], ordered),
                # what a cancel of the line would take: "3 items", or "44 units" in cases
                "open_words": words.count(open_units, "unit" if ordered else "item"),
                "status": line["status"],
                "status_words": LINE_STATUS.get(line["status"], line["status"]),
                "parts": parts,
                "open": open_units,
                "total": words.money(_price(line, line["quantity"]), view["currency"], locale),
            }
        )
    return shown


def _delays(view: dict[str, Any], locale: str, today: date) -> dict[str, Any] | None:
    """The delay notices the customer may still answer, in words; None when there is none."""
    waiting = {line["line"]: line for line in view["lines"] if line["backordered"]}
    latest = {d["line"]: d for d in view.get("delays", [])}  # by line, then notice: the last
    live = [
        d
        for d in latest.values()
        if d["outcome"] in ("pending", "informed", "consented", "accepted") and d["line"] in waiting
    ]
    if not live:
        return None
    rows = []
    for d in live:
        missed, revised, by = (_as_day(d.get(k)) for k in ("missed", "revised", "answer_by"))
        rows.append(
            {
                "item": _item(waiting[d["line"]], d["backordered"]),
                "missed": words.day(missed, locale, today) if missed else "",
                "revised": words.day(revised, locale, today) if revised else None,
                "answer_by": words.day(by, locale, today) if by else None,
                "accepted": d["outcome"] in ("accepted", "consented"),
            }
        )
    return {"rows": rows, "can_accept": any(d["outcome"] == "pending" for d in live)}


def _done(view: dict[str, Any], what: str, locale: str) -> str | None:
    """What the customer just cancelled (the redirect after the form says which), from the
    order's own record of it: "You cancelled 2 x Blue mug. You will be refunded $40.00." """
    mine = [
        (line, line["cancellations"][-1])
        for line in view["lines"]
        if line.get("cancellations") and line["cancellations"][-1]["reason"] == SELF_SERVICE
    ]
    if what == "all":
        if not mine:
            return None
        latest = max(entry["at"] for _, entry in mine)
        mine = [(line, entry) for line, entry in mine if entry["at"] == latest]
    else:
        mine = [(line, entry) for line, entry in mine if str(line["line"]) == what]
    if not mine:
        return None
    items = ", ".join(_item(line, entry["units"]) for line, entry in mine)
    value = sum((_price(line, entry["units"]) for line, entry in mine), Decimal(0))
    charge = _charge(view.get("payment_timing"), value, view["currency"], locale)
    return f"You cancelled {items}. {charge}"


def _context(app: Backorder, ref: str, token: str, view: dict[str, Any]) -> dict[str, Any]:
    locale = words.locale_of(
        (view.get("customer") or {}).get("language"), app.settings.shop_language
    )
    today = app.now().date()
    placed = datetime.fromisoformat(view["placed_at"]).date()
    lines = page_lines(view, locale, today)
    offers = offer_rows(view.get("substitutes", []), view, locale, app.now())
    return {
        "ref": ref,
        "token": token,
        "number": view["display_number"],
        "status_words": order_status_words(view),
        "order_status": view["status"],
        "placed": words.day(placed, locale, today),
        "lines": lines,
        "can_cancel": any(line["open"] for line in lines),
        "shipments": [
            {
                "day": words.day(_as_day(s["at"]) or today, locale, today),
                "units": words.count(s["units"], "item"),
                "tracking": s["tracking"],
                "link": tracking_link(s["tracking"]) if s["tracking"] else None,
            }
            for s in view["shipments"]
        ],
        "delay": _delays(view, locale, today),
        "offers": offers,
        "offer_action": f"/customer/orders/{segment(ref)}/substitute?{urlencode({'token': token})}",
        "offer_form": form_token(app, ref, token) if offers else None,
        "page": order_path(ref, token),
        "cancel": f"/customer/orders/{segment(ref)}/cancel?{urlencode({'token': token})}",
        "delay_page": f"/customer/orders/{segment(ref)}/delay?{urlencode({'token': token})}",
        "locale": locale,
    }


Ref = Annotated[str, Segment]


@pages.get("/customer/orders/{ref}")
def order_page(
    ref: Ref,
    app: App,
    token: str = "",
    cancelled: str = "",
    unsubscribed: str = "",
    offer: str = "",
) -> HTMLResponse:
    """The order as its customer sees it; after a cancel, what was cancelled; after an answer
    to a substitute offer, what it did."""
    try:
        view = customer_order(app, ref, token)
    except BackorderError as error:
        return _error(app, error, ref)
    context = _context(app, ref, token, view)
    done = _done(view, cancelled, context["locale"]) if cancelled else None
    if offer:
        done = answered(view.get("substitutes", []), view, offer)
    if unsubscribed:
        done = UNSUBSCRIBED
    return _render(app, "customer_order.html", **context, done=done)


def _target(view: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """The lines a cancel would touch, with units still open: one line, or all of them."""
    if line and not LINE.fullmatch(line):
        raise InvalidRequest(f"order {view['ref']} has no line {line}")
    lines = [ln for ln in view["lines"] if not line or str(ln["line"]) == line]
    if line and not lines:
        raise InvalidRequest(f"order {view['ref']} has no line {line}")
    return [ln for ln in lines if ln["allocated"] or ln["backordered"]]


def _nothing_left(
    app: Backorder, ref: str, token: str, view: dict[str, Any], line: str
) -> HTMLResponse:
    """A cancel of what has shipped or was cancelled already (a second tab, a double click):
    the order page as it now stands, saying so."""
    context = _context(app, ref, token, view)
    if line:
        named = next((ln for ln in context["lines"] if str(ln["number"]) == line), None)
        what = named["name"] if named else f"line {line}"
        notice = f"Nothing was cancelled: {what} has already shipped or been cancelled."
    else:
        notice = "Nothing was cancelled: everything in this order has shipped or been cancelled."
    return _render(app, "customer_order.html", 409, **context, notice=notice)


@pages.get("/customer/orders/{ref}/cancel")
def confirm_cancel(ref: Ref, app: App, token: str = "", line: str = "") -> HTMLResponse:
    """The confirmation step: what a cancel would take away, and the button that does it."""
    try:
        view = customer_order(app, ref, token)
        targets = _target(view, line)
    except BackorderError as error:
        return _error(app, error, ref)
    if not targets:
        return _nothing_left(app, ref, token, view, line)
    context = _context(app, ref, token, view)
    locale = context["locale"]
    items = [_item(ln, ln["allocated"] + ln["backordered"]) for ln in targets]
    value = sum((_price(ln, ln["allocated"] + ln["backordered"]) for ln in targets), Decimal(0))
    query = {"token": token} | ({"line": line} if line else {})
    return _render(
        app,
        "customer_confirm.html",
        **context,
        items=items,
        whole=not line,
        charge=_charge(view.get("payment_timing"), value, view["currency"], locale),
        action=f"/customer/orders/{segment(ref)}/cancel?{urlencode(query)}",
        form_token=form_token(app, ref, token),
    )


async def _form_token(request: Request) -> str:
    """The form token a page's form posted (an urlencoded body); empty when there is none."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return ""
    return parse_qs(body.decode("utf-8", "replace")).get("form_token", [""])[0]


@pages.post("/customer/orders/{ref}/cancel")
async def cancel(request: Request, ref: Ref, app: App, token: str = "", line: str = "") -> Response:
    """The confirmed cancel; then back to the order page, which says what was cancelled."""
    given = await _form_token(request)
    return await run_in_threadpool(_cancel, app, ref, token, line, given)


def _cancel(app: Backorder, ref: str, token: str, line: str, given: str) -> Response:
    try:
        check_form(app, ref, token, given)
        view = customer_order(app, ref, token)
        _target(view, line)  # an unknown line is refused before anything changes
        if line:
            customer_cancel_line(app, ref, token, int(line))
        else:
            customer_cancel(app, ref, token)
    except ImpossibleCancel:
        return _nothing_left(app, ref, token, customer_order(app, ref, token), line)
    except BackorderError as error:
        return _error(app, error, ref)
    return RedirectResponse(
        order_path(ref, token, cancelled=line or "all"), status_code=303, headers=PRIVATE
    )


Choice = Literal["accept", "cancel"]
UNSUBSCRIBED = "Done: we will not e-mail you about your orders any more."


@pages.get("/customer/orders/{ref}/delay")
def delay_page(ref: Ref, app: App, token: str = "", choice: Choice = "accept") -> HTMLResponse:
    """What a delay notice's links open: the order page's delay state, the delay and one
    button to confirm the choice."""
    try:
        view = customer_order(app, ref, token)
        answer = customer_delay(app, ref, token)
    except BackorderError as error:
        return _error(app, error, ref)
    context = _context(app, ref, token, view)
    return _render(
        app,
        "delay.html",
        **context,
        view=answer,
        choice=choice,
        action=f"/customer/orders/{segment(ref)}/delay?"
        + urlencode({"token": token, "choice": choice}),
        form_token=form_token(app, ref, token),
    )


@pages.post("/customer/orders/{ref}/delay")
async def delay_answer(
    request: Request, ref: Ref, app: App, token: str = "", choice: Choice = "accept"
) -> Response:
    """The customer's confirmed answer to the delay notice."""
    given = await _form_token(request)
    return await run_in_threadpool(_answer, app, ref, token, choice, given)


def _answer(app: Backorder, ref: str, token: str, choice: Choice, given: str) -> Response:
    try:
        check_form(app, ref, token, given)
        lines = customer_answer(app, ref, token, choice)
        view = customer_order(app, ref, token)
    except NothingToAnswer as error:
        try:
            context = _context(app, ref, token, customer_order(app, ref, token))
        except BackorderError as refused:
            return _error(app, refused, ref)
        return _render(app, "delay.html", 409, **context, problem=str(error))
    except BackorderError as error:
        return _error(app, error, ref)
    context = _context(app, ref, token, view)
    return _render(app, "delay.html", **context, answered=choice, lines_answered=lines)


@pages.get("/api/v1/customer/orders/{ref}/unsubscribe")
def unsubscribe_link(request: Request, ref: Ref, token: str = "") -> RedirectResponse:
    """The unsubscribe address of every e-mail (List-Unsubscribe) opened in a browser, as mail
    programs without one-click unsubscribe do: a GET never unsubscribes (RFC 8058), it opens
    the page that asks. To anything but a browser the address takes POST only."""
    if not prefers_html(request.headers.get("accept")):
        raise ApiProblem(405, "http", "Method Not Allowed", "Method Not Allowed", {"Allow": "POST"})
    return RedirectResponse(
        f"/customer/orders/{segment(ref)}/unsubscribe?{urlencode({'token': token})}",
        status_code=303,
        headers=PRIVATE,
    )


@pages.get("/customer/orders/{ref}/unsubscribe")
def confirm_unsubscribe(ref: Ref, app: App, token: str = "") -> HTMLResponse:
    """Stop e-mail? One button."""
    try:
        view = customer_order(app, ref, token)
    except BackorderError as error:
        return _error(app, error, ref)
    return _render(
        app,
        "customer_unsubscribe.html",
        **_context(app, ref, token, view),
        action=f"/customer/orders/{segment(ref)}/unsubscribe?{urlencode({'token': token})}",
        form_token=form_token(app, ref, token),
    )


@pages.post("/customer/orders/{ref}/unsubscribe")
async def unsubscribe(request: Request, ref: Ref, app: App, token: str = "") -> Response:
    """The confirmed unsubscribe; then the order page, which says so."""
    given = await _form_token(request)
    return await run_in_threadpool(_unsubscribe, app, ref, token, given)


def _unsubscribe(app: Backorder, ref: str, token: str, given: str) -> Response:
    try:
        check_form(app, ref, token, given)
        customer_unsubscribe(app, ref, token)
    except BackorderError as error:
        return _error(app, error, ref)
    return RedirectResponse(
        order_path(ref, token, unsubscribed="1"), status_code=303, headers=PRIVATE
    )
