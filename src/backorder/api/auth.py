"""Bearer API keys and the role check every route declares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backorder.api.problems import ApiProblem
from backorder.domain.access import Permission, Role, may
from backorder.services.apikeys import authenticate
from backorder.services.context import Backorder
from backorder.services.sessions import COOKIE, session_role

# A dashboard session (its cookie) may read; changes always need the key itself, so a page
# elsewhere cannot make the browser change anything.
READS = ("GET", "HEAD")
bearer = HTTPBearer(auto_error=False, description="An API key from `backorder apikey create`.")


def backorder_of(request: Request) -> Backorder:
    app: Backorder = request.app.state.backorder
    return app


def need(permission: Permission) -> Callable[..., Role]:
    """A dependency that admits a live key whose role holds `permission`."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Role:
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

    return check


def _admit(role: Role, permission: Permission) -> Role:
    if not may(role, permission):
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"role {role.value} may not {permission.value.replace('_', ' ')}",
        )
    return role
