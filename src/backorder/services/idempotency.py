"""Idempotency keys: a retried request with the same key and body gets the first answer and
does the work once.

A key is claimed before the work (pending); the work's own transaction marks it applied
(a commit hook), so even when a process dies between that commit and keeping the answer,
a retry can never apply the change twice; once the answer is kept the key is done and
retries replay it.

A claim is a lease: a process killed mid-request leaves its key pending, and a pending key
never applied anything (the applied mark commits with the change). So a retry that finds a
key pending for longer than the lease takes it over and does the work. Each claim of a key
has its number, and the work commits only under the claim that started it: a request that
outlived its lease and was taken over fails at its commit, changing nothing, instead of
applying the change a second time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backorder.domain.errors import BackorderError
from backorder.services.context import Backorder
from backorder.store.tables import idempotency_keys

_CLAIM = {
    name: dialect.insert(idempotency_keys)
    .on_conflict_do_nothing(index_elements=["api_key_id", "idempotency_key"])
    .returning(idempotency_keys.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
KEYS = idempotency_keys.c


class ClaimLost(BackorderError):
    """This request ran past its lease and a retry with the same key took the key over."""


@dataclass(frozen=True)
class Claim:
    id: int
    fresh: bool  # claimed now (or taken over from a request that is gone): do the work
    state: str
    same_request: bool
    status_code: int | None
    response: str | None
    number: int  # which claim of the key this is: the work commits only under it


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(app: Backorder, api_key_id: int, key: str, fingerprint: str) -> Claim:
    """Claim the key for this request; or take over a pending claim older than the lease
    (one retry only: the takeover is a compare-and-set on the claim's number); or say what
    the key holds."""
    now = app.now()
    with app.db.write() as uow:
        values = {
            "api_key_id": api_key_id,
            "idempotency_key": key,
            "request_hash": fingerprint,
            "state": "pending",
            "created_at": now,
            "claimed_at": now,
            "claim": 1,
        }
        new_id = uow.connection.execute(_CLAIM[uow.dialect], values).scalar_one_or_none()
        if new_id is not None:
            uow.commit()
            return Claim(int(new_id), True, "pending", True, None, None, 1)
        row = (
            uow.connection.execute(
                select(idempotency_keys).where(
                    KEYS.api_key_id == api_key_id, KEYS.idempotency_key == key
                )
            )
            .mappings()
            .one()
        )
        same = row["request_hash"] == fingerprint
        lapsed = now - timedelta(seconds=app.settings.idempotency_lease_seconds)
        if same and row["state"] == "pending" and row["claimed_at"] <= lapsed:
            taken = uow.connection.execute(
                update(idempotency_keys)
                .where(KEYS.id == row["id"], KEYS.state == "pending", KEYS.claim == row["claim"])
                .values(claimed_at=now, claim=row["claim"] + 1)
            ).rowcount
            if taken == 1:
                uow.commit()
                return Claim(row["id"], True, "pending", True, None, None, row["claim"] + 1)
    return Claim(
        row["id"], False, row["state"], same, row["status_code"], row["response"], row["claim"]
    )


def applied_hook(held: Claim) -> Any:
    """A commit hook: the change and the key's 'applied' mark commit together, and only
    while this request's claim still holds the key."""

    def mark(conn: Connection) -> None:
        marked = conn.execute(
            update(idempotency_keys)
            .where(KEYS.id == held.id, KEYS.claim == held.number)
            .values(state="applied")
        ).rowcount
        if marked != 1:
            raise ClaimLost(
                "this request ran past its Idempotency-Key's lease and a retry took the key "
                "over; nothing was changed by this one"
            )

    return mark


def keep_answer(app: Backorder, held: Claim, status_code: int, response: str) -> None:
    with app.db.write() as uow:
        uow.connection.execute(
            update(idempotency_keys)
            .where(KEYS.id == held.id, KEYS.claim == held.number)
            .values(state="done", status_code=status_code, response=response)
        )
        uow.commit()


def release(app: Backorder, held: Claim) -> None:
    """Free a key whose work failed without applying anything, so a retry may try again
    (unless another claim holds it by now)."""
    with app.db.write() as uow:
        uow.connection.execute(
            delete(idempotency_keys).where(
                KEYS.id == held.id, KEYS.state == "pending", KEYS.claim == held.number
            )
        )
        uow.commit()
