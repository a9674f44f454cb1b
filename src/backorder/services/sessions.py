"""Sessions of the dashboard: a person signs in with an API key of any role once; the browser
then holds a random token (never the key), which the database knows only by its hash. A
session is good for a working day, and ends at once when it signs out or its key is revoked:
every request asks the database, so a copied cookie stops working with it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from backorder.domain.access import Role
from backorder.services.apikeys import identify
from backorder.services.context import Backorder
from backorder.store.tables import api_keys, sessions

COOKIE = "backorder_session"
SESSION_SECONDS = 12 * 3600
MAX_TOKEN = 200  # a token is 43 characters; anything much longer is not one


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(app: Backorder, key: str) -> str | None:
    """A new session's token for a live key, or None. Sessions long expired are cleared on
    the way (at most a working day's sign-ins are ever kept)."""
    found = identify(app, key.strip())
    if found is None:
        return None
    token, now = secrets.token_urlsafe(32), app.now()
    with app.db.write() as uow:
        uow.connection.execute(delete(sessions).where(sessions.c.expires_at < now))
        uow.connection.execute(
            insert(sessions).values(
                token_hash=_digest(token),
                api_key_id=found[0],
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_SECONDS),
            )
        )
        uow.commit()
    return token


def session_name(app: Backorder, token: str) -> str | None:
    """The name of the key a live session signed in with (who a dashboard decision was
    taken by), or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    with app.db.read() as uow:
        name = uow.connection.execute(
            select(api_keys.c.name)
            .join(sessions, sessions.c.api_key_id == api_keys.c.id)
            .where(sessions.c.token_hash == _digest(token), sessions.c.expires_at > app.now())
        ).scalar_one_or_none()
    return None if name is None else str(name)


def session_role(app: Backorder, token: str) -> Role | None:
    """The role of a live session (not expired, not signed out, its key not revoked), or
    None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    with app.db.read() as uow:
        role = uow.connection.execute(
            select(api_keys.c.role)
            .join(sessions, sessions.c.api_key_id == api_keys.c.id)
            .where(
                sessions.c.token_hash == _digest(token),
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > app.now(),
                api_keys.c.revoked_at.is_(None),
            )
        ).scalar_one_or_none()
    return None if role is None else Role(role)


def sign_out(app: Backorder, token: str) -> None:
    """End a session: its token is refused from now on, wherever it was copied to."""
    if not token or len(token) > MAX_TOKEN:
        return
    with app.db.write() as uow:
        uow.connection.execute(
            update(sessions)
            .where(sessions.c.token_hash == _digest(token), sessions.c.revoked_at.is_(None))
            .values(revoked_at=app.now())
        )
        uow.commit()
