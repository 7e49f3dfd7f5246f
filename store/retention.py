"""Retention in the store: policy versions, legal holds, and bounded, audited deletes.

Every change here appends to the ``retention`` audit stream in the same transaction: a policy
version, a hold set or released, an audit segment made the new anchor, a purge run's totals.
Deletes take at most ``limit`` interactions (audit: records) per transaction, so a purge of
months of data never holds a long lock, and each batch is safe to repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, exists, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.facts import AuditEvent
from models.interaction import interaction_workflow_id
from models.retention import (
    DataClass,
    LegalHold,
    PurgeBatch,
    PurgeCount,
    PurgeRecord,
    PurgeStep,
    RetentionPlan,
    RetentionPolicy,
)
from store.archive import InteractionArchiveRow
from store.audit_chain import append_events, next_seq, session_keys
from store.audit_tables import AuditAnchorRow, AuditCheckpointHeadRow, AuditCheckpointRow
from store.audit_verify import COMPACTED_KIND, RETENTION_STREAM
from store.db import write_engine
from store.fleet import record_event_once
from store.repository import Store
from store.retention_tables import LegalHoldRow, RetentionPolicyRow
from store.tables import (
    AuditEventRow,
    HumanOverrideRow,
    InteractionFactRow,
    QAReviewRow,
    ReviewDecisionRow,
    ShadowAnswerRow,
    SupervisionFactRow,
    TranscriptArchiveRow,
    parse_utc,
    utc_now,
)
from store.writes import WriteConflict, write_with_retry
from warmline.audit import anchor_text
from warmline.redaction import redact
from warmline.retention import make_plan

T = TypeVar("T")

_FACT_DEPENDENTS = (SupervisionFactRow, ReviewDecisionRow, HumanOverrideRow, QAReviewRow)
_TRANSCRIPT_TABLES = (TranscriptArchiveRow, ShadowAnswerRow)


def hold_from_row(row: LegalHoldRow) -> LegalHold:
    return LegalHold(
        id=row.id or 0,
        interaction_id=row.interaction_id,
        reason=row.reason,
        set_by=row.set_by,
        set_at=row.set_at.isoformat(),
        released_by=row.released_by,
        released_at=row.released_at.isoformat() if row.released_at else None,
    )


def _held_ids() -> SelectOfScalar[str]:
    return select(LegalHoldRow.interaction_id).where(col(LegalHoldRow.released_at).is_(None))


def _in_region(column: Any, step: PurgeStep) -> ColumnElement[bool]:
    if step.region == "*":
        return col(column).not_in(step.other_than) if step.other_than else col(column).is_not(None)
    return col(column) == step.region


def _candidates(step: PurgeStep) -> tuple[Any, ColumnElement[bool]]:
    """(interaction id column, which interactions the step covers) for a per-interaction class."""
    cutoff = parse_utc(step.cutoff)
    if step.data_class is DataClass.ARCHIVES:
        row: Any = InteractionArchiveRow
        return row.interaction_id, _in_region(row.region, step) & (col(row.closed_at) < cutoff)
    facts: Any = InteractionFactRow
    where = _in_region(facts.region, step) & (col(facts.started_at_utc) < cutoff)
    if step.data_class is DataClass.TRANSCRIPTS:
        where = where & (
            exists().where(col(TranscriptArchiveRow.interaction_id) == facts.interaction_id)
            | exists().where(col(ShadowAnswerRow.interaction_id) == facts.interaction_id)
        )
    return facts.interaction_id, where


class RetentionStore:
    """Retention over a ``Store``'s engine and audit keys; thread-safe like the store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._writer = write_engine(store.engine)

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_with_retry(self._writer, work, self._store.session_info)

    def _audit(self, session: Session, kind: str, actor: str, payload: dict[str, Any]) -> None:
        event = AuditEvent(
            stream=RETENTION_STREAM,
            seq=next_seq(session, RETENTION_STREAM),
            kind=kind,
            at=utc_now().isoformat(),
            actor=actor,
            payload=payload,
        )
        if not append_events(session, [event]):
            raise WriteConflict(f"{RETENTION_STREAM} seq {event.seq} taken concurrently")

    # -- policy ------------------------------------------------------------------------------
    def save_policy(self, policy: RetentionPolicy, author: str) -> RetentionPolicy:
        # A rule's ``regulation`` is free text that is stored, shown and audited: redacted.
        rules = [
            rule.model_copy(update={"regulation": redact(rule.regulation)})
            if rule.regulation
            else rule
            for rule in policy.rules
        ]

        def attempt(session: Session) -> RetentionPolicy:
            highest = session.exec(select(func.max(RetentionPolicyRow.version))).one() or 0
            now = utc_now()
            saved = policy.model_copy(
                update={
                    "version": highest + 1,
                    "author": author,
                    "created_at": now.isoformat(),
                    "rules": rules,
                }
            )
            session.add(
                RetentionPolicyRow(
                    version=saved.version,
                    author=author,
                    created_at=now,
                    document=saved.model_dump_json(),
                )
            )
            session.flush()
            self._audit(
                session,
                "retention_policy_saved",
                author,
                {
                    "version": saved.version,
                    "rules": [r.model_dump(mode="json") for r in saved.rules],
                },
            )
            return saved

        return self._write(attempt)

    def active_policy(self) -> RetentionPolicy:
        """The newest version; before any save, the empty policy (nothing is purged)."""
        with Session(self._engine) as session:
            row = session.exec(
                select(RetentionPolicyRow).order_by(col(RetentionPolicyRow.version).desc())
            ).first()
        return RetentionPolicy.model_validate_json(row.document) if row else RetentionPolicy()

    # -- legal holds -------------------------------------------------------------------------
    def set_hold(self, interaction_id: str, reason: str, by: str) -> LegalHold:
        safe = redact(reason)

        def attempt(session: Session) -> LegalHold:
            row = LegalHoldRow(
                interaction_id=interaction_id, reason=safe, set_by=by, set_at=utc_now()
            )
            session.add(row)
            session.flush()
            self._audit(
                session,
                "legal_hold_set",
                by,
                {"hold": row.id, "interaction_id": interaction_id, "reason": safe},
            )
            return hold_from_row(row)

        return self._write(attempt)

    def release_hold(self, hold_id: int, by: str) -> LegalHold | None:
        """Release an active hold; None if there is no such active hold."""

        def attempt(session: Session) -> LegalHold | None:
            row = session.get(LegalHoldRow, hold_id)
            if row is None or row.released_at is not None:
                return None
            row.released_by, row.released_at = by, utc_now()
            session.add(row)
            session.flush()
            self._audit(
                session,
                "legal_hold_released",
                by,
                {"hold": hold_id, "interaction_id": row.interaction_id},
            )
            return hold_from_row(row)

        return self._write(attempt)

    def holds(self, active_only: bool = True) -> list[LegalHold]:
        with Session(self._engine) as session:
            query = select(LegalHoldRow).order_by(col(LegalHoldRow.id))
            if active_only:
                query = query.where(col(LegalHoldRow.released_at).is_(None))
            return [hold_from_row(row) for row in session.exec(query).all()]

    # -- planning ----------------------------------------------------------------------------
    def plan(self, now: datetime) -> RetentionPlan:
        with Session(self._engine) as session:
            checkpoints = session.exec(
                select(AuditCheckpointRow.seq, AuditCheckpointRow.taken_at)
            ).all()
        return make_plan(self.active_policy(), now, checkpoints)

    def expected_plan(self, now: datetime) -> RetentionPlan:
        """The plan a run at ``now`` would make, with what each step would delete and keep."""
        made = self.plan(now)
        expected = [self.count(step, made.audit_anchor) for step in made.steps]
        return made.model_copy(update={"expected": expected})

    def record_run_request(self, schedule_id: str, by: str) -> None:
        """Audit who asked for a purge run now (before the Schedule is triggered)."""
        self._write(
            lambda session: self._audit(
                session, "retention_run_requested", by, {"schedule_id": schedule_id}
            )
        )

    def count(self, step: PurgeStep, audit_anchor: int | None = None) -> PurgeCount:
        """What purging ``step`` now would delete, and what a legal hold keeps."""
        with Session(self._engine) as session:
            if step.data_class is DataClass.AUDIT:
                through = _anchor_through(session, audit_anchor)
                streams = _held_streams(session)
                base = (
                    select(func.count())
                    .select_from(AuditEventRow)
                    .where(col(AuditEventRow.id) <= through)
                )
                kept = session.exec(base.where(col(AuditEventRow.stream).in_(streams))).one()
                return PurgeCount(step=step, deleted=session.exec(base).one() - kept, held=kept)
            ident, where = _candidates(step)
            held = session.exec(
                select(func.count()).where(where, col(ident).in_(_held_ids()))
            ).one()
            total = session.exec(select(func.count()).where(where)).one()
        return PurgeCount(step=step, deleted=total - held, held=held)

    # -- purging -----------------------------------------------------------------------------
    def purge_batch(self, batch: PurgeBatch) -> PurgeCount:
        """Delete up to ``batch.limit`` interactions (audit: records) the step covers."""
        if batch.step.data_class is DataClass.AUDIT:
            return self._write(lambda s: _purge_audit(s, batch))

        def attempt(session: Session) -> PurgeCount:
            ident, where = _candidates(batch.step)
            ids = list(
                session.exec(
                    select(ident)
                    .where(where, col(ident).not_in(_held_ids()))
                    .order_by(ident)
                    .limit(batch.limit)
                ).all()
            )
            if ids:
                for table in _tables_of(batch.step.data_class):
                    session.execute(delete(table).where(col(table.interaction_id).in_(ids)))
            return PurgeCount(step=batch.step, deleted=len(ids))

        return self._write(attempt)

    def compact_audit(self, anchor: int, run_id: str) -> bool:
        """Make checkpoint ``anchor`` the first one kept (older checkpoints and the heads up to
        it go), audited, before any audit record is deleted: at every commit the trail still
        verifies. Once per run (a retried activity finds its key)."""

        def attempt(session: Session) -> bool:
            row = session.get(AuditCheckpointRow, anchor)
            if row is None:
                return False
            event = AuditEvent(
                stream=RETENTION_STREAM,
                seq=0,
                kind=COMPACTED_KIND,
                at=utc_now().isoformat(),
                payload={"anchor_checkpoint": anchor, "through_id": row.through_id, "run": run_id},
            )
            if not record_event_once(session, event, f"{run_id}:compact"):
                return False
            session.execute(delete(AuditCheckpointRow).where(col(AuditCheckpointRow.seq) < anchor))
            session.execute(
                delete(AuditCheckpointHeadRow).where(
                    col(AuditCheckpointHeadRow.checkpoint_seq) <= anchor
                )
            )
            return True

        return self._write(attempt)

    def record_purge(self, record: PurgeRecord) -> bool:
        """The run's own audit record (``purged``), once per run."""
        event = AuditEvent(
            stream=RETENTION_STREAM,
            seq=0,
            kind="purged",
            at=utc_now().isoformat(),
            payload=record.model_dump(mode="json"),
        )
        return self._write(lambda s: record_event_once(s, event, f"{record.run_id}:purged"))


