"""Shared fleet health in the store: breaker rows, per-worker window flushes, the WFM outbox.

Why the store and not a Temporal entity workflow per endpoint: every worker already talks to
the store, a flush per second per worker is far cheaper than a signal per call, and a
compare-and-set on one row gives exactly-once transitions without a leader. Breaker rows carry
``revision`` (bumped on every state change: windows restart) and ``row_version`` (bumped on
every write: the compare-and-set). A transition, its audit events (``fleet-health``,
``wfm-events``) and its outbox row commit in one transaction, so a WFM event exists if and only
if the transition does, and the webhook cannot lose it. An opening commits its pending
automatic rollback the same way (``auto_rollback_outbox``): the opening worker starts it at
once, and if that worker dies first, any other worker claims the row when its lease lapses.

Times used in breaker arithmetic are epoch seconds (floats) from the workers' clocks; the UTC
columns are for people and queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Index, Table, Text, delete, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from models.facts import AuditEvent
from store.audit_chain import append_events, next_seq
from store.db import init_schema, write_engine
from store.fleet import record_event_once
from store.repository import Store
from store.tables import InteractionFactRow, UTCDateTime, utc_now
from store.writes import WriteConflict, write_with_retry
from warmline.auto_rollback import opening_key

T = TypeVar("T")
R = TypeVar("R")

FLEET_BREAKERS = "fleet_breakers"
FLEET_HEALTH_WINDOWS = "fleet_health_windows"
WFM_OUTBOX = "wfm_outbox"
AUTO_ROLLBACK_OUTBOX = "auto_rollback_outbox"


class BreakerRow(SQLModel, table=True):
    """The fleet-wide breaker of one endpoint version."""

    __tablename__ = FLEET_BREAKERS

    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    state: str = "closed"
    revision: int = 0
    row_version: int = 0
    since: float = 0.0
    opened_at: float = 0.0
    open_seconds: float = 0.0
    probe_owner: str | None = None
    probe_claimed_at: float = 0.0
    reasons: str = Field(default="[]", sa_type=Text)
    degradation: str | None = Field(default=None, sa_type=Text)
    outage_started_at: float | None = None
    recovered_at: float | None = None
    outage_history: str = Field(default="[]", sa_type=Text)
    baseline_cps: float | None = None
    """AI conversations per second when the outage began (what a restore gives back)."""
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class WindowRow(SQLModel, table=True):
    """One worker's current window of one endpoint version (overwritten every flush)."""

    __tablename__ = FLEET_HEALTH_WINDOWS
    __table_args__ = (Index("ix_fleet_health_windows_flushed_at", "flushed_at"),)

    worker_id: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    revision: int = 0
    aggregate: str = Field(default="{}", sa_type=Text)
    active_sessions: int = 0
    flushed_at: float = 0.0


