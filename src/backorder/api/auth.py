"""Bearer API keys and the role check every route declares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from backorder.api.problems import ApiProblem
from backorder.domain.access import Permission, Role, may
from backorder.services.apikeys import authenticate, trusted
from backorder.services.context import Backorder
from backorder.services.sessions import COOKIE, session_role

# A dashboard session (its cookie) may read; changes always need the key itself, so a page
# elsewhere cannot make the browser change anything.
READS = ("GET", "HEAD")
bearer = HTTPBearer(auto_error=False, description="An API key from `backorder apikey create`.")


def backorder_of(request: Request) -> Backorder:
    app: Backorder = request.app.state.backorder
    return app


async def current_app(request: Request) -> Backorder:
    """`backorder_of` as a dependency: a coroutine, so that FastAPI calls it on the event
    loop instead of handing it to a worker thread."""
    return backorder_of(request)


def need(permission: Permission) -> Callable[..., Awaitable[Role]]:
    """A dependency that admits a live key whose role holds `permission`. A key this
    process trusts already is checked on the event loop; anything that asks the database
    (a key not seen lately, a dashboard session) goes to a worker thread."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Role:
        if credentials is not None:
            known = trusted(backorder_of(request), credentials.credentials)
            if known is not None:
                return _admit(known[1], permission)
        return await run_in_threadpool(role_of, request, credentials, permission)

    return check


def role_of(
    request: Request, credentials: HTTPAuthorizationCredentials | None, permission: Permission
) -> Role:
    """The role a request is admitted with for `permission`; 401 or 403 if none."""
    if credentials is None and request.method in READS and COOKIE in request.cookies:
        role = session_role(backorder_of(request), request.cookies[COOKIE])
        if role is not None:  # the dashboard's links and live stream: reads only
            return _admit(role, permission)
    if credentials is None:
        raise ApiProblem(
            401,
            "unauthenticated",
            "Unauthenticated",
            "send an API key: Authorization: Bearer KEY",
            {"WWW-Authenticate": "Bearer"},
        )
    role = authenticate(backorder_of(request), credentials.credentials)
    if role is None:
        raise ApiProblem(
            401,
            "unauthenticated",
            "Unauthenticated",
            "the API key is unknown or revoked",
            {"WWW-Authenticate": "Bearer"},
        )
    return _admit(role, permission)


def _admit(role: Role, permission: Permission) -> Role:
    if not may(role, permission):
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"role {role.value} may not {permission.value.replace('_', ' ')}",
        )
    return role
