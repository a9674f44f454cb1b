"""The dashboard's policy simulator at `/dashboard/simulate`: the last runs of this server
process with their tables, and a form that starts one (a policy's TOML in a text box). A run
goes on in a thread of its own, one at a time, so the server keeps answering; the page shows
it running until it is done. Runs are kept in memory, the last RUNS_KEPT (a restart forgets
them; `backorder simulate` prints its own)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from backorder.api.actions import CSRF_FIELD, FormProblem, csrf_matches, csrf_token, parse_form
from backorder.api.auth import backorder_of
from backorder.api.dashboard import NO_STORE, _from_another_site, _session
from backorder.domain.access import Permission, may
from backorder.domain.errors import BackorderError, InvalidRequest
from backorder.domain.simulation import ROWS, policy_from_toml, shown
from backorder.services.context import Backorder
from backorder.services.sessions import COOKIE
from backorder.services.simulation import simulate

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("backorder.api", "pages"), autoescape=select_autoescape(default=True)
)
RUNS_KEPT = 10
PATH = "/dashboard/simulate"
# Who may run one: it replays every order, so the roles that run the daily review.
PERMISSION = Permission.REVIEW


@dataclass
class Run:
    id: str
    started: datetime
    period: tuple[date, date]
    policy: str
    state: str = "running"  # running | done | failed
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


@dataclass
class Runs:
    items: list[Run] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def running(self) -> bool:
        return any(run.state == "running" for run in self.items)


def runs_of(app: FastAPI) -> Runs:
    if not hasattr(app.state, "simulations"):
        app.state.simulations = Runs()
    runs: Runs = app.state.simulations
    return runs


def _work(backorder: Backorder, run: Run, text: str, seed: int) -> None:
    try:
        policy = policy_from_toml(run.policy, text)
        result = simulate(backorder, run.period, [policy], seed)
        run.columns = [c.name for c in result.columns]
        run.rows = [
            (label, [shown(name, c.values.get(name)) for c in result.columns])
            for name, label in ROWS.items()
        ]
        run.state = "done"
    except BackorderError as error:
        run.error, run.state = str(error), "failed"
    except Exception as error:  # a thread's failure is shown on the page, never lost
        run.error, run.state = f"{type(error).__name__}: {error}", "failed"


def _start(request: Request, fields: dict[str, str]) -> Run:
    """Check the form and start the run; InvalidRequest for a wrong field."""
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
    policy_from_toml(name, fields.get("policy", ""))  # refused now, not in the thread
    runs = runs_of(request.app)
    with runs.lock:
        if runs.running():
            raise InvalidRequest("a simulation is running: wait for it to finish")
        run = Run(uuid.uuid4().hex[:8], backorder.now(), period, name)
        runs.items = [run, *runs.items][:RUNS_KEPT]
    run.thread = threading.Thread(
        target=_work, args=(backorder, run, fields.get("policy", ""), seed), daemon=True
    )
    run.thread.start()
    return run


def _page(request: Request, problem: str | None, fields: dict[str, str], status: int) -> Response:
    runs = runs_of(request.app)
    page = _env.get_template("simulate.html").render(
        runs=runs.items,
        running=runs.running(),
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
    return _page(request, None, {}, 200)


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
        return _page(request, str(problem), {}, 400)
    if not csrf_matches(token, fields.get(CSRF_FIELD, "")):
        return _page(request, "the form is out of date: open the page again", fields, 403)
    try:
        _start(request, fields)
    except InvalidRequest as error:
        return _page(request, str(error), fields, 400)
    return RedirectResponse(PATH, status_code=303)