class WfmOutboxRow(SQLModel, table=True):
    """A WFM capacity event waiting for (or done with) its webhook delivery."""

    __tablename__ = WFM_OUTBOX

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    url: str
    payload: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: float = Field(default=0.0, index=True)
    claimed_by: str | None = None
    claimed_until: float = 0.0
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    dead_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Dead letter: delivery gave up after the last attempt (``warmline wfm events retry``)."""


DEAD_LETTER_AT: float = 1e18
"""``next_attempt_at`` of a dead-lettered event: never due until an operator retries it."""


class AutoRollbackOutboxRow(SQLModel, table=True):
    """A breaker opening whose automatic rollback is pending (or was decided: ``done_at``).

    Written with the opening, claimed by the opening worker in the same transaction; once
    ``claimed_until`` lapses (the worker died) any worker with a Temporal client takes it.
    """

    __tablename__ = AUTO_ROLLBACK_OUTBOX
    __table_args__ = (Index("ix_auto_rollback_outbox_pending", "done_at", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    opening: str = Field(unique=True)
    """``agent:version/r<revision>``: one row, and so one decision, per opening."""
    name: str
    version: str
    from_state: str
    revision: int
    reasons: str = Field(default="[]", sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: float = 0.0
    claimed_by: str | None = None
    claimed_until: float = 0.0
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = None
    last_error: str | None = Field(default=None, sa_type=Text)


def health_tables() -> list[Table]:
    names = (FLEET_BREAKERS, FLEET_HEALTH_WINDOWS, WFM_OUTBOX, AUTO_ROLLBACK_OUTBOX)
    return [SQLModel.metadata.tables[name] for name in names]


# -- plain values the rest of the code works with -------------------------------------------------
@dataclass
class SharedBreaker:
    """A breaker row as a value (what ``update_breaker``'s decision function reads and returns)."""

    name: str
    version: str
    state: str = "closed"
    revision: int = 0
    row_version: int = 0
    since: float = 0.0
    opened_at: float = 0.0
    open_seconds: float = 0.0
    probe_owner: str | None = None
    probe_claimed_at: float = 0.0
    reasons: list[str] = field(default_factory=list)
    degradation: dict[str, Any] | None = None
    outage_started_at: float | None = None
    recovered_at: float | None = None
    outage_history: list[float] = field(default_factory=list)
    baseline_cps: float | None = None
    updated_at: datetime | None = None


def _shared(row: BreakerRow) -> SharedBreaker:
    return SharedBreaker(
        name=row.name,
        version=row.version,
        state=row.state,
        revision=row.revision,
        row_version=row.row_version,
        since=row.since,
        opened_at=row.opened_at,
        open_seconds=row.open_seconds,
        probe_owner=row.probe_owner,
        probe_claimed_at=row.probe_claimed_at,
        reasons=json.loads(row.reasons),
        degradation=json.loads(row.degradation) if row.degradation else None,
        outage_started_at=row.outage_started_at,
        recovered_at=row.recovered_at,
        outage_history=json.loads(row.outage_history),
        baseline_cps=row.baseline_cps,
        updated_at=row.updated_at,
    )


def _columns(value: SharedBreaker) -> dict[str, Any]:
    return {
        "state": value.state,
        "revision": value.revision,
        "since": value.since,
        "opened_at": value.opened_at,
        "open_seconds": value.open_seconds,
        "probe_owner": value.probe_owner,
        "probe_claimed_at": value.probe_claimed_at,
        "reasons": json.dumps(value.reasons),
        "degradation": json.dumps(value.degradation) if value.degradation else None,
        "outage_started_at": value.outage_started_at,
        "recovered_at": value.recovered_at,
        "outage_history": json.dumps(value.outage_history),
        "baseline_cps": value.baseline_cps,
        "updated_at": utc_now(),
    }


@dataclass(frozen=True)
class WindowFlush:
    worker_id: str
    name: str
    version: str
    revision: int
    aggregate: dict[str, Any]
    active_sessions: int
    flushed_at: float


@dataclass(frozen=True)
class StreamEvent:
    """An audit event for a shared stream; the store numbers it inside the transaction."""

    stream: str
    kind: str
    at: str
    actor: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class OutboxItem:
    event_id: str
    url: str
    payload: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True)
class PendingRollback:
    """A breaker opening waiting for its automatic rollback decision (an outbox row).

    ``claimed_by``/``claimed_until`` name the worker handling it and until when (epoch
    seconds); the opening worker writes its own claim with the opening.
    """

    name: str
    version: str
    from_state: str
    revision: int
    reasons: tuple[str, ...] = ()
    claimed_by: str | None = None
    claimed_until: float = 0.0
    attempts: int = 0

    @property
    def opening(self) -> str:
        return opening_key(self.name, self.version, self.revision)


@dataclass
class BreakerChange:
    """What a decision function wants written with a breaker row, atomically."""

    breaker: SharedBreaker
    events: list[StreamEvent] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    rollbacks: list[PendingRollback] = field(default_factory=list)


