"""The operations dashboard at `/`: sign in with an API key (any role), then one page that
follows the event stream and redraws itself; every asset is served here, nothing comes from
the internet."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder.api.auth import backorder_of
from backorder.domain.events import EVENT_TYPES
from backorder.report import charts
from backorder.services.context import Backorder
from backorder.services.dashboard import overview
from backorder.services.sessions import COOKIE, SESSION_SECONDS, session_role, sign_in

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
MAX_FORM = 4096
NO_STORE = {"Cache-Control": "no-store"}


def _signed_in(request: Request, app: Backorder) -> bool:
    token = request.cookies.get(COOKIE)
    return token is not None and session_role(app, token) is not None


def _login_page(error: str | None = None, status: int = 200) -> HTMLResponse:
    page = _env.get_template("login.html").render(error=error)
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


def _body_context(app: Backorder) -> dict[str, Any]:
    view = overview(app)
    svg = charts.trend(view["days"], "svg").decode()
    return {"v": view, "trend_svg": svg[svg.index("<svg") :]}


@pages.get("/login")
def login_form() -> HTMLResponse:
    return _login_page()


@pages.post("/login")
async def login(request: Request) -> Response:
    app = backorder_of(request)
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
def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer


@pages.get("/")
def dashboard(request: Request) -> Response:
    app = backorder_of(request)
    if not _signed_in(request, app):
        return RedirectResponse("/login", status_code=303)
    context = _body_context(app) | {"event_types": list(EVENT_TYPES)}
    page = _env.get_template("dashboard.html").render(**context)
    return HTMLResponse(page, headers=NO_STORE)


@pages.get("/dashboard/body")
def dashboard_body(request: Request) -> Response:
    """The live part of the page, redrawn when events arrive."""
    app = backorder_of(request)
    if not _signed_in(request, app):
        return Response(status_code=401)
    page = _env.get_template("dashboard_body.html").render(**_body_context(app))
    return HTMLResponse(page, headers=NO_STORE)
