"""What an interaction leaves behind for analytics, WFM and auditors (written once, at close)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.interaction import TranscriptEntry
from models.supervision import RecordSupervision


class InteractionFacts(BaseModel):
    """One row per interaction; idempotent on ``interaction_id`` (a retried write is a no-op)."""

    model_config = ConfigDict(extra="forbid")
    interaction_id: str
    workflow_id: str
    channel: str = Field(description="Final channel.")
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
    model_version: str | None = Field(default=None, description="AI agent version that answered.")
    classifier_version: str
    config_version: int
    ai_endpoint: str | None = None
    human_queue: str | None = None
    human_agent: str | None = None
    queue: str | None = Field(
        default=None,
        description="The human queue this interaction counts in for WFM: the one it was "
        "transferred to, else the one routing chose for it (AI routes too).",
    )
    started_at: str
    ended_at: str
    turns: int
    ai_seconds: float = 0.0
    queue_seconds: float = 0.0
    human_seconds: float = 0.0
    total_seconds: float = 0.0
    after_transfer_seconds: float = Field(
        default=0.0,
        description="From the AI's warm transfer to the close (queue wait, the human, wrap-up); "
        "0 when no AI handed the interaction over.",
    )
    ai_calls: int = Field(default=0, description="AI turns attempted (for per-version error rate).")
    ai_failures: int = Field(default=0, description="AI turns that failed after retries.")
    ai_latency_ms_total: float = 0.0
    ai_latency_ms_max: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    csat: int | None = None
    reservation_released: bool = False
    saved_wait_seconds: float = 0.0
    channel_switches: int = 0
    handoffs: int = Field(default=0, description="AI-to-AI hand-offs (topic shifts to another AI).")
    customer_key: str | None = Field(
        default=None,
        description="Pseudonymous customer key (``warmline.customers``: HMAC of tenant and "
        "customer id under the server secret), set by the record activity, never the raw id; "
        "repeat contact matches on it. None: recorded before it existed.",
    )


class AuditEvent(BaseModel):
    """An auditable decision or change; the store chains them with hashes per stream."""

    model_config = ConfigDict(extra="forbid")
    stream: str = Field(description="e.g. interaction-<id>, routing-config, fleet")
    seq: int = Field(description="Position within the stream as the producer numbered it.")
    kind: str = Field(description="routing_decision | escalation | channel_switch | ...")
    at: str
    actor: str = "warmline"
    payload: dict[str, Any] = Field(default_factory=dict, description="Redacted.")


class RecordInteraction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: InteractionFacts
    audit: list[AuditEvent] = Field(default_factory=list)
    supervision: RecordSupervision | None = Field(
        default=None, description="Reviews, overrides and supervision work, for AI routes."
    )
    transcript: list[TranscriptEntry] = Field(
        default_factory=list,
        description="Redacted turns still in the last run; earlier runs' turns were archived "
        "before continue-as-new. Kept with them in the closing archive.",
    )
    decisions: list[dict[str, Any]] = Field(
        default_factory=list, description="The routing decisions with their reasons."
    )
    customer_id: str | None = Field(
        default=None,
        description="The customer's id, only for the activity to key the facts with (it sets "
        "``facts.customer_key`` and drops the id before anything is written).",
    )
    tenant: str | None = Field(default=None, description="The interaction's tenant (metadata).")
    run_index: int | None = Field(
        default=None,
        ge=0,
        description="The closing run's index: 0 means no earlier run archived turns, so the "
        "activity need not read archives to number its tokens on (None: unknown, read them).",
    )


class InteractionArchive(BaseModel):
    """What outlives Temporal's retention: the whole redacted transcript and the decisions,
    stored in the closing transaction; its digest is chained in the interaction's audit
    stream (``archived``), so an altered archive shows."""

    model_config = ConfigDict(extra="forbid")
    interaction_id: str
    workflow_id: str
    region: str
    outcome: str
    closed_at: str
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    decisions: list[dict[str, Any]] = Field(default_factory=list)
    digest: str = Field(description="sha256 of the canonical JSON of transcript and decisions.")


class ArchiveTranscript(BaseModel):
    """Older turns moved out of workflow history before continue-as-new."""

    model_config = ConfigDict(extra="forbid")
    interaction_id: str
    run_index: int
    entries: list[TranscriptEntry]