class HealthStore:
    """Repository of the shared health tables over a ``Store``'s engine; thread-safe."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine: Engine = store.engine
        self._writer = write_engine(self._engine)

    def init_schema(self) -> None:
        """Bring the schema (health tables included) to the newest migration."""
        init_schema(self._engine)

    @property
    def store(self) -> Store:
        return self._store

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_with_retry(self._writer, work, self._store.session_info)

    # -- leased outbox rows (the WFM webhook and the automatic rollback outboxes) ---------------
    def _claim_due(
        self,
        table: Any,
        done: Any,
        worker_id: str,
        now: float,
        lease: float,
        limit: int,
        convert: Callable[[Any], R],
    ) -> list[R]:
        """Rows not ``done``, due and held by nobody, claimed by ``worker_id`` until
        ``now + lease``; ``convert`` reads each claimed row inside the transaction.

        A plain read first: nearly always nothing is pending, and every worker asks every
        second or so, so the common case takes no write lock.
        """
        due = (
            col(done).is_(None),
            col(table.next_attempt_at) <= now,
            col(table.claimed_until) <= now,
        )
        with Session(self._engine) as session:
            if session.exec(select(table.id).where(*due).limit(1)).first() is None:
                return []

        def work(session: Session) -> list[R]:
            rows = session.exec(select(table).where(*due).order_by(col(table.id)).limit(limit))
            claimed = []
            for row in rows.all():
                # The lease check again in the update: of two workers, one claims the row.
                result = session.exec(
                    update(table)
                    .where(
                        col(table.id) == row.id,
                        col(done).is_(None),
                        col(table.claimed_until) <= now,
                    )
                    .values(claimed_by=worker_id, claimed_until=now + lease)
                )
                if result.rowcount == 1:
                    claimed.append(convert(row))
            return claimed

        return self._write(work)

    def _release_failed(
        self, table: Any, done: Any, key: Any, error: str, next_attempt_at: float
    ) -> None:
        """Give a failed attempt's claim back; any worker tries again from ``next_attempt_at``."""

        def work(session: Session) -> None:
            session.exec(
                update(table)
                .where(key, col(done).is_(None))
                .values(
                    attempts=table.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    claimed_by=None,
                    claimed_until=0.0,
                    last_error=error[:500],
                )
            )

        self._write(work)

    # -- windows --------------------------------------------------------------------------------
    def flush_windows(self, flushes: Sequence[WindowFlush]) -> None:
        """Overwrite this worker's window rows (one transaction per flush)."""
        if not flushes:
            return

        def work(session: Session) -> None:
            for f in sorted(flushes, key=lambda f: (f.name, f.version)):
                values: dict[str, Any] = {
                    "revision": f.revision,
                    "aggregate": json.dumps(f.aggregate, separators=(",", ":")),
                    "active_sessions": f.active_sessions,
                    "flushed_at": f.flushed_at,
                }
                changed = session.exec(
                    update(WindowRow)
                    .where(
                        col(WindowRow.worker_id) == f.worker_id,
                        col(WindowRow.name) == f.name,
                        col(WindowRow.version) == f.version,
                    )
                    .values(**values)
                ).rowcount
                if not changed:
                    session.add(
                        WindowRow(worker_id=f.worker_id, name=f.name, version=f.version, **values)
                    )
            session.flush()

        self._write(work)

    def windows(self, fresh_after: float) -> list[WindowFlush]:
        """Every worker's window flushed after ``fresh_after`` (dead workers drop out)."""
        with Session(self._engine) as session:
            rows = session.exec(select(WindowRow).where(WindowRow.flushed_at > fresh_after)).all()
        return [
            WindowFlush(
                r.worker_id,
                r.name,
                r.version,
                r.revision,
                json.loads(r.aggregate),
                r.active_sessions,
                r.flushed_at,
            )
            for r in rows
        ]

    def prune_windows(self, older_than: float) -> int:
        def work(session: Session) -> int:
            result = session.exec(delete(WindowRow).where(col(WindowRow.flushed_at) < older_than))
            return int(result.rowcount or 0)

        return self._write(work)

    # -- breakers -----------------------------------------------------------------------------
    def breakers(self) -> list[SharedBreaker]:
        with Session(self._engine) as session:
            rows = session.exec(select(BreakerRow).order_by(BreakerRow.name, BreakerRow.version))
            return [_shared(row) for row in rows.all()]

    def breaker(self, name: str, version: str) -> SharedBreaker | None:
        with Session(self._engine) as session:
            row = session.get(BreakerRow, (name, version))
            return _shared(row) if row else None

    def update_breaker(
        self,
        name: str,
        version: str,
        decide: Callable[[SharedBreaker | None], BreakerChange | None],
    ) -> SharedBreaker | None:
        """Read the row, let ``decide`` compute the change, write it with its events if the
        row is still the one read (compare-and-set); otherwise read again and decide again.

        Returns the row as written, or ``None`` when ``decide`` changed nothing.
        """

        def work(session: Session) -> SharedBreaker | None:
            row = session.get(BreakerRow, (name, version))
            current = _shared(row) if row else None
            change = decide(current)
            if change is None:
                return None
            values = _columns(change.breaker)
            if current is None:
                session.add(BreakerRow(name=name, version=version, row_version=1, **values))
                written_version = 1
            else:
                result = session.exec(
                    update(BreakerRow)
                    .where(
                        col(BreakerRow.name) == name,
                        col(BreakerRow.version) == version,
                        col(BreakerRow.row_version) == current.row_version,
                    )
                    .values(row_version=current.row_version + 1, **values)
                )
                if result.rowcount != 1:
                    raise WriteConflict(f"{name}:{version} changed concurrently")
                written_version = current.row_version + 1
            session.flush()
            self._append(session, change.events)
            for item in change.outbox:
                session.add(
                    WfmOutboxRow(
                        event_id=item.event_id,
                        url=item.url,
                        payload=json.dumps(item.payload, separators=(",", ":")),
                    )
                )
            for pending in change.rollbacks:
                session.add(
                    AutoRollbackOutboxRow(
                        opening=pending.opening,
                        name=pending.name,
                        version=pending.version,
                        from_state=pending.from_state,
                        revision=pending.revision,
                        reasons=json.dumps(list(pending.reasons)),
                        claimed_by=pending.claimed_by,
                        claimed_until=pending.claimed_until,
                    )
                )
            session.flush()
            written = change.breaker
            written.row_version = written_version
            return written

        return self._write(work)

    @staticmethod
    def _append(session: Session, events: Sequence[StreamEvent]) -> None:
        seqs: dict[str, int] = {}
        numbered = []
        for e in events:
            seq = seqs[e.stream] = seqs.get(e.stream) or next_seq(session, e.stream)
            seqs[e.stream] += 1
            numbered.append(
                AuditEvent(
                    stream=e.stream, seq=seq, kind=e.kind, at=e.at, actor=e.actor, payload=e.payload
                )
            )
        written = append_events(session, numbered)
        if len(written) != len(numbered):
            raise WriteConflict("an audit seq was taken concurrently")

    def reset_all(self, now: float, actor: str, reason: str, stream: str) -> int:
        """Close every breaker (operators, tests) and forget every window; audited."""

        def work(session: Session) -> int:
            rows = session.exec(select(BreakerRow)).all()
            events = []
            for row in rows:
                if row.state != "closed" or row.degradation:
                    events.append(
                        StreamEvent(
                            stream,
                            "breaker_reset",
                            utc_now().isoformat(),
                            actor,
                            {
                                "endpoint": f"{row.name}:{row.version}",
                                "from_state": row.state,
                                "reason": reason,
                            },
                        )
                    )
                row.state, row.since, row.reasons = "closed", now, json.dumps([reason])
                row.revision += 1
                row.row_version += 1
                row.probe_owner, row.probe_claimed_at = None, 0.0
                row.opened_at, row.open_seconds = 0.0, 0.0
                row.degradation, row.recovered_at, row.outage_started_at = None, None, None
                row.updated_at = utc_now()
                session.add(row)
            session.exec(delete(WindowRow))
            session.flush()
            self._append(session, events)
            return len(rows)

        return self._write(work)

    # -- what WFM events need from the facts -----------------------------------------------------
    def human_load(self, now: datetime, interval: timedelta) -> tuple[float, float | None]:
        """(human-handled interactions in the last interval, their mean human handle seconds
        over the last hour or ``None``)."""
        with Session(self._engine) as session:
            volume = session.exec(
                select(func.count())
                .select_from(InteractionFactRow)
                .where(
                    col(InteractionFactRow.started_at_utc) >= now - interval,
                    col(InteractionFactRow.pool) != "ai_contained",
                )
            ).one()
            aht = session.exec(
                select(func.avg(InteractionFactRow.human_seconds)).where(
                    col(InteractionFactRow.started_at_utc) >= now - timedelta(hours=1),
                    col(InteractionFactRow.human_seconds) > 0,
                )
            ).one()
        return float(volume or 0), float(aht) if aht else None

    # -- the WFM webhook outbox --------------------------------------------------------------------
    def claim_outbox(
        self, worker_id: str, now: float, lease: float, limit: int = 20
    ) -> list[OutboxItem]:
        """Due, undelivered events this worker may deliver for ``lease`` seconds."""
        return self._claim_due(
            WfmOutboxRow,
            WfmOutboxRow.delivered_at,
            worker_id,
            now,
            lease,
            limit,
            lambda row: OutboxItem(row.event_id, row.url, json.loads(row.payload), row.attempts),
        )

    def outbox_delivered(self, event_id: str) -> None:
        def work(session: Session) -> None:
            session.exec(
                update(WfmOutboxRow)
                .where(col(WfmOutboxRow.event_id) == event_id)
                .values(delivered_at=utc_now(), claimed_by=None, claimed_until=0.0, last_error=None)
            )

        self._write(work)

    def outbox_failed(self, event_id: str, error: str, next_attempt_at: float) -> None:
        self._release_failed(
            WfmOutboxRow,
            WfmOutboxRow.delivered_at,
            col(WfmOutboxRow.event_id) == event_id,
            error,
            next_attempt_at,
        )

    def outbox_dead(self, event_id: str, error: str) -> None:
        """The last attempt failed: park the event in the dead letter (visible, never due)."""

        def work(session: Session) -> None:
            session.exec(
                update(WfmOutboxRow)
                .where(
                    col(WfmOutboxRow.event_id) == event_id, col(WfmOutboxRow.delivered_at).is_(None)
                )
                .values(
                    attempts=WfmOutboxRow.attempts + 1,
                    next_attempt_at=DEAD_LETTER_AT,
                    claimed_by=None,
                    claimed_until=0.0,
                    dead_at=utc_now(),
                    last_error=error[:500],
                )
            )

        self._write(work)

    def outbox_retry(self, event_ids: Sequence[str] | None = None) -> int:
        """Take dead-lettered events (these, or all) out of the dead letter: due at once."""

        def work(session: Session) -> int:
            query = update(WfmOutboxRow).where(col(WfmOutboxRow.dead_at).is_not(None))
            if event_ids is not None:
                query = query.where(col(WfmOutboxRow.event_id).in_(list(event_ids)))
            result = session.exec(
                query.values(dead_at=None, attempts=0, next_attempt_at=0.0, claimed_until=0.0)
            )
            return int(result.rowcount or 0)

        return self._write(work)

    def outbox(self, dead_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
        """Outbox rows (CLI, tests), oldest first; the dead letter only with ``dead_only``."""
        query = select(WfmOutboxRow).order_by(col(WfmOutboxRow.id))
        if dead_only:
            query = query.where(col(WfmOutboxRow.dead_at).is_not(None))
        if limit is not None:
            query = query.limit(limit)
        with Session(self._engine) as session:
            rows = session.exec(query).all()
            return [
                {
                    "event_id": r.event_id,
                    "url": r.url,
                    "attempts": r.attempts,
                    "delivered": r.delivered_at is not None,
                    "dead": r.dead_at is not None,
                    "created_at": r.created_at.isoformat(),
                    "last_error": r.last_error,
                    "payload": json.loads(r.payload),
                }
                for r in rows
            ]

    # -- the automatic rollback outbox ------------------------------------------------------------
    def claim_rollbacks(
        self, worker_id: str, now: float, lease: float, limit: int = 20
    ) -> list[PendingRollback]:
        """Pending openings nobody holds (the opener died, or an attempt failed and is due),
        claimed by ``worker_id`` for ``lease`` seconds."""
        return self._claim_due(
            AutoRollbackOutboxRow,
            AutoRollbackOutboxRow.done_at,
            worker_id,
            now,
            lease,
            limit,
            lambda row: PendingRollback(
                row.name,
                row.version,
                row.from_state,
                row.revision,
                tuple(json.loads(row.reasons)),
                worker_id,
                now + lease,
                row.attempts,
            ),
        )

    def rollback_decided(
        self, opening: str, outcome: str, event: AuditEvent | None = None, key: str = ""
    ) -> bool:
        """Close the opening's row and audit its decision (once per ``key``) in one
        transaction: a worker dying in between leaves neither, so the next one decides again,
        and the trail never holds a decision the row does not know of, or the reverse.

        ``False`` (nothing written) when another worker closed the row first: its decision is
        the opening's one. Without a row (an opening handed over directly) only the audit.
        """

        def work(session: Session) -> bool:
            row = session.exec(
                select(AutoRollbackOutboxRow).where(col(AutoRollbackOutboxRow.opening) == opening)
            ).first()
            if row is not None:
                if row.done_at is not None:
                    return False
                result = session.exec(
                    update(AutoRollbackOutboxRow)
                    .where(
                        col(AutoRollbackOutboxRow.id) == row.id,
                        col(AutoRollbackOutboxRow.done_at).is_(None),
                    )
                    .values(done_at=utc_now(), outcome=outcome, claimed_by=None, claimed_until=0.0)
                )
                if result.rowcount != 1:
                    raise WriteConflict(f"{opening} was closed concurrently")
            if event is not None:
                record_event_once(session, event, key)
            return True

        return self._write(work)

    def rollback_failed(self, opening: str, error: str, next_attempt_at: float) -> None:
        """Give the claim back; any worker tries again from ``next_attempt_at``."""
        self._release_failed(
            AutoRollbackOutboxRow,
            AutoRollbackOutboxRow.done_at,
            col(AutoRollbackOutboxRow.opening) == opening,
            error,
            next_attempt_at,
        )

    def rollback_outbox(self) -> list[dict[str, Any]]:
        """Every automatic rollback row (CLI, tests), oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(AutoRollbackOutboxRow).order_by(col(AutoRollbackOutboxRow.id))
            ).all()
            return [
                {
                    "opening": r.opening,
                    "attempts": r.attempts,
                    "claimed_by": r.claimed_by,
                    "claimed_until": r.claimed_until,
                    "next_attempt_at": r.next_attempt_at,
                    "done": r.done_at is not None,
                    "outcome": r.outcome,
                    "last_error": r.last_error,
                }
                for r in rows
            ]
