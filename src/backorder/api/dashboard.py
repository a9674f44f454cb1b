"""The operations dashboard at `/`: sign in with an API key (any role), then one page that
follows the event stream and redraws itself; every asset is served here, nothing comes from
the internet."""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from backorder.api import records
from backorder.api.actions import (
    CSRF_FIELD,
    FLASH,
    FormProblem,
    csrf_matches,
    csrf_token,
    find_action,
    flash_cookie,
    parse_form,
    perform,
    read_flash,
)
from backorder.api.auth import backorder_of
from backorder.domain.access import PERMISSIONS, Permission, Role, may
from backorder.domain.events import EVENT_TYPES
from backorder.domain.units import ordered_as, ordered_in_words, unit_name
from backorder.report import charts, plan_chart
from backorder.services.context import Backorder
from backorder.services.dashboard import RECORDS, order_link, overview, product_link
from backorder.services.links import segment
from backorder.services.locations import active_choices
from backorder.services.sessions import (
    COOKIE,
    SESSION_SECONDS,
    session_name,
    session_role,
    sign_in,
    sign_out,
)
from backorder.words import count, money

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
# A record page shows what the API answers at /api/v1/<path>: a path of plain segments
# (percent-escapes kept as they came), never one that climbs out of it.
RECORD_PATH = re.compile(r"[A-Za-z0-9._:~%-]+(/[A-Za-z0-9._:~%-]+)*")


def record_link(key: str, value: str) -> str | None:
    """The record page a field's value refers to, by the field's name: an order's reference,
    a SKU (its queue), a supplier."""
    if key in ("ref", "order", "order_ref", "orders") and ":" in value:
        return order_link(value)
    if key == "sku":
        return product_link(value)
    if key in ("supplier", "supplier_id"):
        return f"{RECORDS}/suppliers/{segment(value)}"
    return None


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every field of a list of records, in the order they first appear."""
    return list(dict.fromkeys(name for row in rows for name in row))


@pass_context
def _forms_for(context: Context, row: Any, key: str | None) -> list[records.Form]:
    """The forms beside a row of a record page's table (the page's `row_forms`)."""
    row_forms = context.get("row_forms")
    return [] if row_forms is None else list(row_forms(key, row))


_env.globals |= {
    "link": record_link,
    "product_link": product_link,
    "order_link": order_link,
    "supplier_link": lambda supplier: f"{RECORDS}/suppliers/{segment(supplier)}",
    "count": count,
    "money": money,
    "ordered_words": lambda line: ordered_in_words(
        line["quantity"], ordered_as(line.get("ordered"))
    ),
    "unit_name": unit_name,
}
_env.filters |= {"columns": _columns, "label": records.label, "forms_for": _forms_for}
MAX_FORM = 4096
POLL_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store"}


def _session(request: Request, app: Backorder) -> Role | None:
    """The role of the request's live session, or None."""
    token = request.cookies.get(COOKIE)
    return None if token is None else session_role(app, token)


def _page_context(request: Request, app: Backorder) -> dict[str, Any]:
    """What every record page needs: the session's form token, the outcome a redirect left,
    dates in words as of today, the page's own address (where a form comes back to)."""
    token = request.cookies.get(COOKIE, "")
    path = request.scope.get("raw_path") or request.url.path.encode()
    back = path.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
    return {
        "csrf": csrf_token(token),
        "flash": read_flash(request.cookies.get(FLASH)),
        "time": partial(records.when, today=app.now().date()),
        "today": app.now().date().isoformat(),
        "back": back,
    }


def _shown(answer: HTMLResponse, request: Request) -> HTMLResponse:
    """A page that showed the flash forgets it."""
    if FLASH in request.cookies:
        answer.delete_cookie(FLASH)
    return answer


def _login_page(error: str | None = None, status: int = 200) -> HTMLResponse:
    page = _env.get_template("login.html").render(error=error)
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


def _body_context(app: Backorder, role: Role) -> dict[str, Any]:
    """What the role's session may see: what its role may read through the API."""
    view = overview(app, PERMISSIONS[role])
    words = {"time": partial(records.when, today=app.now().date())}
    if "days" not in view:
        return {"v": view, "trend_svg": ""} | words
    days = tuple(tuple(day.items()) for day in view["days"])
    return {"v": view, "trend_svg": _trend_svg(days)} | words


