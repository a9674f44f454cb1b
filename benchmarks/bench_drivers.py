"""Throwaway databases (a temporary SQLite file, a `backorder_bench_<hex>` PostgreSQL
database) and the raw drivers (sqlite3, psycopg 3) the floor and the bulk seeding use."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from backorder.store.db import SQLITE_BUSY_TIMEOUT_MS, normalise_url

CONNECT_TIMEOUT_S = 5


class RawDb(ABC):
    """The few things the floor needs from a DB-API driver. SQL is written with `%s`
    placeholders; the SQLite driver rewrites them to `?` (once per statement text)."""

    backend: str
    for_update: str

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def run_many(self, statement: str, params: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def ts(self, moment: datetime) -> Any:
        """A timezone-aware time as the engine's UtcDateTime column stores it."""

    @abstractmethod
    def day(self, value: date | None) -> Any: ...

    @abstractmethod
    def json(self, document: dict[str, Any]) -> Any: ...

    @abstractmethod
    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
                    ) -> None:
        """Insert many rows inside the current transaction, the fastest way the driver has."""

    @abstractmethod
    def sync_sequences(self) -> None:
        """After rows came in with explicit ids: move the id generators past them."""

    @abstractmethod
    def refresh_statistics(self) -> None:
        """What a production database does by itself after a big load."""

    @abstractmethod
    def close(self) -> None: ...


class SqliteRaw(RawDb):
    backend = "sqlite"
    for_update = ""  # BEGIN IMMEDIATE already holds the one write lock

    def __init__(self, path: Path) -> None:
        # The same connection settings as the engine (store/db.py), kept open for the run.
        self.conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
        for pragma in (f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "foreign_keys = ON",
                       "journal_mode = WAL", "synchronous = NORMAL"):
            self.conn.execute(f"PRAGMA {pragma}")
        self._sql: dict[str, str] = {}

    def _q(self, statement: str) -> str:
        native = self._sql.get(statement)
        if native is None:
            native = self._sql[statement] = statement.replace("%s", "?")
        return native

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.conn.in_transaction:  # reads outside BEGIN run in autocommit
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(self._q(statement), params).fetchall()

    def run_many(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(self._q(statement), params)

    def ts(self, moment: datetime) -> Any:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(self, value: date | None) -> Any:
        return None if value is None else value.isoformat()

    def json(self, document: dict[str, Any]) -> Any:
        return json.dumps(document)

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
                    ) -> None:
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def sync_sequences(self) -> None:
        pass  # an INTEGER PRIMARY KEY takes max(rowid) + 1 by itself

    def refresh_statistics(self) -> None:
        pass  # the product never runs ANALYZE on SQLite; neither does the benchmark

    def close(self) -> None:
        self.conn.close()


class PostgresRaw(RawDb):
    backend = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, conninfo: str) -> None:
        # Default psycopg settings: statements are prepared server-side after 5 uses.
        self.conn = psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S)
        self.cur = self.conn.cursor()

    def begin(self) -> None:
        pass  # psycopg opens the transaction with the first statement

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(statement, params)
        return self.cur.fetchall() if self.cur.description else []

    def run_many(self, statement: str, params: Sequence[Sequence[Any]]) -> None:
        self.cur.executemany(statement, params)  # pipelined by psycopg

    def ts(self, moment: datetime) -> Any:
        return moment

    def day(self, value: date | None) -> Any:
        return value

    def json(self, document: dict[str, Any]) -> Any:
        return Jsonb(document)

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
                    ) -> None:
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.cur.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)

    def sync_sequences(self) -> None:
        for table in ("orders", "order_lines"):
            self.cur.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), max(id)) FROM {i}")
                .format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        self.conn.commit()

    def refresh_statistics(self) -> None:
        # Autovacuum analyses a table after a load this size; do it now rather than by luck.
        self.conn.commit()
        self.conn.autocommit = True
        try:
            self.cur.execute("ANALYZE orders, order_lines, products")
        finally:
            self.conn.autocommit = False

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Target:
    """One throwaway database: its SQLAlchemy URL for the engine and a raw connection maker."""

    backend: str
    url: str
    label: str

    def raw(self) -> RawDb:
        if self.backend == "sqlite":
            return SqliteRaw(Path(make_url(self.url).database or ""))
        return PostgresRaw(conninfo(self.url))


def conninfo(url: str) -> str:
    """A libpq URI from a SQLAlchemy URL (`postgresql+psycopg://...` -> `postgresql://...`)."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


def postgres_problem(admin_url: str) -> str | None:
    """None when the server answers, else why not, in one line."""
    try:
        with psycopg.connect(conninfo(admin_url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{error.__class__.__name__}: {first}"
    return None


def postgres_version(url: str) -> str:
    with psycopg.connect(conninfo(url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def sqlite_databases() -> Iterator[Callable[..., Target]]:
    """Yields `new(label, like=None) -> Target`: SQLite files in a temporary directory,
    removed after; `like` (a closed Target) is copied instead of starting empty."""
    with tempfile.TemporaryDirectory(prefix="backorder_bench_") as directory:
        def new(label: str, like: Target | None = None) -> Target:
            path = Path(directory) / f"{label}-{uuid.uuid4().hex[:8]}.db"
            if like is not None:
                shutil.copyfile(make_url(like.url).database or "", path)
            return Target("sqlite", f"sqlite:///{path}", label)

        yield new


@contextmanager
def postgres_databases(admin_url: str) -> Iterator[Callable[..., Target]]:
    """Yields `new(label, like=None) -> Target`: fresh `backorder_bench_<hex>` databases,
    each dropped WITH (FORCE) at the end, whatever happened in between; `like` (a Target
    nobody is connected to) is the template of the new one instead of an empty database."""
    created: list[str] = []
    admin = conninfo(admin_url)

    def new(label: str, like: Target | None = None) -> Target:
        name = f"backorder_bench_{uuid.uuid4().hex[:12]}"
        template = sql.SQL("")
        if like is not None:
            template = sql.SQL(" TEMPLATE {}").format(
                sql.Identifier(make_url(like.url).database or "")
            )
        with psycopg.connect(admin, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), template)
            )
        created.append(name)
        url = make_url(normalise_url(admin_url)).set(database=name)
        return Target("postgresql", url.render_as_string(hide_password=False), label)

    with ExitStack() as cleanup:
        @cleanup.callback
        def _drop_all() -> None:
            with psycopg.connect(admin, autocommit=True,
                                 connect_timeout=CONNECT_TIMEOUT_S) as conn:
                for name in created:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                        .format(sql.Identifier(name))
                    )

        yield new
