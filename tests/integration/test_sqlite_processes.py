"""SQLite shared by several processes: a writer waits for another process's write lock
instead of failing, for at most the busy timeout; a read transaction can never write (so it
can never need the upgrade that WAL refuses with "database is locked")."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from backorder.store import db as store_db
from backorder.store.db import Database, unavailable
from backorder.store.tables import secrets

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, migrated_sqlite: Path) -> Database:
    path = tmp_path / "shared.db"
    shutil.copyfile(migrated_sqlite, path)
    return Database(f"sqlite:///{path}")


def hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    """Another process's writer: the write lock, held for `seconds`, then a commit."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO secrets (name, value, created_at) VALUES ('other', 'x', '2026')")
    held.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


def row(database: Database, name: str) -> None:
    with database.write() as uow:
        uow.connection.execute(insert(secrets).values(name=name, value="v", created_at=NOW))
        uow.commit()


def test_a_writer_waits_for_another_process_and_then_writes(database: Database) -> None:
    held = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(database.engine.url.database, 0.4, held))
    other.start()
    assert held.wait(10)
    started = time.monotonic()
    row(database, "mine")  # the other writer holds the lock for 0.4 s: waited for, no error
    waited = time.monotonic() - started
    other.join(10)
    with database.read() as uow:
        names = set(uow.connection.execute(select(secrets.c.name)).scalars())
    assert names == {"other", "mine"}
    assert waited > 0.1  # it did wait for the other process
    database.dispose()


def test_a_writer_gives_up_after_the_busy_timeout_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    held = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(database.engine.url.database, 1.0, held))
    other.start()
    assert held.wait(10)
    with pytest.raises(OperationalError) as refused:
        row(database, "mine")
    other.join(10)
    assert unavailable(refused.value)  # answered as "database unavailable, retry" (503)
    with database.read() as uow:
        names = set(uow.connection.execute(select(secrets.c.name)).scalars())
    assert names == {"other"}
    database.dispose()


def test_a_read_transaction_cannot_write_and_its_connection_still_writes_later(
    database: Database,
) -> None:
    with pytest.raises(OperationalError, match="readonly"), database.read() as uow:
        uow.connection.execute(insert(secrets).values(name="sneaky", value="v", created_at=NOW))
    row(database, "proper")  # the same pooled connection, as a writer again
    with database.read() as uow:
        names = set(uow.connection.execute(select(secrets.c.name)).scalars())
    assert names == {"proper"}
    database.dispose()