@lru_cache(maxsize=16)
def _trend_svg(days: tuple[tuple[tuple[str, Any], ...], ...]) -> str:
    """The trend chart of these days' figures, drawn once: the page redraws on every event,
    and most events (a shipment, a notification) leave the trend as it was, while drawing it
    takes matplotlib a tenth of a second."""
    svg = charts.trend([dict(day) for day in days], "svg").decode()
    return svg[svg.index("<svg") :]


def _plan_svg(plan: dict[str, Any]) -> str:
    """The SKU's projection chart as inline SVG ('' without a forecast)."""
    drawn = plan_chart.projection_chart(plan, "svg")
    if drawn is None:
        return ""
    svg = drawn.decode()
    return svg[svg.index("<svg") :]


@pages.get("/login")
def login_form() -> HTMLResponse:
    return _login_page()


def _from_another_site(request: Request, public_url: str) -> bool:
    """Whether a browser says this POST comes from another site's page (login and logout
    CSRF). Browsers send `Origin` with every POST (`null` from opaque origins), else
    `Sec-Fetch-Site`; ours is the request's own host, or BACKORDER_PUBLIC_URL's origin
    behind a proxy. A request with neither header is no browser's form (curl, a script with
    the key in hand) and is let through."""
    origin = request.headers.get("origin")
    if origin is not None:
        ours = urlsplit(public_url)
        told = urlsplit(origin)
        return not (
            told.scheme in ("http", "https")
            and (
                told.netloc == request.headers.get("host")
                or (told.scheme, told.netloc) == (ours.scheme, ours.netloc)
            )
        )
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


CROSS_SITE = "This form came from another site: signing in and out happens on this page only."


@pages.post("/login")
async def login(request: Request) -> Response:
    app = backorder_of(request)
    if _from_another_site(request, app.settings.public_url):
        return _login_page(CROSS_SITE, 403)
    body = await request.body()
    if len(body) > MAX_FORM:
        return _login_page("That is not an API key.", 400)
    key = parse_qs(body.decode("utf-8", "replace")).get("key", [""])[0]
    token = await run_in_threadpool(sign_in, app, key)
    if token is None:
        return _login_page("That key is unknown or revoked.", 401)
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=app.settings.public_url.startswith("https://"),
    )
    return answer


@pages.post("/logout")
def logout(request: Request) -> Response:
    """End the session on the server (a copy of the cookie dies too), then in the browser."""
    app = backorder_of(request)
    if _from_another_site(request, app.settings.public_url):
        return _login_page(CROSS_SITE, 403)
    token = request.cookies.get(COOKIE)
    if token is not None:
        sign_out(app, token)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer


@pages.get("/")
def dashboard(request: Request) -> Response:
    app = backorder_of(request)
    role = _session(request, app)
    if role is None:
        return RedirectResponse("/login", status_code=303)
    # The page follows the event stream when the role may read it; else it looks again
    # every POLL_SECONDS.
    context = _body_context(app, role) | {
        "event_types": list(EVENT_TYPES),
        "stream": may(role, Permission.READ),
        "poll_ms": POLL_SECONDS * 1000,
    }
    page = _env.get_template("dashboard.html").render(**context)
    return HTMLResponse(page, headers=NO_STORE)


@pages.get("/dashboard/body")
def dashboard_body(request: Request) -> Response:
    """The live part of the page, redrawn when events arrive."""
    app = backorder_of(request)
    role = _session(request, app)
    if role is None:
        return Response(status_code=401)
    page = _env.get_template("dashboard_body.html").render(**_body_context(app, role))
    return HTMLResponse(page, headers=NO_STORE)


async def _api_get(request: Request, api: str) -> tuple[int, Any]:
    """What the API answers at `api`, asked in process with the session's cookie: the same
    checks, the same figures, the same errors."""
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backorder") as client:
        answer = await client.get(api, headers={"cookie": request.headers.get("cookie", "")})
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, {
            "title": "Not a record",
            "detail": f"the API answered {answer.status_code}",
        }


ORDER_PAGE = re.compile(r"orders/([^/]+)")
FORECAST_API = "/api/v1/forecasts/"  # the product page shows the first 12 weeks
PRODUCT_PAGE = re.compile(r"products/([^/]+)")


