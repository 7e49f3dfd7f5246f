"""WFM events in the store: detector state, what the detectors observe, and the outbox writes.

An event, its ``wfm-events`` audit entry and its outbox row commit in one transaction (the
outbox is ``store.health``'s ``wfm_outbox``, which breaker transitions write the same way), so
an event exists if and only if it will be delivered. Detector state is one row per detector,
written with a compare-and-set on ``row_version``: two workers observing the same drop write
one episode, and the loser re-reads and finds nothing left to do.

Observations read the facts of the last window and baseline by ``recorded_at_utc`` (indexed):
interactions are judged when they close, which is when containment is known.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, Table, case, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from models.facts import AuditEvent
from models.health import WFM_EVENTS_STREAM
from store.db import init_schema as migrate_schema
from store.db import write_engine
from store.fleet import record_event_once
from store.health import WfmOutboxRow
from store.repository import Store
from store.tables import InteractionFactRow, UTCDateTime, parse_utc, utc_now
from store.writes import WriteConflict, write_with_retry
from warmline.wfm_events import (
    FLEET_EVENT_PREFIX,
    Alert,
    AlertConfig,
    AlertState,
    Counts,
    Observation,
    cloud_event,
)

WFM_ALERT_STATE: Final = "wfm_alert_state"
AI_POOLS: Final = ("ai_contained", "ai_assisted")

F = InteractionFactRow


class AlertStateRow(SQLModel, table=True):
    """The shared state of one detector (``containment`` or ``escalation``)."""

    __tablename__ = WFM_ALERT_STATE

    name: str = Field(primary_key=True)
    active: bool = False
    episode: int = 0
    since: float = 0.0
    baseline: float | None = None
    row_version: int = 0
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


def wfm_event_tables() -> list[Table]:
    return [SQLModel.metadata.tables[WFM_ALERT_STATE]]


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def add_outbox(session: Session, event_id: str, url: str, envelope: dict[str, Any]) -> None:
    session.add(
        WfmOutboxRow(
            event_id=event_id, url=url, payload=json.dumps(envelope, separators=(",", ":"))
        )
    )


class WfmEventStore:
    """Detector state, observations and event writes over a store's engine; thread-safe."""

    def __init__(self, store: Store, source: str = "warmline") -> None:
        self._engine: Engine = store.engine
        self._writer = write_engine(self._engine)
        self._session_info = store.session_info  # events are audited: links need the key ring
        self.source = source

    def init_schema(self) -> None:
        """Bring the schema (these tables included) to the newest migration."""
        migrate_schema(self._engine)

    # -- observations -----------------------------------------------------------------------
    def _observe(
        self, now: float, config: AlertConfig, counts: Callable[[Session, Any], Counts]
    ) -> Observation:
        """``counts`` over the window ending ``now`` and over the baseline before it."""
        end = _utc(now)
        start = end - timedelta(seconds=config.window_seconds)
        base = start - timedelta(seconds=config.baseline_seconds)

        def closed(lo: datetime, hi: datetime) -> tuple[Any, ...]:
            return (col(F.recorded_at_utc) >= lo, col(F.recorded_at_utc) < hi)

        with Session(self._engine) as session:
            return Observation(
                now, counts(session, closed(start, end)), counts(session, closed(base, start))
            )

    def containment(self, now: float, config: AlertConfig) -> Observation:
        """Contained / AI-handled per intent, in the window and in the baseline before it."""

        def counts(session: Session, window: Any) -> Counts:
            rows = session.exec(
                select(
                    F.intent,
                    func.sum(case((col(F.pool) == "ai_contained", 1), else_=0)),
                    func.count(),
                )
                .where(*window, col(F.pool).in_(AI_POOLS))
                .group_by(F.intent)
            ).all()
            return Counts({str(i): (int(c or 0), int(n)) for i, c, n in rows})

        return self._observe(now, config, counts)

    def escalations(self, now: float, config: AlertConfig) -> Observation:
        """AI-to-human escalations per trigger, in the window and the baseline before it."""

        def counts(session: Session, window: Any) -> Counts:
            rows = session.exec(
                select(F.escalation_trigger, func.count())
                .where(
                    *window,
                    col(F.pool) == "ai_assisted",
                    col(F.escalation_trigger).is_not(None),
                )
                .group_by(F.escalation_trigger)
            ).all()
            return Counts({str(t): (int(n), int(n)) for t, n in rows})

        return self._observe(now, config, counts)

    # -- detector state -----------------------------------------------------------------------
    def state(self, name: str) -> AlertState:
        with Session(self._engine) as session:
            row = session.get(AlertStateRow, name)
            return _state(row)

    def apply(
        self,
        name: str,
        decide: Callable[[AlertState], tuple[AlertState, list[Alert]]],
        webhook_url: str | None,
        actor: str,
    ) -> list[Alert]:
        """Decide on the stored state and commit the new state with its events (audit and
        outbox) if nobody changed it meanwhile; otherwise decide again on the new state."""

        def work(session: Session) -> list[Alert]:
            row = session.get(AlertStateRow, name)
            current = _state(row)
            new, alerts = decide(current)
            if not alerts and new == current:
                return []
            values: dict[str, Any] = {
                "active": new.active,
                "episode": new.episode,
                "since": new.since,
                "baseline": new.baseline,
                "updated_at": utc_now(),
            }
            if row is None:
                session.add(AlertStateRow(name=name, row_version=1, **values))
            else:
                result = session.exec(
                    update(AlertStateRow)
                    .where(
                        col(AlertStateRow.name) == name,
                        col(AlertStateRow.row_version) == row.row_version,
                    )
                    .values(row_version=row.row_version + 1, **values)
                )
                if result.rowcount != 1:
                    raise WriteConflict(f"alert state {name} changed concurrently")
            session.flush()
            for alert in alerts:
                self._record(
                    session,
                    alert.event_type,
                    alert.event_id,
                    new.since,
                    alert.data,
                    webhook_url,
                    actor,
                    subject=name,
                )
            return alerts

        return write_with_retry(self._writer, work, self._session_info)

    def _record(
        self,
        session: Session,
        event_type: str,
        event_id: str,
        occurred_at: float,
        data: dict[str, Any],
        webhook_url: str | None,
        actor: str,
        subject: str | None = None,
    ) -> bool:
        envelope = cloud_event(
            event_type=event_type,
            event_id=event_id,
            source=self.source,
            occurred_at=occurred_at,
            data=data,
            subject=subject,
        )
        audit = AuditEvent(
            stream=WFM_EVENTS_STREAM,
            seq=0,
            kind=event_type.rsplit(".", 1)[-1],
            at=envelope["time"],
            actor=actor,
            payload=envelope,
        )
        if not record_event_once(session, audit, f"wfm-event:{event_id}"):
            return False
        if webhook_url:
            add_outbox(session, event_id, webhook_url, envelope)
        return True

    def record(
        self,
        event_type: str,
        event_id: str,
        occurred_at: float,
        data: dict[str, Any],
        webhook_url: str | None,
        actor: str,
        subject: str | None = None,
    ) -> bool:
        """One event (audit + outbox) once per ``event_id``; False when it exists already."""
        return write_with_retry(
            self._writer,
            lambda session: self._record(
                session, event_type, event_id, occurred_at, data, webhook_url, actor, subject
            ),
            self._session_info,
        )

    def record_fleet_event(self, audit: AuditEvent, key: str, webhook_url: str | None) -> bool:
        """A fleet WFM event (failover to humans, A/B blended containment): its audit entry as
        before, once per ``key``, and its CloudEvent in the outbox in the same transaction."""

        def work(session: Session) -> bool:
            if not record_event_once(session, audit, key):
                return False
            if webhook_url:
                envelope = cloud_event(
                    event_type=FLEET_EVENT_PREFIX + audit.kind,
                    event_id=key,
                    source=self.source,
                    occurred_at=parse_utc(audit.at).timestamp(),
                    data=audit.payload,
                    subject=",".join(audit.payload.get("agents", [])) or None,
                )
                add_outbox(session, key, webhook_url, envelope)
            return True

        return write_with_retry(self._writer, work, self._session_info)


def _state(row: AlertStateRow | None) -> AlertState:
    if row is None:
        return AlertState()
    return AlertState(
        active=row.active, episode=row.episode, since=row.since, baseline=row.baseline
    )


__all__ = ["AlertStateRow", "WfmEventStore", "add_outbox", "wfm_event_tables"]
