"""Errors as RFC 9457 problem documents (application/problem+json)."""

from __future__ import annotations

import logging
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from backorder.domain.errors import (
    AlreadyExists,
    BackorderError,
    DecisionConflict,
    DuplicateSku,
    ImpossibleCancel,
    NothingToAnswer,
    NotReadyToShip,
    TransferConflict,
    UnknownLocation,
    UnknownOrder,
    UnknownPurchaseOrder,
    UnknownRecommendation,
    UnknownSku,
    UnknownSupplier,
    UnknownTask,
    UnknownTransfer,
)
from backorder.foresight import ForesightUnavailable
from backorder.services.consumers import UnknownConsumer
from backorder.services.customer_links import LinkRefused
from backorder.services.forecasts import ForecastFailed, NoDemandHistory, NoForecastStored
from backorder.services.idempotency import ClaimLost
from backorder.services.risk import NoRiskModel
from backorder.store.db import COMMITS, Commits
from backorder.store.migrate import SchemaOutOfDate

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
TALLY = "backorder.commits"  # the request's Commits, in its ASGI scope

# Refusal -> (status, problem slug, title)
STATUS: list[tuple[type[BackorderError], int, str, str]] = [
    (UnknownSku, 404, "unknown-sku", "Unknown SKU"),
    (UnknownOrder, 404, "unknown-order", "Unknown order"),
    (DuplicateSku, 409, "duplicate-sku", "SKU already exists"),
    (UnknownSupplier, 404, "unknown-supplier", "Unknown supplier"),
    (UnknownLocation, 404, "unknown-location", "Unknown location"),
    (UnknownPurchaseOrder, 404, "unknown-purchase-order", "Unknown purchase order"),
    (UnknownTransfer, 404, "unknown-transfer", "Unknown transfer"),
    (UnknownRecommendation, 404, "unknown-recommendation", "Unknown recommendation"),
    (TransferConflict, 409, "transfer-conflict", "Transfer cannot take that step"),
    (DecisionConflict, 409, "already-decided", "Already decided"),
    (UnknownRecommendation, 404, "unknown-recommendation", "Unknown recommendation"),
    (AlreadyExists, 409, "already-exists", "Already exists"),
    (UnknownTask, 404, "unknown-task", "Unknown task"),
    (NothingToAnswer, 409, "nothing-to-answer", "No delay waits for an answer"),
    (ImpossibleCancel, 409, "impossible-cancel", "Cannot cancel"),
    (NotReadyToShip, 409, "not-ready-to-ship", "Not ready to ship"),
    (LinkRefused, 403, "invalid-customer-link", "Invalid customer link"),
    (ClaimLost, 409, "idempotency-claim-lost", "Idempotency-Key taken over"),
    (UnknownConsumer, 404, "unknown-consumer", "Unknown event consumer"),
    (SchemaOutOfDate, 503, "schema-out-of-date", "Database schema out of date"),
    (ForesightUnavailable, 503, "forecast-unavailable", "Forecasting is not installed"),
    (NoDemandHistory, 404, "no-demand-history", "No demand to forecast from"),
    (NoForecastStored, 404, "no-forecast-stored", "No forecast stored yet"),
    (ForecastFailed, 500, "forecast-failed", "The forecaster failed"),
    (NoRiskModel, 404, "no-risk-model", "No backorder-risk model yet"),
]


