"""SQLModel tables of the store; the pydantic contracts in ``models/`` stay the public shape.

Rows are storage detail: JSON documents are kept as text (exactly what was hashed or validated,
identical on SQLite and PostgreSQL), and times the store filters on get a real UTC column.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, Index, Table, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.facts import InteractionFacts

ROUTING_CONFIGS = "routing_configs"
INTERACTION_FACTS = "interaction_facts"
AUDIT_EVENTS = "audit_events"
TRANSCRIPT_ARCHIVE = "transcript_archive"
SHADOW_ANSWERS = "shadow_answers"


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
    __table_args__ = (Index("ix_interaction_facts_started_at_utc", "started_at_utc"),)

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
    started_at: str
    ended_at: str
    turns: int
    ai_seconds: float = 0.0
    queue_seconds: float = 0.0
    human_seconds: float = 0.0
    total_seconds: float = 0.0
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
    # Not part of the contract: ``since`` filters compare times, not differently spelled strings.
    started_at_utc: datetime = Field(sa_type=UTCDateTime)


FACT_FIELDS = frozenset(InteractionFacts.model_fields)


def fact_row(facts: InteractionFacts) -> InteractionFactRow:
    return InteractionFactRow(**facts.model_dump(), started_at_utc=parse_utc(facts.started_at))


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
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


def store_tables() -> list[Table]:
    """The store's tables only, so ``init_schema`` never creates another package's tables."""
    names = (ROUTING_CONFIGS, INTERACTION_FACTS, AUDIT_EVENTS, TRANSCRIPT_ARCHIVE, SHADOW_ANSWERS)
    return [SQLModel.metadata.tables[name] for name in names]
