"""The dashboard's replenishment page (`/dashboard/replenishment`): the proposed restock
recommendations with accept / change / reject forms, and the draft purchase orders awaiting
approval with approve / reject. The forms post to the dashboard's actions
(`/records/replenishment/<id>/<verb>`, `/records/purchase-orders/<ref>/<verb>`), which run
the same use cases as the API, for a session whose role holds `purchase`."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder.api.actions import FLASH, csrf_token, read_flash
from backorder.api.auth import backorder_of
from backorder.domain.access import Permission, may
from backorder.domain.replenishment import short_day
from backorder.services.dashboard import RECORDS
from backorder.services.links import segment
from backorder.services.replenishment_board import board
from backorder.services.sessions import COOKIE, session_role
from backorder.words import money

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
_env.filters["segment"] = segment
_env.filters["money"] = money  # {{ amount|money(currency) }}: "$1,320.55"
_env.filters["day"] = lambda value: short_day(date.fromisoformat(str(value)))  # "16 Dec"
PAGE = "/dashboard/replenishment"


@router.get(PAGE)
async def replenishment(request: Request) -> Response:
    app = backorder_of(request)
    token = request.cookies.get(COOKIE, "")
    role = await run_in_threadpool(session_role, app, token)
    if role is None:
        return RedirectResponse("/login", status_code=303)
    if not may(role, Permission.READ):
        page = _env.get_template("replenishment.html").render(refused=True, csrf="", back=PAGE)
        return HTMLResponse(page, status_code=403, headers={"Cache-Control": "no-store"})
    shown = await run_in_threadpool(board, app)
    page = _env.get_template("replenishment.html").render(
        **shown,
        decide=may(role, Permission.PURCHASE),
        csrf=csrf_token(token),
        flash=read_flash(request.cookies.get(FLASH)),
        back=PAGE,
        records=RECORDS,
    )
    answer = HTMLResponse(page, headers={"Cache-Control": "no-store"})
    if FLASH in request.cookies:
        answer.delete_cookie(FLASH)
    return answer