@pages.get("/records/{path:path}")
async def record(request: Request, path: str) -> Response:
    """A record of the API as a page (the dashboard's links open these): the same answer as
    GET /api/v1/<path> with the session, laid out for people, with the forms the session's
    role may use on it."""
    app = backorder_of(request)
    role = await run_in_threadpool(_session, request, app)
    if role is None:
        return RedirectResponse("/login", status_code=303)
    raw = request.scope.get("raw_path") or request.url.path.encode()
    rest = raw.decode("latin-1").removeprefix(f"{RECORDS}/")
    if not RECORD_PATH.fullmatch(rest) or ".." in rest.split("/"):
        return _record_page(rest, 404, {"title": "Not found", "detail": "no such record"})
    api = f"/api/v1/{rest}" + (f"?{request.url.query}" if request.url.query else "")
    status, body = await _api_get(request, api)
    if status == 401:  # the session ended between the two checks
        return RedirectResponse("/login", status_code=303)
    context = _page_context(request, app) | {"api": api, "q": ""}
    if status == 200 and ORDER_PAGE.fullmatch(rest):
        return _shown(_order_page(body, role, context), request)
    if status == 200 and PRODUCT_PAGE.fullmatch(rest):
        sku = unquote(rest.removeprefix("products/"))
        stock_status, stock = await _api_get(request, f"/api/v1/stock/{rest[9:]}")
        queue_status, queue = await _api_get(request, f"/api/v1/queues/{rest[9:]}")
        sources_status, sources = await _api_get(request, f"/api/v1/queues/{rest[9:]}/sources")
        plan_status, plan = await _api_get(request, f"/api/v1/projections/{rest[9:]}?weeks=12")
        if plan_status == 200:
            context |= {
                "plan": plan,
                "plan_api": f"/api/v1/projections/{rest[9:]}",
                "plan_svg": await run_in_threadpool(_plan_svg, plan),
            }
        forecast_status, forecast = await _api_get(
            request, f"{FORECAST_API}{rest[9:]}?horizon=12&stored_only=true"
        )
        if stock_status == queue_status == 200:
            context |= {
                "queue_api": f"/api/v1/queues/{rest[9:]}",
                "stock_api": f"/api/v1/stock/{rest[9:]}",
                "sources_api": f"/api/v1/queues/{rest[9:]}/sources",
                "sources": sources if sources_status == 200 else None,
                "forecast_api": f"{FORECAST_API}{rest[9:]}",
                "forecast": forecast if forecast_status == 200 else None,
                "forecast_problem": None if forecast_status == 200 else forecast,
            }
            context["forms"] = records.allowed(records.stock_forms(sku, await _places(app)), role)
            page = _product_page(sku, (body, stock, queue), role, context)
            return _shown(page, request)
    places = None if records.stock_page_sku(rest) is None else await _places(app)
    context |= {
        "forms": records.page_forms(rest, role, places) if places is not None else [],
        "row_forms": records.row_forms_of(rest, body, role),
    }
    return _shown(_record_page(rest, status, body, api, context), request)


async def _places(app: Backorder) -> records.Places:
    """Where the stock forms may receive or count: the active locations."""
    active = await run_in_threadpool(active_choices, app)
    return records.Places(tuple(active), app.settings.default_location)


def _order_page(order: dict[str, Any], role: Role, context: dict[str, Any]) -> HTMLResponse:
    ref = order["ref"]
    line_forms = {
        line["line"]: records.allowed(records.line_forms(ref, line), role)
        for line in order["lines"]
    }
    page = _env.get_template("order.html").render(
        o=order,
        forms=records.allowed(records.order_forms(ref), role),
        line_forms=lambda line: line_forms[line["line"]],
        any_line_forms=any(line_forms.values()),
        notifications=f"{order_link(ref)}/notifications",
        **context,
    )
    return HTMLResponse(page, headers=NO_STORE)


def _product_page(
    sku: str, answers: tuple[Any, Any, Any], role: Role, context: dict[str, Any]
) -> HTMLResponse:
    product, stock, queue = answers
    page = _env.get_template("product.html").render(
        p=product,
        s=stock,
        queue=queue,
        **context,
    )
    return HTMLResponse(page, headers=NO_STORE)