class ApiProblem(Exception):
    def __init__(
        self, status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


def _respond(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM, headers=headers)


class CommitTally:
    """Counts the transactions each request commits (store.db.COMMITS), so that an error
    answer says "nothing was changed" only when nothing was. Installed inside the
    idempotency layer, whose own bookkeeping is not the request's change."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tally = scope[TALLY] = Commits()
        token = COMMITS.set(tally)
        try:
            await self.app(scope, receive, send)
        finally:
            COMMITS.reset(token)


def changed(request: Request) -> bool:
    """Whether the request committed anything before it failed."""
    tally = request.scope.get(TALLY)
    return isinstance(tally, Commits) and tally.count > 0


def unstorable(cause: BaseException | None, request: Request) -> dict[str, Any]:
    """Text the database cannot keep (NUL characters on PostgreSQL, lone UTF-16 surrogates
    anywhere): refused before the transaction that met it wrote anything."""
    log.info("refused unstorable input: %s", cause)
    return problem(
        422,
        "unstorable-text",
        "Text cannot be stored",
        "the request holds characters the database cannot store (NUL, or an unpaired "
        "surrogate); "
        + (
            "what it did before that was saved: read the resource before trying again"
            if changed(request)
            else "nothing was changed"
        ),
    )


def database_unavailable(error: OperationalError) -> JSONResponse:
    """The answer when the database cannot be reached: 503, retry after a second."""
    log.warning("database unavailable: %s", error.orig)
    return _respond(
        problem(
            503,
            "database-unavailable",
            "Database unavailable",
            "the database did not answer; retry later",
        ),
        {"Retry-After": "1"},
    )


def _allowed(request: Request) -> list[str]:
    """Every method some route offers at this path (Starlette names only the first route's)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)


def install(app: FastAPI) -> None:
    app.add_middleware(CommitTally)

    @app.exception_handler(ApiProblem)
    async def _api(_: Request, error: ApiProblem) -> JSONResponse:
        return _respond(problem(error.status, error.slug, error.title, error.detail), error.headers)

    @app.exception_handler(BackorderError)
    async def _refused(_: Request, error: BackorderError) -> JSONResponse:
        for kind, status, slug, title in STATUS:
            if isinstance(error, kind):
                return _respond(problem(status, slug, title, str(error)))
        return _respond(problem(422, "invalid-request", "Invalid request", str(error)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return _respond(problem(422, "validation", "Invalid request", detail, errors=errors))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return _respond(
            problem(error.status_code, "http", str(error.detail), str(error.detail)), headers
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, error: DataError) -> JSONResponse:
        return _respond(unstorable(error.orig, request))

    @app.exception_handler(StatementError)
    async def _statement(request: Request, error: StatementError) -> JSONResponse:
        if isinstance(error.orig, UnicodeError | ValueError):
            return _respond(unstorable(error.orig, request))
        return await _unexpected(request, error)

    @app.exception_handler(UnicodeError)
    async def _unicode(request: Request, error: UnicodeError) -> JSONResponse:
        return _respond(unstorable(error, request))

    @app.exception_handler(OperationalError)
    async def _database(_: Request, error: OperationalError) -> JSONResponse:
        return database_unavailable(error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        if changed(request):  # e.g. the answer failed after the change was committed
            return _respond(
                problem(
                    500,
                    "internal-after-change",
                    "Internal error after the change was saved",
                    "the request was carried out and saved, but an unexpected error happened "
                    "afterwards; read the resource instead of retrying",
                )
            )
        return _respond(
            problem(
                500,
                "internal",
                "Internal error",
                "an unexpected error happened; nothing was changed",
            )
        )


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type holds several values (list[str], list[str] | None)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return origin in (list, set, frozenset, tuple)


_REPEATABLE: dict[int, frozenset[str]] = {}  # by route (routes are made once, at start)


def _repeatable(route: APIRoute) -> frozenset[str]:
    """The query parameters of a route that take several values, by the name they are
    given in the query."""
    found = _REPEATABLE.get(id(route))
    if found is None:
        found = _REPEATABLE[id(route)] = frozenset(
            field.alias
            for field in route.dependant.query_params
            if _takes_many(field.field_info.annotation)
        )
    return found


async def once_each(request: Request) -> None:
    """Every query parameter that takes one value is given once: one given twice
    (`?topic=a&topic=b`) is refused as invalid, naming it, rather than one of its values
    taken silently. (A list parameter, `?sku=A&sku=B`, may repeat.)"""
    query = request.scope.get("query_string", b"")
    route = request.scope.get("route")
    if b"&" not in query or not isinstance(route, APIRoute):
        return
    names = [name for name, _ in parse_qsl(query.decode("latin-1"), True)]
    many = _repeatable(route)
    twice = sorted({n for n in names if n not in many and names.count(n) > 1})
    if twice:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"given {names.count(name)} times: give it once",
                    "type": "value_error",
                }
                for name in twice
            ]
        )
