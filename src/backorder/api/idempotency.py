"""The Idempotency-Key header on POST requests (see services/idempotency.py)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backorder.api.problems import PROBLEM, database_unavailable, problem
from backorder.intake.events import TOPIC_HEADERS
from backorder.services import idempotency
from backorder.services.apikeys import identify
from backorder.services.context import Backorder
from backorder.store.db import COMMIT_HOOKS

HEADER = "idempotency-key"
HEADER_BYTES = HEADER.encode()
MAX_KEY = 255
log = logging.getLogger(__name__)


def _problem(status: int, slug: str, title: str, detail: str) -> Response:
    headers = {"Retry-After": "1"} if status == 409 else None
    return JSONResponse(
        problem(status, slug, title, detail),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


class IdempotencyMiddleware:
    """Requests that carry no Idempotency-Key (nearly all) go straight on: the keyed path's
    middleware runs each request in a task of its own and streams its body through a
    queue, which costs a request more than the route's own work on a bare endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.keyed = KeyedRequests(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _has_key(scope):
            await self.keyed(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _has_key(scope: Scope) -> bool:
    return any(name.lower() == HEADER_BYTES for name, _ in scope["headers"])


class KeyedRequests(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        backorder: Backorder = request.app.state.backorder
        if not key or len(key) > MAX_KEY:
            return _problem(
                422,
                "idempotency-key",
                "Invalid Idempotency-Key",
                f"the key must be 1 to {MAX_KEY} characters",
            )
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        try:
            who = (
                await run_in_threadpool(identify, backorder, token)
                if scheme.lower() == "bearer"
                else None
            )
        except OperationalError as error:  # as every route answers when the database is down
            return database_unavailable(error)
        if who is None:
            return await call_next(request)  # the route answers 401
        body = await request.body()
        fingerprint = idempotency.request_hash(request.method, _what(request), body)
        try:
            claim = await run_in_threadpool(idempotency.claim, backorder, who[0], key, fingerprint)
        except OperationalError as error:
            return database_unavailable(error)
        if not claim.fresh:
            return self._replay(claim)
        return await self._run(request, call_next, backorder, claim)

    @staticmethod
    async def _run(
        request: Request,
        call_next: RequestResponseEndpoint,
        backorder: Backorder,
        claim: idempotency.Claim,
    ) -> Response:
        """Do the work under the claim; keep its answer, or free the key when it failed."""
        token_ = COMMIT_HOOKS.set((idempotency.applied_hook(claim),))
        try:
            response = await call_next(request)
        except Exception:
            await _release(backorder, claim)
            raise
        finally:
            COMMIT_HOOKS.reset(token_)
        content = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        if response.status_code >= 500:
            await _release(backorder, claim)
        else:
            try:
                await run_in_threadpool(
                    idempotency.keep_answer,
                    backorder,
                    claim,
                    response.status_code,
                    content.decode(),
                )
            except OperationalError as error:
                # The work is done (or refused) and its answer is here: give it. The key
                # stays as the work left it, so a retry is told to read the resource.
                log.warning("could not keep the answer of an idempotent request: %s", error)
        return Response(
            content,
            status_code=response.status_code,
            headers=dict(response.headers),
            media_type=response.media_type,
        )

    @staticmethod
    def _replay(claim: idempotency.Claim) -> Response:
        if not claim.same_request:
            return _problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this key was used with a different request; use a new key",
            )
        if claim.state == "done" and claim.status_code is not None:
            return Response(
                claim.response or "",
                status_code=claim.status_code,
                media_type=PROBLEM if claim.status_code >= 400 else "application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if claim.state == "applied":
            return _problem(
                409,
                "idempotency-answer-lost",
                "Applied, answer lost",
                "the request was applied but its answer was not kept; "
                "read the resource instead of retrying",
            )
        return _problem(
            409,
            "idempotency-in-progress",
            "Request in progress",
            "the first request with this key is still running; retry shortly",
        )


async def _release(backorder: Backorder, claim: idempotency.Claim) -> None:
    """Free the key of failed work; when the database cannot be reached for that, the key
    stays pending and its lease frees it."""
    try:
        await run_in_threadpool(idempotency.release, backorder, claim)
    except OperationalError as error:
        log.warning("could not free an Idempotency-Key: %s", error)


def _what(request: Request) -> str:
    """What a request asks beyond its body: its path, and the channel topic it names (the
    same body is another event under another topic, so a key reused for it is a conflict)."""
    topic = request.query_params.get("topic") or next(
        (request.headers[h] for h in TOPIC_HEADERS.values() if h in request.headers), None
    )
    return request.url.path if topic is None else f"{request.url.path} topic={topic}"
