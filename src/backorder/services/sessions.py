"""Sessions of the dashboard: a person signs in with an API key of any role once; the browser
then holds a signed cookie naming the key (never the key itself), good for a working day and
only while the key is live."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from backorder.domain.access import Role
from backorder.services.apikeys import identify
from backorder.services.context import Backorder
from backorder.services.customer_links import stored_secret
from backorder.store.tables import api_keys

SECRET_NAME = "dashboard_session"
SALT = "backorder.dashboard-session"
COOKIE = "backorder_session"
SESSION_SECONDS = 12 * 3600


def _serializer(app: Backorder) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(stored_secret(app, SECRET_NAME), salt=SALT)


def sign_in(app: Backorder, key: str) -> str | None:
    """The session cookie's value for a live key, or None."""
    found = identify(app, key.strip())
    if found is None:
        return None
    key_id, role = found
    return _serializer(app).dumps({"key": key_id, "role": role.value})


def session_role(app: Backorder, token: str) -> Role | None:
    """The role of a session whose key is still live, or None (forged, expired, revoked)."""
    try:
        claims: Any = _serializer(app).loads(token, max_age=SESSION_SECONDS)
        key_id = int(claims["key"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    with app.db.read() as uow:
        role = uow.connection.execute(
            select(api_keys.c.role).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        ).scalar_one_or_none()
    return None if role is None else Role(role)
