"""Engines and the unit of work. SQLite and PostgreSQL take the same code path; only the
way a write transaction starts differs (SQLite: BEGIN IMMEDIATE; PostgreSQL: row locks)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random

from backorder.domain.errors import InvalidRequest

T = TypeVar("T")
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_WRITE_STEP_MS = 2  # a writer looks for the write lock again after at most this
SQLITE_WAL_LIMIT_BYTES = 64 << 20
SQLITE_MMAP_BYTES = 1 << 30  # address space, not memory: the pages are the OS cache's
WRITE = "backorder_write"
READ = "backorder_read"


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; other URLs pass through unchanged."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            # One shared connection, or every connection would see its own empty database.
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}, **kwargs
            )
        else:
            # Pooled: closing the last connection to a WAL file checkpoints and syncs it.
            engine = create_engine(url, pool_size=5, max_overflow=10, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # Reads map the file instead of copying each page out of the OS cache: the KPI
            # queries over a month of lines and the joins they make take half the time.
            cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
            # A checkpoint that caught up leaves the WAL file at most this size on disk.
            cursor.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_LIMIT_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        mode = WRITE if options.get(WRITE, False) else READ if options.get(READ, False) else ""
        _enter_mode(conn, mode)
        if mode == WRITE:
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


# How a pooled connection is set for each kind of transaction: a write waits for the write
# lock in short steps (see _begin_immediate) and may write; a read may not write, so that it
# can never need to upgrade to a write (in WAL mode an upgrade fails at once with "database
# is locked" when another connection wrote since the read began); anything else (migrations,
# the demo, the simulator's own copy) as SQLite has it by default.
_MODES = {
    WRITE: (SQLITE_WRITE_STEP_MS, 0),
    READ: (SQLITE_BUSY_TIMEOUT_MS, 1),
    "": (SQLITE_BUSY_TIMEOUT_MS, 0),
}


def _enter_mode(conn: Connection, mode: str) -> None:
    info = conn.connection.info
    if info.get("backorder_mode") == mode:
        return
    busy_ms, query_only = _MODES[mode]
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout = {busy_ms}")
    raw.execute(f"PRAGMA query_only = {query_only}")
    info["backorder_mode"] = mode


def _busy(error: BaseException) -> bool:
    cause = getattr(error, "orig", None)
    return getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


def _begin_immediate(conn: Connection) -> None:
    """Take the write lock at BEGIN, so that two writers never deadlock upgrading. Another
    process holding it is waited for in steps of a few milliseconds, at most the busy
    timeout in all: SQLite's own busy handler sleeps longer and longer (up to 100 ms a
    time), and a process waiting in it loses the lock again and again to a busy process
    whose threads take it in turn the moment it is free."""
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    except OperationalError as error:
        if not _busy(error):
            raise
    for attempt in Retrying(
        retry=retry_if_exception(_busy),
        wait=wait_random(0, SQLITE_WRITE_STEP_MS / 1000),
        stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
        reraise=True,
    ):
        with attempt:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


# Statements that must commit in the same transaction as whatever change the current request
# makes (e.g. marking an idempotency key applied). Set per request by the entry point.
COMMIT_HOOKS: ContextVar[tuple[Callable[[Connection], None], ...]] = ContextVar(
    "COMMIT_HOOKS", default=()
)


class Commits:
    """How many transactions the current request has committed, so that its answer can say
    whether anything was changed even when the request fails afterwards."""

    def __init__(self) -> None:
        self.count = 0


# Set per request by the entry point (the HTTP app); None elsewhere.
COMMITS: ContextVar[Commits | None] = ContextVar("COMMITS", default=None)


class UnitOfWork:
    """One transaction. It rolls back unless `commit()` is called."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self._committed = False

    def commit(self) -> None:
        for hook in COMMIT_HOOKS.get():
            hook(self.connection)
        self.connection.commit()
        self._committed = True
        tally = COMMITS.get()
        if tally is not None:
            tally.count += 1

    @property
    def locks_rows(self) -> bool:
        """PostgreSQL serialises per SKU with row locks; SQLite has one writer at a time."""
        return self.dialect != "sqlite"


