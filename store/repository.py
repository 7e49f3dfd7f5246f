"""``Store``: the one place activities, the API and the CLI read and write durable records.

Synchronous on purpose: activities call it through ``asyncio.to_thread``, so a slow disk or a
lock wait never blocks a worker's event loop, and SQLite and PostgreSQL share one code path.
Every write is idempotent and runs in one transaction that is retried when a concurrent writer
wins a unique constraint, so Temporal's activity retries and many worker threads are both safe
without a global lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Engine, Table, bindparam, func, insert
from sqlmodel import Session, col, select

from models.ai import ShadowAnswer
from models.facts import (
    ArchiveTranscript,
    AuditEvent,
    InteractionArchive,
    InteractionFacts,
    RecordInteraction,
)
from models.fleet_analysis import VersionMetrics
from models.interaction import TranscriptEntry
from models.routing import RoutingConfig
from models.supervision import (
    ClaimOutcome,
    HumanOverride,
    QAReview,
    RecordSupervision,
    ReviewClaim,
    ReviewRecord,
    SupervisionFacts,
    SupervisionPolicy,
    SupervisionVolume,
)
from models.supervision_phase import (
    EvidenceRequest,
    PhaseEvidence,
    PhaseMoveRequest,
    PhaseMoveResult,
)
from store import archive, fleet, fleet_metrics
from store import supervision as sup
from store.audit_chain import (
    AuditKeysMissing,
    StoredAuditEvent,
    append_events,
    next_seq,
    session_info,
    stored_event,
    stream_rows,
)
from store.audit_verify import verify_trail
from store.db import create_store_engine, init_schema, write_engine
from store.tables import (
    HumanOverrideRow,
    InteractionFactRow,
    QAReviewRow,
    ReviewClaimRow,
    ReviewDecisionRow,
    RoutingConfigRow,
    ShadowAnswerRow,
    SupervisionFactRow,
    SupervisionPolicyRow,
    TranscriptArchiveRow,
    fact_values,
    facts_from_row,
    utc_now,
)
from store.writes import WriteConflict, write_with_retry
from warmline.audit import AuditKeyRing

ROUTING_CONFIG_STREAM = "routing-config"
"""Audit stream of routing config versions: who stored which version, when."""
SUPERVISION_POLICY_STREAM = "supervision-policy"
"""Audit stream of supervision policy versions saved by hand (phase moves have their own)."""

T = TypeVar("T")

_FACTS: Table = InteractionFactRow.__table__  # type: ignore[attr-defined]
_KNOWN_FACTS = select(_FACTS.c.interaction_id).where(
    _FACTS.c.interaction_id.in_(bindparam("ids", expanding=True))
)
_INSERT_FACTS = insert(_FACTS)
_RUNS: Table = TranscriptArchiveRow.__table__  # type: ignore[attr-defined]
_ARCHIVED_RUNS = (
    select(_RUNS.c.entries)
    .where(_RUNS.c.interaction_id == bindparam("interaction_id"))
    .order_by(_RUNS.c.run_index)
)
_ARCHIVED_RUNS_BEFORE = _ARCHIVED_RUNS.where(_RUNS.c.run_index < bindparam("before_run"))
"""Built once, like the closing write's statements: every run of an interaction reads these."""


_ENTRIES = TypeAdapter(list[TranscriptEntry])


def save_routing_config_in(session: Session, config: RoutingConfig, author: str) -> RoutingConfig:
    """Store ``config`` as the next version with its audit event, inside ``session``'s
    transaction: ``Store.save_routing_config`` and an approved routing proposal
    (``store.learning``) both save through here."""
    highest = session.exec(select(func.max(RoutingConfigRow.version))).one()
    now = utc_now()
    saved = config.model_copy(
        update={
            "version": (highest or 0) + 1,
            "author": author,
            "created_at": now.isoformat(),
        }
    )
    document = saved.model_dump_json()
    session.add(
        RoutingConfigRow(version=saved.version, author=author, created_at=now, document=document)
    )
    session.flush()
    audit = AuditEvent(
        stream=ROUTING_CONFIG_STREAM,
        seq=next_seq(session, ROUTING_CONFIG_STREAM),
        kind="routing_config_saved",
        at=now.isoformat(),
        actor=author,
        payload={"version": saved.version},
    )
    if not append_events(session, [audit]):
        raise WriteConflict(f"{ROUTING_CONFIG_STREAM} seq {audit.seq} taken concurrently")
    return RoutingConfig.model_validate_json(document)


