"""Schema migrations: `backorder db upgrade`, and the first-use upgrade of an empty database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from backorder.domain.errors import BackorderError
from backorder.store.db import WRITE, Database

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration. Every command checks the schema against it, and alembic (slow to
# import) is loaded only when the schema is not there yet or not current; a test holds this
# to alembic's own head.
HEAD = "0041"


class SchemaOutOfDate(BackorderError):
    pass


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "backorder.store:migrations")
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def head_revision(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return _version(conn)


def _version(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(version) if version is not None else None


MIGRATION_LOCK_KEY = 7202


@contextmanager
def _migration_lock(db: Database) -> Iterator[Connection]:
    """One transaction holding the write lock (SQLite) or an advisory lock (PostgreSQL), so
    processes starting together on one database migrate it once."""
    with db.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
        yield conn


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config(db)
    with _migration_lock(db) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _first_use(db: Database) -> None:
    """Decide under the migration lock, where no other process can be half-way through."""
    from alembic import command

    config = alembic_config(db)
    with _migration_lock(db) as conn:
        current = _version(conn)
        if current is not None:
            return  # another process migrated it meanwhile; ensure_schema checks again
        if set(inspect(conn).get_table_names()) - {"alembic_version"}:
            raise SchemaOutOfDate(
                "the database holds tables but no Backorder schema version; "
                "point --db at an empty database or a Backorder one"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def ensure_schema(db: Database) -> None:
    """Upgrade an empty database so a new user never has to; refuse to run on an old schema."""
    current = current_revision(db)
    if current == HEAD:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    head = head_revision(db)
    if current is None:
        _first_use(db)
        current = current_revision(db)
    if current == head:
        return
    if current is None:
        raise SchemaOutOfDate("the database schema could not be created")
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