class Replica:
    """A PostgreSQL streaming standby for the reads that need no fresh data. While it cannot
    be reached, `connect()` gives None (those reads go to the primary): the first failure is
    logged, and the standby is tried again only after `RETRY_SECONDS`, so that an outage
    costs one failed connect per process and period, not one per read."""

    CONNECT_TIMEOUT_SECONDS = 3
    RETRY_SECONDS = 30.0

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(
            self.url, connect_args={"connect_timeout": self.CONNECT_TIMEOUT_SECONDS}
        )
        self._down_until: float | None = None  # time.monotonic(); None: up as far as known

    def connect(self) -> Connection | None:
        down_until = self._down_until
        if down_until is not None and time.monotonic() < down_until:
            return None
        try:
            conn = self.engine.connect()
        except Exception as error:
            if not unavailable(error):
                raise
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            log.warning(
                "read replica unreachable (%s); reading the primary, trying it again in %g s",
                (str(error).strip().splitlines() or [type(error).__name__])[0],
                self.RETRY_SECONDS,
            )
            return None
        if down_until is not None:
            self._down_until = None
            log.warning("read replica reachable again; reads that need no fresh data go to it")
        return conn

    def dispose(self) -> None:
        self.engine.dispose()


class Database:
    def __init__(self, url: str, replica_url: str | None = None) -> None:
        self.url = normalise_url(url)
        backend = make_url(self.url).get_backend_name()
        if replica_url is not None and backend != "postgresql":
            raise InvalidRequest(
                f"a read replica needs a PostgreSQL primary, and this database is {backend} "
                "(SQLite has no replicas): leave BACKORDER_READ_DATABASE_URL empty"
            )
        self.engine = make_engine(self.url)
        self.replica = Replica(replica_url) if replica_url is not None else None
        # SQLite has one writer at a time. Threads of this process queue here for their
        # turn instead of in SQLite's busy handler, which sleeps in growing steps and so
        # turns a short wait into a long one under load. Other processes still meet at
        # BEGIN IMMEDIATE and its busy timeout.
        self._writer = threading.Lock() if self.engine.dialect.name == "sqlite" else None

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        with self._turn(), self.engine.connect().execution_options(**{WRITE: True}) as conn:
            uow = UnitOfWork(conn)
            try:
                yield uow
            finally:
                if not uow._committed:
                    conn.rollback()

    def _turn(self) -> AbstractContextManager[Any]:
        return self._writer if self._writer is not None else nullcontext()

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self.engine.connect().execution_options(**{READ: True}) as conn:
            uow = UnitOfWork(conn)
            try:
                yield uow
            finally:
                conn.rollback()

    @contextmanager
    def stale_read(self) -> Iterator[UnitOfWork]:
        """A read-only transaction for what may be a moment behind the primary (KPIs, the
        weekly report): on the read replica when one is set and reachable, else on the
        primary. Never for a read that a write in the same use case depends on, nor for what
        a user has just changed and expects to see."""
        conn = self.replica.connect() if self.replica is not None else None
        if conn is None:
            conn = self.engine.connect()
            if conn.dialect.name == "postgresql":  # read-only there too (a standby is)
                conn = conn.execution_options(postgresql_readonly=True)
        with conn:
            uow = UnitOfWork(conn)
            try:
                yield uow
            finally:
                conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()


def unavailable(error: BaseException) -> bool:
    """The database could not be reached or could not serve the statement now (a restart, a
    lost connection, a lock held too long, a full pool): the same work may succeed later.
    Anything else a statement raises is about the data or the code, and will fail again."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def batches(items: Sequence[T], size: int = 1000) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items: an IN list per slice stays far below the drivers'
    limits on parameters (PostgreSQL's 65,535; SQLite's 32,766)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
