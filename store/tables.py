"""SQLModel tables of the store; the pydantic contracts in ``models/`` stay the public shape.

Rows are storage detail: JSON documents are kept as text (exactly what was hashed or validated,
identical on SQLite and PostgreSQL), and times the store filters on get a real UTC column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Index, Table, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.facts import InteractionFacts

ROUTING_CONFIGS = "routing_configs"
INTERACTION_FACTS = "interaction_facts"
AUDIT_EVENTS = "audit_events"
TRANSCRIPT_ARCHIVE = "transcript_archive"
SHADOW_ANSWERS = "shadow_answers"
FLEET_EVENTS = "fleet_events"
SUPERVISION_POLICIES = "supervision_policies"
REVIEW_DECISIONS = "review_decisions"
HUMAN_OVERRIDES = "human_overrides"
SUPERVISION_FACTS = "supervision_facts"
QA_REVIEWS = "qa_reviews"
REVIEW_CLAIMS = "review_claims"
API_KEYS = "api_keys"


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_utc(text: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime; a time without offset is taken as UTC.

    Workflow times are UTC; reading a naive one as local time would shift filters by hours.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both backends.

    PostgreSQL has ``timestamptz``; SQLite has no time zones and would hand back naive values,
    so they are stored as naive UTC and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RoutingConfigRow(SQLModel, table=True):
    """One saved version of the routing config document (never updated, only appended)."""

    __tablename__ = ROUTING_CONFIGS

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    author: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    document: str = Field(sa_type=Text, description="RoutingConfig JSON, version/author/time set.")


class InteractionFactRow(SQLModel, table=True):
    """``InteractionFacts`` as a row: the same fields, plus the start time as a UTC column."""

    __tablename__ = INTERACTION_FACTS
    __table_args__ = (
        Index("ix_interaction_facts_started_at_utc", "started_at_utc"),
        # Canary and A/B polls: a few versions since a rollout began, aggregated in SQL.
        Index("ix_interaction_facts_endpoint_started", "ai_endpoint", "started_at_utc"),
        # WFM: intervals touched by late facts, and the 5-minute rolling containment.
        Index("ix_interaction_facts_recorded_at_utc", "recorded_at_utc"),
        # Repeat contact: the customer's next start after a given one is one index seek.
        Index("ix_interaction_facts_customer_started", "customer_key", "started_at_utc"),
    )

    interaction_id: str = Field(primary_key=True)
    workflow_id: str
    channel: str
    initial_channel: str
    segment: str
    language: str
    region: str
    intent: str
    confidence: float
    pattern: str
    route: str
    pool: str
    outcome: str
    escalation_trigger: str | None = None
    model_version: str | None = None
    classifier_version: str
    config_version: int
    ai_endpoint: str | None = None
    human_queue: str | None = None
    human_agent: str | None = None
    queue: str | None = None
    started_at: str
    ended_at: str
    turns: int
    ai_seconds: float = 0.0
    queue_seconds: float = 0.0
    human_seconds: float = 0.0
    total_seconds: float = 0.0
    after_transfer_seconds: float = 0.0
    ai_calls: int = 0
    ai_failures: int = 0
    ai_latency_ms_total: float = 0.0
    ai_latency_ms_max: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    csat: int | None = None
    reservation_released: bool = False
    saved_wait_seconds: float = 0.0
    channel_switches: int = 0
    handoffs: int = 0
    customer_key: str | None = None
    # Not part of the contract: ``since`` filters compare times, not differently spelled strings.
    started_at_utc: datetime = Field(sa_type=UTCDateTime)
    recorded_at_utc: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    """When the store wrote the row: which intervals a late fact changes (``store.intervals``)."""


FACT_FIELDS = frozenset(InteractionFacts.model_fields)


def fact_values(facts: InteractionFacts) -> dict[str, Any]:
    """Every column of the facts' row, for a Core insert: the closing write inserts a batch
    in one statement without building an ORM object per row."""
    return {
        **facts.model_dump(),
        "started_at_utc": parse_utc(facts.started_at),
        "recorded_at_utc": utc_now(),
    }


def facts_from_row(row: InteractionFactRow) -> InteractionFacts:
    return InteractionFacts.model_validate(row.model_dump(include=set(FACT_FIELDS)))


class AuditEventRow(SQLModel, table=True):
    """One link of a stream's hash chain.

    ``seq`` is the producer's numbering (unique per stream, so a retried write is a no-op);
    ``position`` is the store's append order (unique per stream, so two concurrent writers can
    never both link to the same predecessor: the loser retries against the new tail). The chain
    runs in ``position`` order, which is ``seq`` order unless a producer's event arrived late.
    """

    __tablename__ = AUDIT_EVENTS
    __table_args__ = (
        UniqueConstraint("stream", "seq", name="uq_audit_events_stream_seq"),
        UniqueConstraint("stream", "position", name="uq_audit_events_stream_position"),
        # Ids order checkpoint ranges: SQLite must never hand out an id again after a purge.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    stream: str  # looked up through the two unique indexes, which both lead with it
    seq: int
    position: int
    kind: str
    at: str
    actor: str
    payload: str = Field(sa_type=Text, description="Canonical JSON, exactly what was hashed.")
    prev_hash: str
    hash: str
    key_id: str | None = Field(
        default=None, description="Audit key of the HMAC link; None: an unkeyed legacy link."
    )


class TranscriptArchiveRow(SQLModel, table=True):
    """Turns moved out of one workflow run's history before continue-as-new."""

    __tablename__ = TRANSCRIPT_ARCHIVE
    __table_args__ = (
        UniqueConstraint("interaction_id", "run_index", name="uq_transcript_archive_run"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str  # the unique (interaction_id, run_index) index serves lookups
    run_index: int
    entries: str = Field(sa_type=Text, description="JSON list of TranscriptEntry.")


class ShadowAnswerRow(SQLModel, table=True):
    """What a shadow version would have said; one row per (interaction, turn, endpoint)."""

    __tablename__ = SHADOW_ANSWERS
    __table_args__ = (
        UniqueConstraint("interaction_id", "turn", "endpoint", name="uq_shadow_answer_turn"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str
    turn: int
    endpoint: str = Field(index=True)
    live_model_version: str
    live_text: str = Field(sa_type=Text)
    shadow_text: str | None = Field(default=None, sa_type=Text)
    shadow_action: str | None = None
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class SupervisionPolicyRow(SQLModel, table=True):
    """One saved version of the supervision policy document (appended, never updated).

    ``change_key`` names the phase move that wrote it, so a retried move writes no second
    version; versions saved by hand have none.
    """

    __tablename__ = SUPERVISION_POLICIES

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    author: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    change_key: str | None = Field(default=None, unique=True)
    document: str = Field(sa_type=Text, description="SupervisionPolicy JSON, version set.")


class ReviewDecisionRow(SQLModel, table=True):
    """A supervisor's decision on one held draft (or the deadline escalating it)."""

    __tablename__ = REVIEW_DECISIONS
    __table_args__ = (
        UniqueConstraint("interaction_id", "draft_id", name="uq_review_decisions_draft"),
        Index("ix_review_decisions_intent_decided", "intent", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str
    draft_id: str
    decision: str
    reviewer_id: str = Field(index=True)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    held_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    intent: str
    channel: str
    mode: str
    model_version: str | None = None
    turn: int | None = None
    draft_text: str = Field(default="", sa_type=Text)
    sent_text: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    trigger: str | None = None


class HumanOverrideRow(SQLModel, table=True):
    """A human override of an AI decision, or a takeover: who, when, what changed, why."""

    __tablename__ = HUMAN_OVERRIDES
    __table_args__ = (UniqueConstraint("interaction_id", "seq", name="uq_human_overrides_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str
    seq: int
    kind: str
    actor: str = Field(index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    ai_decision: str = Field(sa_type=Text)
    human_decision: str = Field(sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)


class SupervisionFactRow(SQLModel, table=True):
    """Supervision work of one interaction: what WFM sizes the supervision queue by."""

    __tablename__ = SUPERVISION_FACTS
    __table_args__ = (Index("ix_supervision_facts_intent_started", "intent", "started_at"),)

    interaction_id: str = Field(primary_key=True)
    intent: str
    channel: str
    mode: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    supervised_seconds: float = 0.0
    drafts_held: int = 0
    reviews: int = 0
    review_wait_seconds: float = 0.0
    triggers: str = Field(default="[]", sa_type=Text, description="JSON list of trigger kinds.")
    deadline_escalations: int = 0
    qa_sampled: bool = False


class QAReviewRow(SQLModel, table=True):
    """Post-interaction QA of a sampled interaction (one review per interaction)."""

    __tablename__ = QA_REVIEWS
    __table_args__ = (Index("ix_qa_reviews_intent_reviewed", "intent", "reviewed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str = Field(unique=True)
    reviewer_id: str
    intent: str
    channel: str
    resolved_correctly: bool
    reviewed_at: datetime = Field(sa_type=UTCDateTime)
    notes: str | None = Field(default=None, sa_type=Text)


class ReviewClaimRow(SQLModel, table=True):
    """A pending review a supervisor holds. Rows are current assignments only (deleted when
    released); the decisions themselves are ``review_decisions``.

    ``slot`` (1..cap) is unique per reviewer, so two concurrent claims can never both take a
    reviewer's last free slot: the loser hits the constraint and retries against the new count.
    """

    __tablename__ = REVIEW_CLAIMS
    __table_args__ = (
        UniqueConstraint("workflow_id", "draft_id", name="uq_review_claims_draft"),
        UniqueConstraint("reviewer_id", "slot", name="uq_review_claims_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str
    draft_id: str
    reviewer_id: str
    slot: int
    claimed_at: datetime = Field(sa_type=UTCDateTime)


class FleetEventRow(SQLModel, table=True):
    """One applied fleet change or fleet audit event, by its caller's idempotency key.

    A registry change saves a config version and an audit event in the same transaction as
    this row, so a retried activity finds the key and returns the first result instead of
    saving a second version (or shifting traffic twice).
    """

    __tablename__ = FLEET_EVENTS

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    kind: str
    config_version: int | None = None
    payload: str = Field(default="{}", sa_type=Text, description="Result JSON for a replay.")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ApiKeyRow(SQLModel, table=True):
    """A service account's API key: the secret itself is never stored, only its HMAC-SHA256
    under the server's secret (``store/api_keys.py``). Revoked keys stay, for the audit."""

    __tablename__ = API_KEYS

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(unique=True, index=True, description="Public lookup id (in the token).")
    name: str = Field(index=True)
    roles: str = Field(description="JSON list of role names.")
    digest: str = Field(description="HMAC-SHA256 hex of key id and secret.")
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = None
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def store_tables() -> list[Table]:
    """The store's tables (the migrations own these and the fleet health tables)."""
    # Audit, archive and retention tables live in their own modules; importing them here
    # registers them before the names are looked up.
    from store import archive, audit_tables, learning, retention_tables

    names = (
        ROUTING_CONFIGS,
        INTERACTION_FACTS,
        AUDIT_EVENTS,
        TRANSCRIPT_ARCHIVE,
        SHADOW_ANSWERS,
        SUPERVISION_POLICIES,
        REVIEW_DECISIONS,
        HUMAN_OVERRIDES,
        SUPERVISION_FACTS,
        QA_REVIEWS,
        REVIEW_CLAIMS,
        FLEET_EVENTS,
        audit_tables.AUDIT_CHECKPOINTS,
        audit_tables.AUDIT_CHECKPOINT_HEADS,
        audit_tables.AUDIT_ANCHORS,
        archive.INTERACTION_ARCHIVES,
        retention_tables.RETENTION_POLICIES,
        retention_tables.LEGAL_HOLDS,
        API_KEYS,
        learning.ROUTING_PROPOSALS,
    )
    return [SQLModel.metadata.tables[name] for name in names]
