"""The dashboard's policy simulator at `/dashboard/simulate`: the last runs with their
tables, and a form that starts one (a policy's TOML in a text box). A run goes on in a
thread of the process that started it, one at a time across every server process, so the
server keeps answering; the page shows it running until it is done. The runs are kept in
the database (services/simulation_runs.py), so every process shows the same ones."""

from __future__ import annotations

import logging
import threading
from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder.api.actions import CSRF_FIELD, FormProblem, csrf_matches, csrf_token, parse_form
from backorder.api.auth import backorder_of
from backorder.api.dashboard import NO_STORE, _from_another_site, _session
from backorder.domain.access import Permission, may
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.simulation import ROWS, Policy, policy_from_toml, shown
from backorder.services.context import Backorder
from backorder.services.sessions import COOKIE
from backorder.services.simulation import simulate
from backorder.services.simulation_runs import (
    BEAT_SECONDS,
    beat,
    fail_run,
    finish_run,
    recent_runs,
    start_run,
)

log = logging.getLogger(__name__)
pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
PATH = "/dashboard/simulate"
# Who may run one: it replays every order, so the roles that run the daily review.
PERMISSION = Permission.REVIEW


def _work(
    backorder: Backorder, run_id: str, period: tuple[date, date], policy: Policy, seed: int
) -> None:
    """Run the simulation and record what came of it; beat meanwhile."""
    done = threading.Event()
    beating = threading.Thread(target=_beat, args=(backorder, run_id, done), daemon=True)
    beating.start()
    try:
        result = simulate(backorder, period, [policy], seed)
        rows = [
            (label, [shown(name, c.values.get(name)) for c in result.columns])
            for name, label in ROWS.items()
        ]
        finish_run(backorder, run_id, [c.name for c in result.columns], rows)
    except BackorderError as error:
        fail_run(backorder, run_id, str(error))
    except Exception as error:  # a thread's failure is shown on the page, never lost
        fail_run(backorder, run_id, f"{type(error).__name__}: {error}")
    finally:
        done.set()


def _beat(backorder: Backorder, run_id: str, done: threading.Event) -> None:
    while not done.wait(BEAT_SECONDS):
        try:
            beat(backorder, run_id)
        except Exception:  # the next beat may get through; a lost run shows as failed
            log.exception("simulation %s: could not mark it running", run_id)


def _start(request: Request, fields: dict[str, str]) -> None:
    """Check the form and start the run; InvalidRequest for a wrong field or while another
    run goes on."""
    backorder = backorder_of(request)
    try:
        period = (
            date.fromisoformat(fields.get("from", "")),
            date.fromisoformat(fields.get("to", "")),
        )
        seed = int(fields.get("seed") or 0)
    except ValueError:
        raise InvalidRequest(
            "from and to are dates (YYYY-MM-DD); the seed is a whole number"
        ) from None
    name = fields.get("name") or "policy"
    policy = policy_from_toml(name, fields.get("policy", ""))  # refused now, not in the thread
    run_id = start_run(backorder, period, name)
    threading.Thread(
        target=_work, args=(backorder, run_id, period, policy, seed), daemon=True
    ).start()


def _page(request: Request, problem: str | None, fields: dict[str, str], status: int) -> Response:
    runs = recent_runs(backorder_of(request))
    page = _env.get_template("simulate.html").render(
        runs=runs,
        running=any(run.state == "running" for run in runs),
        problem=problem,
        fields=fields,
        csrf=csrf_token(request.cookies.get(COOKIE, "")),
        csrf_field=CSRF_FIELD,
    )
    return HTMLResponse(page, status_code=status, headers=NO_STORE)


@pages.get(PATH)
async def simulate_page(request: Request) -> Response:
    backorder = backorder_of(request)
    role = await run_in_threadpool(_session, request, backorder)
    if role is None:
        return RedirectResponse("/login", status_code=303)
    if not may(role, PERMISSION):
        return HTMLResponse("Your role may not run simulations.", status_code=403)
    return await run_in_threadpool(_page, request, None, {}, 200)


@pages.post(PATH)
async def simulate_run(request: Request) -> Response:
    backorder = backorder_of(request)
    token = request.cookies.get(COOKIE)
    role = None if token is None else await run_in_threadpool(_session, request, backorder)
    if token is None or role is None:
        return RedirectResponse("/login", status_code=303)
    if not may(role, PERMISSION):
        return HTMLResponse("Your role may not run simulations.", status_code=403)
    if _from_another_site(request, backorder.settings.public_url):
        return HTMLResponse("This form came from another site.", status_code=403)
    try:
        fields = parse_form(await request.body())
    except FormProblem as problem:
        return await run_in_threadpool(_page, request, str(problem), {}, 400)
    if not csrf_matches(token, fields.get(CSRF_FIELD, "")):
        return await run_in_threadpool(
            _page, request, "the form is out of date: open the page again", fields, 403
        )
    try:
        await run_in_threadpool(_start, request, fields)
    except InvalidRequest as error:
        return await run_in_threadpool(_page, request, str(error), fields, 400)
    return RedirectResponse(PATH, status_code=303)
