"""Idempotency keys: a retried request with the same key and body gets the first answer and
does the work once.

A key is claimed before the work (pending); the work's own transaction marks it applied
(a commit hook), so even when a process dies between that commit and keeping the answer,
a retry can never apply the change twice; once the answer is kept the key is done and
retries replay it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backorder.services.context import Backorder
from backorder.store.tables import idempotency_keys

_CLAIM = {
    name: dialect.insert(idempotency_keys)
    .on_conflict_do_nothing(index_elements=["api_key_id", "idempotency_key"])
    .returning(idempotency_keys.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@dataclass(frozen=True)
class Claim:
    id: int
    fresh: bool  # claimed now: do the work
    state: str
    same_request: bool
    status_code: int | None
    response: str | None


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(app: Backorder, api_key_id: int, key: str, fingerprint: str) -> Claim:
    with app.db.write() as uow:
        values = {
            "api_key_id": api_key_id,
            "idempotency_key": key,
            "request_hash": fingerprint,
            "state": "pending",
            "created_at": app.now(),
        }
        new_id = uow.connection.execute(_CLAIM[uow.dialect], values).scalar_one_or_none()
        if new_id is not None:
            uow.commit()
            return Claim(int(new_id), True, "pending", True, None, None)
        row = (
            uow.connection.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.api_key_id == api_key_id,
                    idempotency_keys.c.idempotency_key == key,
                )
            )
            .mappings()
            .one()
        )
    return Claim(
        row["id"],
        False,
        row["state"],
        row["request_hash"] == fingerprint,
        row["status_code"],
        row["response"],
    )


def applied_hook(claim_id: int) -> Any:
    """A commit hook: the change and the key's 'applied' mark commit together."""

    def mark(conn: Connection) -> None:
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == claim_id)
            .values(state="applied")
        )

    return mark


def keep_answer(app: Backorder, claim_id: int, status_code: int, response: str) -> None:
    with app.db.write() as uow:
        uow.connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == claim_id)
            .values(state="done", status_code=status_code, response=response)
        )
        uow.commit()


def release(app: Backorder, claim_id: int) -> None:
    """Free a key whose work failed without applying anything, so a retry may try again."""
    with app.db.write() as uow:
        uow.connection.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.id == claim_id, idempotency_keys.c.state == "pending"
            )
        )
        uow.commit()
