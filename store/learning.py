"""Routing that learns from outcomes: the evidence calibration reads and the proposals it keeps.

A proposal is written once per calibration run (the run's id is its key, so a retried
activity stores nothing twice) and supersedes any proposal still waiting. Approval saves the
proposed document as the next routing config version in the same transaction as the
proposal's new status and both audit events (``routing-config`` stream), through the same
function every config save uses; a proposal made against an older version than the active one
is refused, because its evidence was judged against thresholds routing no longer applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Text, func, type_coerce
from sqlalchemy import select as columns_of
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, col, select, update

from models.ai import ShadowAnswer
from models.calibration import (
    PROPOSAL_AUTHOR,
    CalibrationResult,
    OutcomeSample,
    ProposalStatus,
    ProposalSummary,
    RoutingProposal,
)
from models.facts import AuditEvent, InteractionFacts
from store.audit_chain import append_events, next_seq
from store.db import write_engine
from store.repository import ROUTING_CONFIG_STREAM, Store, save_routing_config_in
from store.tables import (
    InteractionFactRow,
    RoutingConfigRow,
    ShadowAnswerRow,
    UTCDateTime,
    facts_from_row,
    utc_now,
)
from store.writes import WriteConflict, write_with_retry
from warmline.outcomes import repeat_contact
from warmline.redaction import redact

T = TypeVar("T")

ROUTING_PROPOSALS = "routing_proposals"
AI_ROUTES = ("ai", "ai_monitored")
MAX_SAMPLES = 200_000
"""Most recent AI-routed facts one calibration run reads (a month of a large center's AI
traffic fits; the tallies need no more to be decisive)."""
DEFAULT_REPEAT_WINDOW = timedelta(hours=72)


class RoutingProposalRow(SQLModel, table=True):
    """A proposed routing config with its evidence (``CalibrationResult`` JSON)."""

    __tablename__ = ROUTING_PROPOSALS

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, description="The calibration run that made it.")
    status: str = Field(index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    base_version: int
    document: str = Field(sa_type=Text)
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=Text)
    applied_version: int | None = None


class ProposalConflict(Exception):
    """The proposal cannot be decided as asked (already decided, or made on an older config)."""


def _proposal(row: RoutingProposalRow) -> RoutingProposal:
    assert row.id is not None
    return RoutingProposal(
        id=row.id,
        status=ProposalStatus(row.status),
        created_at=row.created_at.isoformat(),
        created_by=PROPOSAL_AUTHOR,
        result=CalibrationResult.model_validate_json(row.document),
        decided_by=row.decided_by,
        decided_at=row.decided_at.isoformat() if row.decided_at else None,
        note=row.note,
        applied_version=row.applied_version,
    )


def _audit(session: Session, kind: str, actor: str, payload: dict[str, object]) -> None:
    event = AuditEvent(
        stream=ROUTING_CONFIG_STREAM,
        seq=next_seq(session, ROUTING_CONFIG_STREAM),
        kind=kind,
        at=utc_now().isoformat(),
        actor=actor,
        payload=payload,
    )
    if not append_events(session, [event]):
        raise WriteConflict(f"{ROUTING_CONFIG_STREAM} seq {event.seq} taken concurrently")


class LearningStore:
    """Calibration's reads and the proposals' lifecycle over the one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._writer = write_engine(store.engine)

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_with_retry(self._writer, work, self._store.session_info)

    def outcome_samples(
        self,
        since: datetime,
        limit: int = MAX_SAMPLES,
        *,
        now: datetime | None = None,
        repeat_window: timedelta = DEFAULT_REPEAT_WINDOW,
    ) -> list[OutcomeSample]:
        """AI-routed interactions started since ``since``, newest first.

        The channel is the one routing decided on (the initial one). Repeat contact: True when
        the same customer key started another interaction (any route) within ``repeat_window``
        after this one started; False when the window had passed by ``now`` without one; None
        when the customer is unknown (facts recorded without a key) or the window is still
        open. The customer's next start is a correlated MIN over the (customer_key,
        started_at_utc) index: one seek per sample, on SQLite and PostgreSQL alike.
        """
        f = InteractionFactRow
        later = aliased(InteractionFactRow)
        next_start = (
            columns_of(func.min(col(later.started_at_utc)))
            .where(
                col(later.customer_key) == col(f.customer_key),
                col(later.started_at_utc) > col(f.started_at_utc),
            )
            .correlate(f)
            .scalar_subquery()
        )
        query = (
            columns_of(
                col(f.intent),
                col(f.initial_channel),
                col(f.segment),
                col(f.confidence),
                col(f.route),
                col(f.ai_endpoint),
                col(f.outcome),
                col(f.escalation_trigger),
                col(f.csat),
                col(f.customer_key),
                col(f.started_at_utc),
                type_coerce(next_start, UTCDateTime),
            )
            .where(col(f.route).in_(AI_ROUTES), col(f.started_at_utc) >= since)
            .order_by(col(f.started_at_utc).desc())
            .limit(limit)
        )
        with Session(self._store.engine) as session:
            rows = session.execute(query).all()
        names = (
            "intent",
            "channel",
            "segment",
            "confidence",
            "route",
            "endpoint",
            "outcome",
            "escalation_trigger",
            "csat",
        )
        samples = []
        for row in rows:
            values: dict[str, Any] = dict(zip(names, row[: len(names)], strict=True))
            values["confidence"] = min(1.0, max(0.0, values["confidence"]))
            key, started, following = row[len(names) :]
            values["repeat_contact"] = repeat_contact(
                key is not None, started, following, now, repeat_window
            )
            samples.append(OutcomeSample.model_validate(values))
        return samples

    def save_proposal(self, key: str, result: CalibrationResult) -> RoutingProposal:
        """Store the proposal once per ``key``; pending older ones become superseded."""

        def attempt(session: Session) -> RoutingProposal:
            existing = session.exec(
                select(RoutingProposalRow).where(RoutingProposalRow.key == key)
            ).first()
            if existing is not None:
                return _proposal(existing)
            session.exec(
                update(RoutingProposalRow)
                .where(col(RoutingProposalRow.status) == ProposalStatus.PENDING.value)
                .values(status=ProposalStatus.SUPERSEDED.value)
            )
            row = RoutingProposalRow(
                key=key,
                status=ProposalStatus.PENDING.value,
                created_at=utc_now(),
                base_version=result.base_version,
                document=result.model_dump_json(),
            )
            session.add(row)
            session.flush()
            _audit(
                session,
                "routing_proposal_created",
                PROPOSAL_AUTHOR,
                {
                    "proposal": row.id,
                    "base_version": result.base_version,
                    "changes": len(result.changes),
                },
            )
            return _proposal(row)

        return self._write(attempt)

    def proposals(
        self, status: ProposalStatus | None = None, limit: int = 50
    ) -> list[ProposalSummary]:
        query = select(RoutingProposalRow).order_by(col(RoutingProposalRow.id).desc()).limit(limit)
        if status is not None:
            query = query.where(RoutingProposalRow.status == status.value)
        with Session(self._store.engine) as session:
            rows = session.exec(query).all()
        summaries = []
        for row in rows:
            result = CalibrationResult.model_validate_json(row.document)
            assert row.id is not None
            summaries.append(
                ProposalSummary(
                    id=row.id,
                    status=ProposalStatus(row.status),
                    created_at=row.created_at.isoformat(),
                    base_version=row.base_version,
                    interactions=result.interactions,
                    changes=len(result.changes),
                    decided_by=row.decided_by,
                    applied_version=row.applied_version,
                )
            )
        return summaries

    def proposal(self, proposal_id: int) -> RoutingProposal | None:
        with Session(self._store.engine) as session:
            row = session.get(RoutingProposalRow, proposal_id)
            return _proposal(row) if row is not None else None

    def decide(
        self, proposal_id: int, *, approve: bool, by: str, note: str
    ) -> RoutingProposal | None:
        """Approve (save the proposed config as the next version) or reject, audited; None if
        there is no such proposal. ``ProposalConflict`` when it is not pending or is stale.

        The note is redacted before it is stored or audited: it is free text a person typed."""
        note = redact(note)

        def attempt(session: Session) -> RoutingProposal | None:
            row = session.get(RoutingProposalRow, proposal_id)
            if row is None:
                return None
            if row.status != ProposalStatus.PENDING.value:
                raise ProposalConflict(f"proposal {proposal_id} is {row.status}, not pending")
            row.decided_by, row.decided_at, row.note = by, utc_now(), note or None
            if approve:
                active = session.exec(
                    select(RoutingConfigRow.version).order_by(col(RoutingConfigRow.version).desc())
                ).first()
                if active != row.base_version:
                    raise ProposalConflict(
                        f"proposal {proposal_id} was made on routing config v{row.base_version}; "
                        f"v{active} is active now: its evidence no longer applies, wait for the "
                        "next calibration run"
                    )
                result = CalibrationResult.model_validate_json(row.document)
                saved = save_routing_config_in(session, result.config, by)
                row.status = ProposalStatus.APPROVED.value
                row.applied_version = saved.version
            else:
                row.status = ProposalStatus.REJECTED.value
            session.add(row)
            session.flush()
            _audit(
                session,
                f"routing_proposal_{row.status}",
                by,
                {"proposal": proposal_id, "version": row.applied_version, "note": note},
            )
            return _proposal(row)

        return self._write(attempt)


