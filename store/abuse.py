"""Fleet-wide abuse counters: one row per counter and fixed window, incremented atomically.

Why the store: limits must hold across every worker (a flood spread over ten workers is still
one flood), and every worker already shares the store. Increments are one
``INSERT ... ON CONFLICT DO UPDATE SET count = count + excluded.count RETURNING count`` row
per key (SQLite 3.35+ and PostgreSQL alike), so concurrent increments never lose a count and
no lock is held across a read and a write. Rows outlive their window by one window (the
sliding estimate reads the previous one) and are pruned after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Insert, Select, Table, bindparam, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from models.abuse import CounterKey, CounterReading
from store.db import init_schema as migrate_schema
from store.db import write_engine
from store.writes import write_with_retry

ABUSE_COUNTERS = "abuse_counters"
_READ_CHUNK = 200
"""Previous-window keys per SELECT (SQLite bounds a statement's parameters)."""


class AbuseCounterRow(SQLModel, table=True):
    """Events counted for one key in one fixed window."""

    __tablename__ = ABUSE_COUNTERS

    name: str = Field(primary_key=True, max_length=300)
    window_start: float = Field(primary_key=True)
    count: int = 0
    expires_at: float = Field(index=True, description="Epoch seconds after which it is pruned.")


def _table() -> Table:
    return SQLModel.metadata.tables[ABUSE_COUNTERS]


def abuse_tables() -> list[Table]:
    return [SQLModel.metadata.tables[ABUSE_COUNTERS]]


def _upsert_statement(dialect_name: str) -> Insert:
    """Add each row's ``count`` to its key's window (inserting the row at that count); the
    counts after, by key. Run with one parameter set per distinct key: SQLAlchemy sends them
    as one multi-row INSERT, whose rows take their locks in the order given."""
    table = _table()
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=["name", "window_start"],
        set_={"count": table.c.count + statement.excluded.count},
    ).returning(table.c.name, table.c.window_start, table.c.count)


def _previous_statement() -> Select[tuple[str, float, int]]:
    table = _table()
    return select(table.c.name, table.c.window_start, table.c.count).where(
        tuple_(table.c.name, table.c.window_start).in_(bindparam("keys", expanding=True))
    )


class AbuseStore:
    """Counters over a store engine (SQLite or PostgreSQL); thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = write_engine(engine)
        # Built once: every start and turn counts here, and building a statement costs more
        # Python time than running it.
        self._upsert_statement = _upsert_statement(engine.dialect.name)
        self._previous_statement = _previous_statement()

    def init_schema(self) -> None:
        """Bring the schema (these tables included) to the newest migration."""
        migrate_schema(self._engine)

    def _count(self, session: Session, events: Sequence[Sequence[CounterKey]]) -> list[list[int]]:
        """Each key's count right after each event, as counting the events one after the other
        gives: one upsert adds every key's events at once, and the j-th of a key's n events
        reads the total less the n - j counted after it. The same counts as n increments in
        this transaction, which holds the key's row from its first one to the commit."""
        rows: dict[tuple[str, float], dict[str, Any]] = {}  # first occurrence first: lock order
        for keys in events:
            for key in keys:
                row = rows.get((key.name, key.window_start))
                if row is None:
                    row = rows[(key.name, key.window_start)] = {
                        "name": key.name,
                        "window_start": key.window_start,
                        "count": 0,
                        "expires_at": key.window_start + 2 * key.window_seconds,
                    }
                row["count"] += 1
        result = session.execute(self._upsert_statement, list(rows.values()))
        totals = {(name, start): int(count) for name, start, count in result.all()}
        after = {slot: row["count"] for slot, row in rows.items()}
        counts: list[list[int]] = []
        for keys in events:
            counts.append([])
            for key in keys:
                slot = (key.name, key.window_start)
                after[slot] -= 1
                counts[-1].append(totals[slot] - after[slot])
        return counts

    def increment(self, keys: Sequence[CounterKey]) -> list[CounterReading]:
        """Count one event on every key; return each key's count now and the window before."""
        return self.increment_many([keys])[0]

    def increment_many(self, events: Sequence[Sequence[CounterKey]]) -> list[list[CounterReading]]:
        """Count several events (each on its keys) in one write transaction, in order.

        Why: concurrent starts and turns each taking the write lock for a two-statement
        transaction queue on it (SQLite's busy handler sleeps between tries); one transaction
        for all of them takes the lock once. The current counts are what counting them one
        after the other gives (each event's include the events before it in ``events``, never
        after); previous windows are read once all are counted.
        """
        if not any(events):
            return [[] for _ in events]

        def work(session: Session) -> list[list[CounterReading]]:
            current = self._count(session, events)
            wanted = list(
                {(k.name, k.window_start - k.window_seconds) for keys in events for k in keys}
            )
            previous: dict[tuple[str, float], int] = {}
            for start in range(0, len(wanted), _READ_CHUNK):
                rows = session.execute(
                    self._previous_statement, {"keys": wanted[start : start + _READ_CHUNK]}
                ).all()
                previous.update({(name, begin): count for name, begin, count in rows})
            return [
                [
                    CounterReading(
                        key=key,
                        current=count,
                        previous=previous.get((key.name, key.window_start - key.window_seconds), 0),
                    )
                    for key, count in zip(keys, counts, strict=True)
                ]
                for keys, counts in zip(events, current, strict=True)
            ]

        return write_with_retry(self._writer, work)

    def prune(self, now: float) -> int:
        """Delete counters whose windows no estimate reads any more."""

        def work(session: Session) -> int:
            result = session.execute(delete(_table()).where(_table().c.expires_at < now))
            return int(getattr(result, "rowcount", 0) or 0)

        return write_with_retry(self._writer, work)
