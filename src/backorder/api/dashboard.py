"""The operations dashboard at `/`: sign in with an API key (any role), then one page that
follows the event stream and redraws itself; every asset is served here, nothing comes from
the internet."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder.api.auth import backorder_of
from backorder.domain.access import PERMISSIONS, Permission, Role, may
from backorder.domain.events import EVENT_TYPES
from backorder.report import charts
from backorder.services.context import Backorder
from backorder.services.dashboard import RECORDS, order_link, overview, queue_link
from backorder.services.links import segment
from backorder.services.sessions import (
    COOKIE,
    SESSION_SECONDS,
    session_role,
    sign_in,
    sign_out,
)

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
    if key in ("ref", "order", "order_ref") and ":" in value:
        return order_link(value)
    if key == "sku":
        return queue_link(value)
    if key in ("supplier", "supplier_id"):
        return f"{RECORDS}/suppliers/{segment(value)}"
    return None


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every field of a list of records, in the order they first appear."""
    return list(dict.fromkeys(name for row in rows for name in row))


_env.globals["link"] = record_link
_env.filters["columns"] = _columns
MAX_FORM = 4096
POLL_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store"}


def _session(request: Request, app: Backorder) -> Role | None:
    """The role of the request's live session, or None."""
    token = request.cookies.get(COOKIE)
    return None if token is None else session_role(app, token)


def _login_page(error: str | None = None, status: int = 200) -> HTMLResponse:
    page = _env.get_template("login.html").render(error=error)
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


def _body_context(app: Backorder, role: Role) -> dict[str, Any]:
    """What the role's session may see: what its role may read through the API."""
    view = overview(app, PERMISSIONS[role])
    if "days" not in view:
        return {"v": view, "trend_svg": ""}
    days = tuple(tuple(day.items()) for day in view["days"])
    return {"v": view, "trend_svg": _trend_svg(days)}


@lru_cache(maxsize=16)
def _trend_svg(days: tuple[tuple[tuple[str, Any], ...], ...]) -> str:
    """The trend chart of these days' figures, drawn once: the page redraws on every event,
    and most events (a shipment, a notification) leave the trend as it was, while drawing it
    takes matplotlib a tenth of a second."""
    svg = charts.trend([dict(day) for day in days], "svg").decode()
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


@pages.get("/records/{path:path}")
async def record(request: Request, path: str) -> Response:
    """A record of the API as a page (the dashboard's links open these): the same answer as
    GET /api/v1/<path> with the session, laid out as tables."""
    app = backorder_of(request)
    if await run_in_threadpool(_session, request, app) is None:
        return RedirectResponse("/login", status_code=303)
    raw = request.scope.get("raw_path") or request.url.path.encode()
    rest = raw.decode("latin-1").removeprefix(f"{RECORDS}/")
    if not RECORD_PATH.fullmatch(rest) or ".." in rest.split("/"):
        return _record_page(rest, 404, {"title": "Not found", "detail": "no such record"})
    api = f"/api/v1/{rest}" + (f"?{request.url.query}" if request.url.query else "")
    # The API itself answers, in process, with the session's cookie: the same checks, the
    # same figures, the same errors.
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backorder") as client:
        answer = await client.get(api, headers={"cookie": request.headers.get("cookie", "")})
    if answer.status_code == 401:  # the session ended between the two checks
        return RedirectResponse("/login", status_code=303)
    try:
        body = answer.json()
    except ValueError:
        body = {"title": "Not a record", "detail": f"the API answered {answer.status_code}"}
    return _record_page(rest, answer.status_code, body, api)


def _record_page(path: str, status: int, answer: Any, api: str | None = None) -> HTMLResponse:
    page = _env.get_template("record.html").render(
        title=unquote(path), status=status, answer=answer, api=api or f"/api/v1/{path}"
    )
    return HTMLResponse(page, status_code=status, headers=NO_STORE)