def _tables_of(data_class: DataClass) -> Sequence[Any]:
    if data_class is DataClass.TRANSCRIPTS:
        return _TRANSCRIPT_TABLES
    if data_class is DataClass.ARCHIVES:
        return (InteractionArchiveRow,)
    return (*_FACT_DEPENDENTS, InteractionFactRow)


def _held_streams(session: Session) -> list[str]:
    return [interaction_workflow_id(i) for i in session.exec(_held_ids()).all()]


def _anchor_through(session: Session, anchor: int | None) -> int:
    row = session.get(AuditCheckpointRow, anchor) if anchor is not None else None
    return row.through_id if row else 0


def _purge_audit(session: Session, batch: PurgeBatch) -> PurgeCount:
    """Remove the oldest records of streams up to the anchor's range, ``limit`` at most.

    A stream that goes on past the range gets (or moves) its MAC'd anchor to the last removed
    link in the same transaction; a stream removed whole loses its anchor.
    """
    through = _anchor_through(session, batch.audit_anchor)
    keys = session_keys(session)
    held = _held_streams(session)
    streams = session.exec(
        select(AuditEventRow.stream)
        .where(col(AuditEventRow.id) <= through, col(AuditEventRow.stream).not_in(held))
        .group_by(col(AuditEventRow.stream))
        .order_by(col(AuditEventRow.stream))
        .limit(batch.limit)
    ).all()
    budget, deleted = batch.limit, 0
    for stream in streams:
        links = session.exec(
            select(AuditEventRow.position, AuditEventRow.hash)
            .where(AuditEventRow.stream == stream, col(AuditEventRow.id) <= through)
            .order_by(col(AuditEventRow.position))
            .limit(budget)
        ).all()
        last_position, last_link = links[-1]
        session.execute(
            delete(AuditEventRow).where(
                col(AuditEventRow.stream) == stream, col(AuditEventRow.position) <= last_position
            )
        )
        anchor = session.get(AuditAnchorRow, stream)
        rest = session.exec(select(AuditEventRow.id).where(AuditEventRow.stream == stream)).first()
        if rest is None:
            if anchor is not None:
                session.delete(anchor)
        else:
            key_id, mac = keys.sign(anchor_text(stream, last_position, last_link))
            if anchor is not None:
                session.delete(anchor)
                session.flush()
            session.add(
                AuditAnchorRow(
                    stream=stream,
                    position=last_position,
                    hash=last_link,
                    key_id=key_id,
                    mac=mac,
                    purged_at=utc_now(),
                )
            )
        deleted += len(links)
        budget -= len(links)
        if budget <= 0:
            break
    session.flush()
    return PurgeCount(step=batch.step, deleted=deleted)