class ShadowStore:
    """The stored shadow answers of one version and the facts of their interactions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def shadow_answers(
        self, endpoint: str, since: datetime | None, limit: int
    ) -> list[ShadowAnswer]:
        """``endpoint``'s most recent answers (``name:version``), oldest first."""
        query = select(ShadowAnswerRow).where(ShadowAnswerRow.endpoint == endpoint)
        if since is not None:
            query = query.where(col(ShadowAnswerRow.created_at) >= since)
        query = query.order_by(col(ShadowAnswerRow.id).desc()).limit(limit)
        with Session(self._store.engine) as session:
            rows = session.exec(query).all()
        return [
            ShadowAnswer.model_validate(row.model_dump(exclude={"id", "created_at"}))
            for row in reversed(rows)
        ]

    def facts_of(self, interaction_ids: set[str]) -> dict[str, InteractionFacts]:
        """The closed interactions among ``interaction_ids`` (open ones have no facts yet)."""
        found: dict[str, InteractionFacts] = {}
        ids = sorted(interaction_ids)
        with Session(self._store.engine) as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = session.exec(
                    select(InteractionFactRow).where(
                        col(InteractionFactRow.interaction_id).in_(chunk)
                    )
                ).all()
                for row in rows:
                    found[row.interaction_id] = facts_from_row(row)
        return found