def _record_page(
    path: str,
    status: int,
    answer: Any,
    api: str | None = None,
    context: dict[str, Any] | None = None,
) -> HTMLResponse:
    shown = {"title": unquote(path), "status": status, "answer": answer}
    shown |= {"api": api or f"/api/v1/{path}", "time": records.when} | (context or {})
    page = _env.get_template("record.html").render(**shown)
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


def _refused(status: int, text: str) -> HTMLResponse:
    page = _env.get_template("record.html").render(
        title="Not done",
        status=status,
        answer={"title": "Nothing was changed", "detail": text},
        api="/api/v1/",
        time=records.when,
    )
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


SAFE_BACK = re.compile(r"/(records/[A-Za-z0-9._:~%/-]*|search|dashboard/replenishment)(\?[^\s#]*)?")


@pages.post("/records/{path:path}")
async def act(request: Request, path: str) -> Response:
    """A form on a record page: the same use case the API runs, for a session whose role
    holds the API route's permission, from this site's page with the session's token; then
    back to the record with what happened."""
    app = backorder_of(request)
    token = request.cookies.get(COOKIE)
    role = None if token is None else await run_in_threadpool(session_role, app, token)
    if token is None or role is None:
        return RedirectResponse("/login", status_code=303)
    if _from_another_site(request, app.settings.public_url):
        return _refused(403, "this form came from another site")
    try:
        fields = parse_form(await request.body())
    except FormProblem as problem:
        return _refused(400, str(problem))
    if not csrf_matches(token, fields.get(CSRF_FIELD, "")):
        return _refused(403, "the form is out of date or not ours: open the page again")
    raw = request.scope.get("raw_path") or request.url.path.encode()
    found = find_action(raw.decode("latin-1").removeprefix(f"{RECORDS}/"))
    if found is None:
        return _refused(404, "there is no such action")
    action, ids = found
    if not may(role, action.permission):
        what = action.permission.value.replace("_", " ")
        return _refused(403, f"role {role.value} may not {what}")
    who = await run_in_threadpool(session_name, app, token)
    fields["_by"] = f"dashboard:{who or role.value}"  # who decided, never what was posted
    done, text, back = await run_in_threadpool(perform, app, action, ids, fields)
    given = fields.get("back", "")
    target = given if SAFE_BACK.fullmatch(given) else (back or "/")
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        FLASH,
        flash_cookie(done, text),
        max_age=60,
        httponly=True,
        samesite="lax",
        secure=app.settings.public_url.startswith("https://"),
    )
    return answer


SEARCH_PAGE = 25


@pages.get("/search")
async def search(request: Request) -> Response:
    """Orders (and products) that match the search box: an order number, a customer's
    e-mail, a SKU or a product's name; the same lists as GET /api/v1/orders and /products."""
    app = backorder_of(request)
    role = await run_in_threadpool(_session, request, app)
    if role is None:
        return RedirectResponse("/login", status_code=303)
    q = request.query_params.get("q", "").strip()[:200]
    status = request.query_params.get("status", "")
    cursor = request.query_params.get("cursor", "")
    wanted = {"q": q, "status": status, "limit": SEARCH_PAGE, "cursor": cursor}
    query = urlencode({k: v for k, v in wanted.items() if v})
    orders: Any = None
    problem = None
    if may(role, Permission.READ_ORDERS):
        code, orders = await _api_get(request, f"/api/v1/orders?{query}")
        if code != 200:
            problem, orders = orders.get("detail") or orders.get("title"), None
    products: Any = None
    if q and not cursor and may(role, Permission.READ):
        code, found = await _api_get(request, f"/api/v1/products?{urlencode({'q': q})}")
        products = found if code == 200 else None
    next_orders = None
    if orders is not None and orders.get("next_cursor"):
        more = {k: v for k, v in (wanted | {"cursor": orders["next_cursor"]}).items() if v}
        more.pop("limit", None)
        next_orders = f"/search?{urlencode(more)}"
    page = _env.get_template("search.html").render(
        q=q,
        status=status,
        orders=orders,
        products=products,
        problem=problem,
        next_orders=next_orders,
        limit=SEARCH_PAGE,
        time=partial(records.when, today=app.now().date()),
    )
    return HTMLResponse(page, headers=NO_STORE)
