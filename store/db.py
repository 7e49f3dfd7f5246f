"""Engines for the store: one SQLite file for the embedded stack, PostgreSQL in production.

Both backends get the same schema and the same code paths; the differences live here, in how a
connection is opened and how a write transaction starts.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the file lock before failing (many worker threads write)."""

SQLITE_BEGIN_OPTION = "warmline_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode (DEFERRED | IMMEDIATE) for a transaction."""

_POSTGRES_DRIVERS = {"postgres", "postgresql"}


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; a bare PostgreSQL scheme gets the psycopg 3 driver (the one installed).

    ``postgres://`` is what Heroku-style and docker env vars hand out; SQLAlchemy would read it
    as the psycopg2 dialect, which is not a dependency.
    """
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once (the mode is kept in the file). SQLite answers a switch
    attempted while another connection holds a lock with "database is locked" without calling
    the busy handler, so replicas opening a new file together (one of them migrating) retry
    until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: URL) -> Engine:
    memory = _is_sqlite_memory(url)
    database = url.database or ""
    if not memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        # Every new connection to ":memory:" is a new, empty database; share one connection so
        # the schema created by init_schema is the one the store reads.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN cannot be told to take the write lock up front; turn it
        # off and issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The wait first: switching to WAL needs the file lock too, and without a busy
            # timeout a connection opened while another process migrates fails at once.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # WAL lets readers (API, summary) run while a worker writes; NORMAL is durable across
            # process crashes under WAL, which is what an embedded stack needs.
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" if another writer committed in between (busy_timeout does not apply). Write
        # paths ask for IMMEDIATE so they queue on the lock instead; reads stay DEFERRED.
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")

    return engine


def create_store_engine(url: str) -> Engine:
    """An Engine for ``url`` (SQLite file or PostgreSQL), tuned for many worker threads."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def write_engine(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take SQLite's write lock when they begin.

    Other backends ignore the option: PostgreSQL writers are serialised by unique constraints
    and retried by the repository.
    """
    return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})


def init_schema(engine: Engine) -> None:
    """Migrate the schema to the newest revision (safe to call on every start).

    Runs the Alembic revisions (``store.migrate``), so a new database and one from an earlier
    release end up with the same tables.
    """
    from store.migrate import upgrade

    upgrade(engine)
