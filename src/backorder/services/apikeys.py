"""API keys: minted once, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from backorder.domain.access import Role
from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.store.tables import api_keys

KEY_PREFIX = "bo_"
MAX_KNOWN_KEYS = 10_000  # bound on the trusted-key cache of one process


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once
    id: int
    role: Role
    name: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(app: Backorder, role: Role, name: str | None = None) -> NewKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    name = name or f"{role.value} key"
    if len(name) > 200:
        raise InvalidRequest("key name is longer than 200 characters")
    with app.db.write() as uow:
        key_id = uow.connection.execute(
            insert(api_keys)
            .values(
                name=name,
                role=role.value,
                prefix=key[:10],
                key_hash=_digest(key),
                created_at=app.now(),
            )
            .returning(api_keys.c.id)
        ).scalar_one()
        uow.commit()
    return NewKey(key, int(key_id), role, name)


def list_keys(app: Backorder) -> list[dict[str, Any]]:
    with app.db.read() as uow:
        rows = uow.connection.execute(select(api_keys).order_by(api_keys.c.id)).mappings()
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "role": r["role"],
                "prefix": r["prefix"],
                "created_at": r["created_at"].isoformat(),
                "revoked_at": r["revoked_at"].isoformat() if r["revoked_at"] else None,
            }
            for r in rows
        ]


def revoke_key(app: Backorder, key_id: int) -> None:
    with app.db.write() as uow:
        done = uow.connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=app.now())
        )
        if done.rowcount != 1:
            raise InvalidRequest(f"no active API key with id {key_id}")
        uow.commit()
    app.known_keys.clear()  # this process stops trusting it at once


def trusted(app: Backorder, key: str) -> tuple[int, Role] | None:
    """The id and role of a key this process trusts without asking the database (a live
    key it checked less than `api_key_cache_seconds` ago), or None: then ask `identify`."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    known = app.known_keys.get(_digest(key))
    if known is not None and app.now() < known[0]:
        return known[1], known[2]
    return None


def identify(app: Backorder, key: str) -> tuple[int, Role] | None:
    """The id and role of a live key, or None. A live key is trusted for
    `api_key_cache_seconds` before the database is asked again; unknown keys always are."""
    known = trusted(app, key)
    if known is not None:
        return known
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest, now = _digest(key), app.now()
    with app.db.read() as uow:
        row = uow.connection.execute(
            select(api_keys.c.id, api_keys.c.role).where(
                api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        app.known_keys.pop(digest, None)
        return None
    found = (int(row.id), Role(row.role))
    if app.settings.api_key_cache_seconds:
        if len(app.known_keys) >= MAX_KNOWN_KEYS:
            app.known_keys.clear()
        until = now + timedelta(seconds=app.settings.api_key_cache_seconds)
        app.known_keys[digest] = (until, *found)
    return found


def key_name(app: Backorder, key: str) -> str | None:
    """The name of a live key (what a decision records as who took it), or None."""
    found = identify(app, key)
    if found is None:
        return None
    with app.db.read() as uow:
        name = uow.connection.execute(
            select(api_keys.c.name).where(api_keys.c.id == found[0])
        ).scalar_one_or_none()
    return None if name is None else str(name)


def authenticate(app: Backorder, key: str) -> Role | None:
    """The role of a live key, or None."""
    found = identify(app, key)
    return found[1] if found else None
