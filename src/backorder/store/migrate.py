"""Schema migrations: `backorder db upgrade`, and the first-use upgrade of an empty database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

from backorder.domain.errors import BackorderError
from backorder.store.db import WRITE, Database


class SchemaOutOfDate(BackorderError):
    pass


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "backorder.store:migrations")
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


MIGRATION_LOCK_KEY = 7202


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate in one transaction that holds the write lock (SQLite) or an advisory lock
    (PostgreSQL), so processes starting together on an empty database migrate it once."""
    config = alembic_config(db)
    with db.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(db: Database) -> None:
    """Upgrade an empty database so a new user never has to; refuse to run on an old schema."""
    current = current_revision(db)
    head = head_revision(db)
    if current == head:
        return
    if current is None:
        with db.engine.connect() as conn:
            tables = inspect(conn).get_table_names()
        if not tables:
            upgrade(db)
            return
        raise SchemaOutOfDate(
            "the database holds tables but no Backorder schema version; "
            "point --db at an empty database or a Backorder one"
        )
    try:
        known = ScriptDirectory.from_config(alembic_config(db)).get_revision(current)
    except CommandError:
        known = None
    if known is None:
        raise SchemaOutOfDate(
            f"the database schema {current} is unknown to this version of Backorder "
            f"(it knows up to {head}); is the database newer than this program?"
        )
    raise SchemaOutOfDate(
        f"the database schema is at {current}, this version needs {head}: "
        "run `backorder db upgrade`"
    )
