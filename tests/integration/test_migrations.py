"""The migrations build exactly the schema the code declares."""

from __future__ import annotations

import pytest
from alembic import command

from backorder.store.db import Database
from backorder.store.migrate import (
    HEAD,
    SchemaOutOfDate,
    alembic_config,
    ensure_schema,
    head_revision,
    upgrade,
)


def test_migrations_match_the_tables(db_url: str) -> None:
    database = Database(db_url)
    try:
        command.check(alembic_config(database))
    finally:
        database.dispose()


def test_the_head_every_command_checks_against_is_the_newest_migration(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        assert head_revision(database) == HEAD
    finally:
        database.dispose()


def test_an_empty_database_is_upgraded_on_first_use(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    ensure_schema(database)
    ensure_schema(database)  # idempotent
    database.dispose()


def test_an_old_schema_is_refused_with_a_hint(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    command.downgrade(alembic_config(database), "base")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE unrelated (id INTEGER)")
    with pytest.raises(SchemaOutOfDate, match="no Backorder schema version"):
        ensure_schema(database)
    database.dispose()


def test_a_schema_newer_than_the_program_is_named_as_such(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    upgrade(database)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaOutOfDate, match="newer than this program"):
        ensure_schema(database)
    database.dispose()