class Store:
    """Repository over one Engine (SQLite file or PostgreSQL); safe to share between threads.

    Build SQLite engines with ``create_store_engine``: its write transactions queue on the file
    lock instead of failing with "database is locked" under concurrent writers.
    """

    def __init__(self, engine: Engine, audit_keys: AuditKeyRing | None = None) -> None:
        self._engine = engine
        self._writer = write_engine(engine)
        self._audit_keys = audit_keys
        self._session_info = session_info(audit_keys)

    @classmethod
    def from_url(cls, url: str, audit_keys: AuditKeyRing | None = None) -> Store:
        """Open ``url`` and migrate its schema to the newest revision: what a worker or the CLI
        does at start. Without ``audit_keys`` the store reads, and any write that would append
        an audit record fails with ``AuditKeysMissing``."""
        engine = create_store_engine(url)
        init_schema(engine)
        return cls(engine, audit_keys)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def audit_keys(self) -> AuditKeyRing | None:
        return self._audit_keys

    @property
    def session_info(self) -> dict[str, Any]:
        """What every write session of this store carries (the audit key ring)."""
        return self._session_info

    def close(self) -> None:
        """Close pooled connections (a PostgreSQL schema cannot be dropped while they are open)."""
        self._engine.dispose()

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_with_retry(self._writer, work, self._session_info)

    # Routing config versions -------------------------------------------------------------

    def save_routing_config(self, config: RoutingConfig, author: str) -> RoutingConfig:
        """Store ``config`` as the next version; returns it with version, author and time set.

        The version and its ``routing_config_saved`` audit event commit in one transaction, so
        no change is ever stored unaudited (API, CLI and bootstrap all save through here). Two
        admins saving at once get consecutive versions: the unique version column makes the
        slower one retry with the new maximum.
        """

        return self._write(lambda session: save_routing_config_in(session, config, author))

    def active_routing_config(self) -> RoutingConfig | None:
        """The highest version, or None before the first save."""
        with Session(self._engine) as session:
            row = session.exec(
                select(RoutingConfigRow).order_by(col(RoutingConfigRow.version).desc()).limit(1)
            ).first()
            return RoutingConfig.model_validate_json(row.document) if row else None

    def get_routing_config(self, version: int) -> RoutingConfig | None:
        with Session(self._engine) as session:
            row = session.exec(
                select(RoutingConfigRow).where(RoutingConfigRow.version == version)
            ).first()
            return RoutingConfig.model_validate_json(row.document) if row else None

    def list_routing_configs(self) -> list[tuple[int, str, str]]:
        """(version, author, created_at ISO-8601 UTC) of every version, oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(
                    RoutingConfigRow.version, RoutingConfigRow.author, RoutingConfigRow.created_at
                ).order_by(col(RoutingConfigRow.version))
            ).all()
            return [(version, author, created.isoformat()) for version, author, created in rows]

    # Interaction facts and their audit trail ----------------------------------------------

    def record_interaction(self, record: RecordInteraction) -> bool:
        """Write the facts, their audit events, the closing archive and the supervision record
        atomically; False (and nothing written) if the interaction was already recorded, so a
        retried activity never duplicates."""
        return self.record_interactions([record])[0]

    def record_interactions(self, records: Sequence[RecordInteraction]) -> list[bool]:
        """``record_interaction`` for a batch in one transaction (one round trip at high volume);
        the result says, per record in order, whether it was new.

        Core statements built once and one multi-row insert per table: the ORM's unit of work
        cost more Python time than the database spent on these rows (the worker is GIL-bound).
        """
        ordered = sorted(range(len(records)), key=lambda i: records[i].facts.interaction_id)

        def attempt(session: Session) -> list[bool]:
            ids = [r.facts.interaction_id for r in records]
            known = set(session.execute(_KNOWN_FACTS, {"ids": ids}).scalars())
            written = [False] * len(records)
            new: list[RecordInteraction] = []
            events: list[AuditEvent] = []
            # Key order, so concurrent batches lock rows in the same order (no deadlocks).
            for index in ordered:
                record = records[index]
                if record.facts.interaction_id in known:
                    continue
                known.add(record.facts.interaction_id)
                new.append(record)
                events.extend(record.audit)
                written[index] = True
            if new:
                session.execute(_INSERT_FACTS, [fact_values(r.facts) for r in new])
            append_events(session, [*events, *archive.add_archives(session, new)])
            # Idempotent on its own: a retry adds nothing.
            supervision = [records[index].supervision for index in ordered]
            sup.add_supervision_many(session, [s for s in supervision if s is not None])
            return written

        return self._write(attempt) if records else []

    def get_facts(self, interaction_id: str) -> InteractionFacts | None:
        with Session(self._engine) as session:
            row = session.get(InteractionFactRow, interaction_id)
            return facts_from_row(row) if row else None

    def count_facts(self) -> int:
        with Session(self._engine) as session:
            return session.exec(select(func.count()).select_from(InteractionFactRow)).one()

    # Audit streams ------------------------------------------------------------------------

    def append_audit(self, events: Sequence[AuditEvent]) -> int:
        """Chain events the producer numbered; (stream, seq) already stored are skipped.

        Returns how many were written (0 for a fully retried batch).
        """
        return len(self._write(lambda session: append_events(session, events))) if events else 0

    def append_audit_auto(
        self,
        stream: str,
        kind: str,
        actor: str = "warmline",
        payload: Mapping[str, Any] | None = None,
        at: str | None = None,
    ) -> StoredAuditEvent:
        """Append to a shared stream (routing-config, fleet) whose writers cannot know the next
        ``seq``: it is the stream's last + 1, retried if a concurrent writer took it.

        Not idempotent by nature (there is no caller key); callers that may retry should use
        ``append_audit`` with their own numbering.
        """
        stamp = at or utc_now().isoformat()
        body = dict(payload or {})

        def attempt(session: Session) -> StoredAuditEvent:
            event = AuditEvent(
                stream=stream,
                seq=next_seq(session, stream),
                kind=kind,
                at=stamp,
                actor=actor,
                payload=body,
            )
            written = append_events(session, [event])
            if not written:
                # PostgreSQL (read committed) can show a seq committed after next_seq looked.
                raise WriteConflict(f"{stream} seq {event.seq} taken concurrently")
            return written[0]

        return self._write(attempt)

    def audit_trail(self, stream: str) -> list[StoredAuditEvent]:
        """The stream's events in chain order, with the hashes an auditor can recompute."""
        with Session(self._engine) as session:
            return [stored_event(row) for row in stream_rows(session, stream)]

    def verify_audit(self, stream: str) -> tuple[bool, int | None]:
        """(ok, seq of the first record of ``stream`` that no longer verifies); the whole
        trail with checkpoints is ``store.audit_verify.verify_trail``."""
        if self._audit_keys is None:
            raise AuditKeysMissing("verifying the audit chain needs the audit key ring")
        report = verify_trail(self._engine, self._audit_keys, {}, stream=stream)
        if report.ok:
            return True, None
        return False, report.findings[0].seq

    def interaction_archive(self, interaction_id: str) -> InteractionArchive | None:
        """The closing archive (whole redacted transcript and decisions), if it closed."""
        with Session(self._engine) as session:
            row = session.get(archive.InteractionArchiveRow, interaction_id)
            return archive.archive_from_row(row) if row else None

    # Transcript archive -------------------------------------------------------------------

    def archive_transcript(self, archive: ArchiveTranscript) -> bool:
        """Keep one run's older turns; False if that run was archived already (first write wins)."""

        def attempt(session: Session) -> bool:
            exists = session.exec(
                select(TranscriptArchiveRow.id).where(
                    TranscriptArchiveRow.interaction_id == archive.interaction_id,
                    TranscriptArchiveRow.run_index == archive.run_index,
                )
            ).first()
            if exists is not None:
                return False
            session.add(
                TranscriptArchiveRow(
                    interaction_id=archive.interaction_id,
                    run_index=archive.run_index,
                    entries=_ENTRIES.dump_json(archive.entries).decode(),
                )
            )
            session.flush()
            return True

        return self._write(attempt)

    # Shadow answers -----------------------------------------------------------------------

    def record_shadow_answer(self, answer: ShadowAnswer) -> bool:
        """Store one shadow answer; False if that turn's answer from that endpoint exists."""

        def attempt(session: Session) -> bool:
            exists = session.exec(
                select(ShadowAnswerRow.id).where(
                    ShadowAnswerRow.interaction_id == answer.interaction_id,
                    ShadowAnswerRow.turn == answer.turn,
                    ShadowAnswerRow.endpoint == answer.endpoint,
                )
            ).first()
            if exists is not None:
                return False
            session.add(ShadowAnswerRow(**answer.model_dump()))
            session.flush()
            return True

        return self._write(attempt)

    def shadow_answers(self, interaction_id: str) -> list[ShadowAnswer]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(ShadowAnswerRow)
                .where(ShadowAnswerRow.interaction_id == interaction_id)
                .order_by(col(ShadowAnswerRow.turn))
            ).all()
        return [
            ShadowAnswer.model_validate(row.model_dump(exclude={"id", "created_at"}))
            for row in rows
        ]

    def archived_transcript(
        self, interaction_id: str, before_run: int | None = None
    ) -> list[TranscriptEntry]:
        """Every archived entry of the interaction, runs in order, entries as archived;
        ``before_run``: only runs before that one (what a run's archive numbers tokens after)."""
        query = _ARCHIVED_RUNS
        params: dict[str, Any] = {"interaction_id": interaction_id}
        if before_run is not None:
            query, params["before_run"] = _ARCHIVED_RUNS_BEFORE, before_run
        with self._engine.connect() as conn:
            rows = conn.execute(query, params).scalars().all()
        return [entry for text in rows for entry in _ENTRIES.validate_json(text)]

    # Supervision policy versions ----------------------------------------------------------

    def save_supervision_policy(
        self, policy: SupervisionPolicy, author: str, change_key: str | None = None
    ) -> SupervisionPolicy:
        """Store ``policy`` as the next version (concurrent saves get consecutive versions),
        with its ``supervision_policy_saved`` audit record in the same transaction."""

        def attempt(session: Session) -> SupervisionPolicy:
            saved = sup.add_policy_version(session, policy, author, change_key)
            audit = AuditEvent(
                stream=SUPERVISION_POLICY_STREAM,
                seq=next_seq(session, SUPERVISION_POLICY_STREAM),
                kind="supervision_policy_saved",
                at=saved.created_at or utc_now().isoformat(),
                actor=author,
                payload={"version": saved.version, "change_key": change_key},
            )
            if not append_events(session, [audit]):
                raise WriteConflict(f"{SUPERVISION_POLICY_STREAM} seq {audit.seq} taken")
            return saved

        return self._write(attempt)

    def active_supervision_policy(self) -> SupervisionPolicy | None:
        """The highest version, or None before the first save (callers fall back to the
        defaults of ``SupervisionPolicy()``: every intent fully supervised)."""
        with Session(self._engine) as session:
            row = sup.latest_policy_row(session)
            return sup.policy_from_row(row) if row else None

    def get_supervision_policy(self, version: int) -> SupervisionPolicy | None:
        with Session(self._engine) as session:
            row = session.exec(
                select(SupervisionPolicyRow).where(SupervisionPolicyRow.version == version)
            ).first()
            return sup.policy_from_row(row) if row else None

    def list_supervision_policies(self) -> list[tuple[int, str, str]]:
        """(version, author, created_at ISO-8601 UTC) of every version, oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(
                    SupervisionPolicyRow.version,
                    SupervisionPolicyRow.author,
                    SupervisionPolicyRow.created_at,
                ).order_by(col(SupervisionPolicyRow.version))
            ).all()
            return [(version, author, created.isoformat()) for version, author, created in rows]

    def apply_supervision_move(self, move: PhaseMoveRequest) -> PhaseMoveResult:
        """A phase move as one transaction: the intent's cell in a new policy version, the
        ``wfm-events`` entry with the staffing impact, and the phase stream's audit entry.
        Idempotent on ``move.move_key``: a retry returns the stored version, writes nothing."""

        def attempt(session: Session) -> PhaseMoveResult:
            try:
                return sup.apply_move(session, move)
            except sup.WriteConflict as exc:
                raise WriteConflict(str(exc)) from exc

        return self._write(attempt)

    # Reviews, human overrides and supervision facts ---------------------------------------

    def record_review(self, review: ReviewRecord) -> bool:
        """Store one review decision; False if that draft's decision is already stored."""
        return self._write(lambda s: sup.add_reviews(s, [review])) == 1

    def record_override(self, override: HumanOverride) -> bool:
        """Store one human override or takeover; False if (interaction, seq) is stored."""
        return self._write(lambda s: sup.add_overrides(s, [override])) == 1

    def record_supervision(self, record: RecordSupervision) -> bool:
        """Everything supervision-related of one interaction in one transaction, at close:
        facts, review decisions, overrides; releases the interaction's review claims.

        Idempotent on the interaction id: False (nothing written) if already recorded; reviews
        recorded earlier one by one with ``record_review`` are kept, not duplicated.
        """
        return self._write(lambda s: sup.add_supervision(s, record))

    def reviews_for(self, interaction_id: str) -> list[ReviewRecord]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(ReviewDecisionRow)
                .where(ReviewDecisionRow.interaction_id == interaction_id)
                .order_by(col(ReviewDecisionRow.decided_at), col(ReviewDecisionRow.id))
            ).all()
            return [sup.review_from_row(row) for row in rows]

    def reviews_by(self, reviewer_id: str, limit: int = 100) -> list[ReviewRecord]:
        """A supervisor's latest decisions, newest first (what an auditor asks of a person)."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(ReviewDecisionRow)
                .where(ReviewDecisionRow.reviewer_id == reviewer_id)
                .order_by(col(ReviewDecisionRow.decided_at).desc(), col(ReviewDecisionRow.id))
                .limit(limit)
            ).all()
            return [sup.review_from_row(row) for row in rows]

    def overrides_for(self, interaction_id: str) -> list[HumanOverride]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(HumanOverrideRow)
                .where(HumanOverrideRow.interaction_id == interaction_id)
                .order_by(col(HumanOverrideRow.seq))
            ).all()
            return [sup.override_from_row(row) for row in rows]

    def supervision_facts(self, interaction_id: str) -> SupervisionFacts | None:
        with Session(self._engine) as session:
            row = session.get(SupervisionFactRow, interaction_id)
            return sup.facts_from_row(row) if row else None

    def record_qa_review(self, review: QAReview) -> bool:
        """Store a QA review; False if the interaction was QA-reviewed already (first wins)."""

        def attempt(session: Session) -> bool:
            exists = session.exec(
                select(QAReviewRow.id).where(QAReviewRow.interaction_id == review.interaction_id)
            ).first()
            if exists is not None:
                return False
            session.add(QAReviewRow(**review.model_dump()))
            session.flush()
            return True

        return self._write(attempt)

    def phase_evidence(self, request: EvidenceRequest) -> PhaseEvidence:
        """What ``SupervisionPhaseWorkflow`` judges an intent's phase by."""
        with Session(self._engine) as session:
            return sup.phase_evidence(session, request)

    def supervision_volume(
        self, since: datetime, until: datetime, intent: str | None = None, cap: int | None = None
    ) -> SupervisionVolume:
        """Supervision queue volume and implied supervisors (cap: the active policy's)."""
        if cap is None:
            policy = self.active_supervision_policy() or SupervisionPolicy()
            cap = policy.supervisor_concurrent_cap
        with Session(self._engine) as session:
            return sup.supervision_volume(session, since, until, intent, cap)

    # Review claims: a supervisor's concurrent load ----------------------------------------

    def claim_review(
        self,
        workflow_id: str,
        draft_id: str,
        reviewer_id: str,
        cap: int,
        at: datetime | None = None,
    ) -> ClaimOutcome:
        """Let the reviewer hold the draft unless they are at ``cap`` or someone else has it."""
        stamp = at or utc_now()
        return self._write(lambda s: sup.claim(s, workflow_id, draft_id, reviewer_id, cap, stamp))

    def release_review_claim(self, workflow_id: str, draft_id: str | None = None) -> int:
        """Drop the claim on one draft (or all of a workflow's); returns how many."""

        def attempt(session: Session) -> int:
            rows = session.exec(
                select(ReviewClaimRow).where(ReviewClaimRow.workflow_id == workflow_id)
            ).all()
            gone = [row for row in rows if draft_id is None or row.draft_id == draft_id]
            for row in gone:
                session.delete(row)
            return len(gone)

        return self._write(attempt)

    def release_claims_except(self, open_workflow_ids: set[str], claimed_before: datetime) -> int:
        """Drop claims on workflows no longer pending review (decided elsewhere, closed),
        made before ``claimed_before`` so a claim newer than visibility's lag survives."""

        def attempt(session: Session) -> int:
            rows = session.exec(
                select(ReviewClaimRow).where(col(ReviewClaimRow.claimed_at) < claimed_before)
            ).all()
            gone = [row for row in rows if row.workflow_id not in open_workflow_ids]
            for row in gone:
                session.delete(row)
            return len(gone)

        return self._write(attempt)

    def review_claims(self, reviewer_id: str | None = None) -> list[ReviewClaim]:
        with Session(self._engine) as session:
            query = select(ReviewClaimRow).order_by(
                col(ReviewClaimRow.reviewer_id), col(ReviewClaimRow.slot)
            )
            if reviewer_id is not None:
                query = query.where(ReviewClaimRow.reviewer_id == reviewer_id)
            return [sup.claim_from_row(row) for row in session.exec(query).all()]

    # Fleet registry, fleet audit and per-version facts ------------------------------------

    def apply_registry_edit(
        self,
        key: str,
        author: str,
        edit: fleet.RegistryEdit,
        *,
        stream: str,
        kind: str,
        payload: Mapping[str, Any] | None = None,
    ) -> tuple[RoutingConfig, bool, list[str]]:
        """Edit the active routing config into a new version plus an audit event, once per
        ``key``: a repeated key returns the first result with ``applied`` False."""
        return self._write(
            lambda session: fleet.apply_registry_edit(
                session,
                key=key,
                author=author,
                edit=edit,
                stream=stream,
                kind=kind,
                payload=dict(payload or {}),
            )
        )

    def record_fleet_event(self, event: AuditEvent, key: str) -> bool:
        """Append a fleet or WFM event once per ``key`` (its ``seq`` is the stream's next)."""
        return self._write(lambda session: fleet.record_event_once(session, event, key))

    def count_facts_for_endpoints(self, endpoints: Sequence[str], since: datetime) -> int:
        """Interactions routed to any of ``endpoints`` (``name:version``) since ``since``."""
        with Session(self._engine) as session:
            return sum(fleet_metrics.counts_by_endpoint(session, endpoints, since).values())

    def observe_versions(
        self,
        endpoints: Sequence[str],
        since: datetime,
        until: datetime | None = None,
        step_since: datetime | None = None,
    ) -> tuple[dict[str, VersionMetrics], dict[str, int]]:
        """Metrics per endpoint over facts started in ``[since, until)``, aggregated in SQL,
        and the interactions per endpoint from ``step_since`` (empty without it).

        One snapshot of the facts for every query, so the counts, the histogram and the step's
        samples agree even while interactions keep closing.
        """
        engine = self._engine
        if engine.dialect.name == "postgresql":
            # Read committed would give each statement its own snapshot.
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(engine) as session:
            metrics = fleet_metrics.version_metrics(session, endpoints, since, until)
            steps = (
                fleet_metrics.counts_by_endpoint(session, endpoints, max(since, step_since), until)
                if step_since is not None
                else {}
            )
        return metrics, steps
