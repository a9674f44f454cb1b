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
        if not may(role, permission):
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                f"role {role.value} may not {permission.value.replace('_', ' ')}",
            )
        return role

    return check
